// Responses of the events routes, built explicitly from rows.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class EventDeliveryRefDto {
  @ApiProperty({ example: 'dlv_01jd...' }) id: string;
  @ApiProperty({ example: 'ep_01jd...' }) endpointId: string;
  @ApiProperty({ enum: ['pending', 'sending', 'succeeded', 'failed', 'paused', 'cancelled'] })
  status: string;
}

export class AcceptedEventDto {
  @ApiProperty({ example: 'evt_01jd...' }) id: string;
  @ApiProperty({ example: 'order.completed' }) type: string;
  @ApiProperty({ example: '2026-11-23T12:00:00.000Z' }) timestamp: string;
  @ApiProperty({ type: [EventDeliveryRefDto], description: 'One delivery per subscribed endpoint' })
  deliveries: EventDeliveryRefDto[];
}

export class AcceptedBatchDto {
  @ApiProperty({ type: [AcceptedEventDto] }) data: AcceptedEventDto[];
}

export class EventDto {
  @ApiProperty() id: string;
  @ApiProperty() tenantId: string;
  @ApiProperty() type: string;
  @ApiProperty() timestamp: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) data: unknown;
  @ApiPropertyOptional({ nullable: true, type: String }) idempotencyKey: string | null;
  @ApiProperty({ type: [Object], description: 'Its deliveries, as in the delivery log' })
  deliveries: unknown[];
}
