import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('endpoints')
export class Endpoint {
  @PrimaryColumn('text') id: string;
  @Column('text', { name: 'tenant_id' }) tenantId: string;
  @Column('text') url: string;
  @Column('text', { nullable: true }) description: string | null;
  @Column('jsonb', { default: {} }) headers: Record<string, string>;
  @Column('boolean', { default: true }) enabled: boolean;
  @Column('text', { name: 'disabled_reason', nullable: true }) disabledReason: string | null;
  @Column('integer', { name: 'rate_limit_per_second', nullable: true }) rateLimitPerSecond:
    | number
    | null;
  @Column('text') secret: string;
  @Column('text', { name: 'previous_secret', nullable: true }) previousSecret: string | null;
  @Column('timestamptz', { name: 'previous_secret_expires_at', nullable: true })
  previousSecretExpiresAt: Date | null;
  @Column('integer', { name: 'consecutive_failures', default: 0 }) consecutiveFailures: number;
  @Column('timestamptz', { name: 'created_at', default: () => 'now()' }) createdAt: Date;
  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' }) updatedAt: Date;
  @Column('timestamptz', { name: 'deleted_at', nullable: true }) deletedAt: Date | null;
}
