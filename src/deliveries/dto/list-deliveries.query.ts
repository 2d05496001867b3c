// Query strings of the delivery log: filters plus limit/cursor. Every bad value is a 400 naming it.
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayNotEmpty,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
} from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { IsTimestamp } from '../../common/timestamp';
import { DELIVERY_STATUSES } from '../delivery-log.query';
import type { DeliveryStatus } from '../entities/delivery.entity';

/** `?status=failed,pending` and `?status=failed&status=pending` both become ['failed', 'pending']. */
const splitList = ({ value }: { value: unknown }) =>
  (Array.isArray(value) ? value : [value])
    .flatMap((v) => (typeof v === 'string' ? v.split(',') : [v]))
    .map((v) => (typeof v === 'string' ? v.trim() : v))
    .filter((v) => v !== '');

export class ListDeliveriesQuery extends PageQuery {
  @ApiPropertyOptional({
    type: String,
    description: `One status or a comma-separated list (any of them matches): ${DELIVERY_STATUSES.join(', ')}`,
    example: 'failed,pending',
  })
  @IsOptional()
  @Transform(splitList)
  @IsArray()
  @ArrayNotEmpty()
  @IsIn(DELIVERY_STATUSES, {
    each: true,
    message: `status must be one of ${DELIVERY_STATUSES.join(', ')} (or a comma-separated list of them)`,
  })
  status?: DeliveryStatus[];

  @ApiPropertyOptional({ example: 'order.completed' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  eventType?: string;

  @ApiPropertyOptional({ example: 'ep_01jc2x8k3v0000000000000000' })
  @IsOptional()
  @IsString()
  @Matches(/^ep_[0-9a-z]{1,64}$/, { message: 'endpointId must be an endpoint id (ep_...)' })
  endpointId?: string;

  @ApiPropertyOptional({ example: 'evt_01jc2x8k3v0000000000000000' })
  @IsOptional()
  @IsString()
  @Matches(/^evt_[0-9a-z]{1,64}$/, { message: 'eventId must be an event id (evt_...)' })
  eventId?: string;

  @ApiPropertyOptional({
    description: 'Only deliveries created at or after this ISO 8601 time (inclusive)',
    example: '2025-01-31T00:00:00Z',
  })
  @IsOptional()
  @IsTimestamp()
  since?: string;

  @ApiPropertyOptional({
    description: 'Only deliveries created before this ISO 8601 time (exclusive)',
    example: '2025-02-01T00:00:00Z',
  })
  @IsOptional()
  @IsTimestamp()
  until?: string;
}

export class ListAllDeliveriesQuery extends ListDeliveriesQuery {
  @ApiPropertyOptional({ description: 'Only this tenant' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'tenantId must be a tenant id' })
  tenantId?: string;
}
