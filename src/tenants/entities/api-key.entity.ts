import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A tenant API key. Only a SHA-256 of its secret part is stored. */
@Entity('api_keys')
export class ApiKey {
  @PrimaryColumn('text') id: string;
  @Column('text', { name: 'tenant_id' }) tenantId: string;
  @Column('bytea', { name: 'secret_hash' }) secretHash: Buffer;
  @Column('timestamptz', { name: 'created_at', default: () => 'now()' }) createdAt: Date;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt: Date | null;
}
