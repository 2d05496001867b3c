// Bodies and answers of the replay routes.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsTimestamp } from '../../common/timestamp';

export class RecoverDto {
  @ApiProperty({
    example: '2026-11-01T00:00:00Z',
    description:
      'Failed deliveries created at or after this time: an ISO 8601 date, or date-time with its offset',
  })
  @IsTimestamp()
  since: string;

  @ApiPropertyOptional({
    example: '2026-11-02T00:00:00Z',
    description: 'and before this time (default: now), in the same form',
  })
  @IsOptional()
  @IsTimestamp()
  until?: string;
}

export class RecoverResultDto {
  @ApiProperty({ description: 'How many failed deliveries were put back in the queue' })
  requeued: number;
}

export class RetryResultDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['pending'] }) status: 'pending';
  @ApiProperty({ description: 'When the extra attempt is due (now)' }) nextAttemptAt: string;
}
