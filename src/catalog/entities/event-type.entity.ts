import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('event_types')
export class EventType {
  @PrimaryColumn('text') name: string;
  @Column('text', { nullable: true }) category: string | null;
  @Column('text', { nullable: true }) description: string | null;
  @Column('jsonb', { nullable: true }) schema: Record<string, unknown> | null;
  @Column('boolean', { default: false }) reserved: boolean;
  @Column('timestamptz', { name: 'archived_at', nullable: true }) archivedAt: Date | null;
  @Column('timestamptz', { name: 'created_at', default: () => 'now()' }) createdAt: Date;
  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' }) updatedAt: Date;
}
