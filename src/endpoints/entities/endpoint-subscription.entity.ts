import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One subscription pattern of an endpoint: an exact type name, `prefix.*`, or `*`. */
@Entity('endpoint_subscriptions')
export class EndpointSubscription {
  @PrimaryColumn('text', { name: 'endpoint_id' }) endpointId: string;
  @PrimaryColumn('text') pattern: string;
  @Column('text', { name: 'tenant_id' }) tenantId: string;
}
