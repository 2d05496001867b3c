// Body of PATCH /v1/tenants/:tenantId/endpoints/:endpointId. Every field is optional; `null`
// clears description and rateLimitPerSecond, and is refused for the others.
import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { MAX_DESCRIPTION_LENGTH, MAX_RATE_LIMIT, MAX_SUBSCRIPTIONS } from './create-endpoint.dto';

const present = (field: string) => (o: Record<string, unknown>) => o[field] !== undefined;

export class UpdateEndpointDto {
  @ApiPropertyOptional({ description: 'Re-vetted like at creation' })
  @ValidateIf(present('url'))
  @IsString()
  url?: string;

  @ApiPropertyOptional({
    type: [String],
    description: 'Replaces every subscription of the endpoint',
    minItems: 1,
    maxItems: MAX_SUBSCRIPTIONS,
  })
  @ValidateIf(present('eventTypes'))
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(MAX_SUBSCRIPTIONS)
  @IsString({ each: true })
  eventTypes?: string[];

  @ApiPropertyOptional({ maxLength: MAX_DESCRIPTION_LENGTH, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_DESCRIPTION_LENGTH)
  description?: string | null;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'Replaces every custom header; `{}` removes them all',
  })
  @ValidateIf(present('headers'))
  @IsObject()
  headers?: Record<string, string>;

  @ApiPropertyOptional({
    description:
      '`true` re-enables a disabled endpoint and resumes its paused deliveries; `false` disables it and pauses them',
  })
  @ValidateIf(present('enabled'))
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_RATE_LIMIT,
    nullable: true,
    description: '`null` removes the limit',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_RATE_LIMIT)
  rateLimitPerSecond?: number | null;
}
