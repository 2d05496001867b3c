import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An accepted event. `body` is the exact JSON text that is signed and sent, byte for byte. */
@Entity('events')
export class TernEvent {
  @PrimaryColumn('text') id: string;
  @Column('text', { name: 'tenant_id' }) tenantId: string;
  @Column('text') type: string;
  @Column('text') body: string;
  @Column('text', { name: 'idempotency_key', nullable: true }) idempotencyKey: string | null;
  @Column('timestamptz', { name: 'created_at', default: () => 'now()' }) createdAt: Date;
}
