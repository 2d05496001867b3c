// What the delivery log answers. Built field by field from rows (never an entity), so claim ids,
// leases and other internals cannot leak by adding a column.
import { ApiProperty } from '@nestjs/swagger';
import { DELIVERY_STATUSES } from '../delivery-log.query';
import type { DeliveryStatus } from '../entities/delivery.entity';

export class AttemptResponse {
  @ApiProperty({ example: 'att_01jc2x8k3v0000000000000000' }) id: string;
  @ApiProperty({ description: '1 for the first attempt' }) attempt: number;
  @ApiProperty({ format: 'date-time' }) startedAt: string;
  @ApiProperty() durationMs: number;
  @ApiProperty({ type: Number, nullable: true, description: 'null when no response arrived' })
  statusCode: number | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The first 4 KiB of the response body',
  })
  responseBody: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Timeout, connection error, ...' })
  error: string | null;
}

export class DeliveryResponse {
  @ApiProperty({ example: 'dlv_01jc2x8k3v0000000000000000' }) id: string;
  @ApiProperty() tenantId: string;
  @ApiProperty() eventId: string;
  @ApiProperty() endpointId: string;
  @ApiProperty({ example: 'order.completed' }) eventType: string;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status: DeliveryStatus;
  @ApiProperty({ description: 'Attempts made so far' }) attemptCount: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) nextAttemptAt: string | null;
  @ApiProperty({ type: Number, nullable: true }) lastStatusCode: number | null;
  @ApiProperty({ type: String, nullable: true }) lastError: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class DeliveryDetailResponse extends DeliveryResponse {
  @ApiProperty({ type: [AttemptResponse], description: 'Every attempt, in order' })
  attempts: AttemptResponse[];
}

export class DeliveryPageResponse {
  @ApiProperty({ type: [DeliveryResponse] }) data: DeliveryResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
