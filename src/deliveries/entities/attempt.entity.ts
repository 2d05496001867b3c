import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One HTTP attempt of a delivery, as recorded in the log. */
@Entity('attempts')
export class Attempt {
  @PrimaryColumn('text') id: string;
  @Column('text', { name: 'delivery_id' }) deliveryId: string;
  @Column('integer') attempt: number;
  @Column('timestamptz', { name: 'started_at' }) startedAt: Date;
  @Column('integer', { name: 'duration_ms' }) durationMs: number;
  @Column('integer', { name: 'status_code', nullable: true }) statusCode: number | null;
  @Column('text', { name: 'response_body', nullable: true }) responseBody: string | null;
  @Column('text', { nullable: true }) error: string | null;
}
