import { Column, Entity, PrimaryColumn } from 'typeorm';

export type DeliveryStatus =
  | 'pending'
  | 'sending'
  | 'succeeded'
  | 'failed'
  | 'paused'
  | 'cancelled';

/** One event to one endpoint. Its state machine lives in dispatch/. */
@Entity('deliveries')
export class Delivery {
  @PrimaryColumn('text') id: string;
  @Column('text', { name: 'tenant_id' }) tenantId: string;
  @Column('text', { name: 'event_id' }) eventId: string;
  @Column('text', { name: 'endpoint_id' }) endpointId: string;
  @Column('text', { name: 'event_type' }) eventType: string;
  @Column('text') status: DeliveryStatus;
  @Column('integer', { default: 0 }) attempts: number;
  @Column('integer', { name: 'max_attempts' }) maxAttempts: number;
  @Column('timestamptz', { name: 'next_attempt_at', nullable: true }) nextAttemptAt: Date | null;
  @Column('timestamptz', { name: 'lease_expires_at', nullable: true }) leaseExpiresAt: Date | null;
  @Column('uuid', { name: 'claim_id', nullable: true }) claimId: string | null;
  @Column('integer', { name: 'last_status_code', nullable: true }) lastStatusCode: number | null;
  @Column('text', { name: 'last_error', nullable: true }) lastError: string | null;
  @Column('boolean', { name: 'is_alert', default: false }) isAlert: boolean;
  /** Set by a manual retry or recover: one extra attempt, and no alert when it fails. */
  @Column('boolean', { name: 'manual_retry', default: false }) manualRetry: boolean;
  @Column('timestamptz', { name: 'created_at', default: () => 'now()' }) createdAt: Date;
  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' }) updatedAt: Date;
}
