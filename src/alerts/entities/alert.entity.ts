import { Column, Entity, PrimaryColumn } from 'typeorm';

export type AlertType = 'tern.delivery.failed' | 'tern.endpoint.disabled';

@Entity('alerts')
export class Alert {
  @PrimaryColumn('text') id: string;
  @Column('text', { name: 'tenant_id' }) tenantId: string;
  @Column('text') type: AlertType;
  @Column('text') message: string;
  @Column('text', { name: 'endpoint_id', nullable: true }) endpointId: string | null;
  @Column('text', { name: 'delivery_id', nullable: true }) deliveryId: string | null;
  @Column('text', { name: 'event_id', nullable: true }) eventId: string | null;
  @Column('jsonb', { default: {} }) data: Record<string, unknown>;
  @Column('timestamptz', { name: 'created_at', default: () => 'now()' }) createdAt: Date;
}
