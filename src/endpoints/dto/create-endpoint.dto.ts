// Body of POST /v1/tenants/:tenantId/endpoints. Shapes only; the service checks the URL target,
// the catalog, the header rules and the secret format.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
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
} from 'class-validator';

export const MAX_SUBSCRIPTIONS = 100;
export const MAX_DESCRIPTION_LENGTH = 1024;
export const MAX_RATE_LIMIT = 10_000;

export class CreateEndpointDto {
  @ApiProperty({
    example: 'https://hooks.example.com/tern',
    description: 'http(s) URL; it must not resolve to a private, loopback or link-local address',
    maxLength: 2048,
  })
  @IsString()
  url: string;

  @ApiProperty({
    type: [String],
    example: ['order.completed', 'invoice.*'],
    description:
      'Subscriptions: catalog names, `prefix.*` (any depth below the prefix) or `*`. Wildcards never match reserved types (`tern.delivery.failed`, `tern.endpoint.disabled`, `webhook.test`): name those exactly.',
    minItems: 1,
    maxItems: MAX_SUBSCRIPTIONS,
  })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(MAX_SUBSCRIPTIONS)
  @IsString({ each: true })
  eventTypes: string[];

  @ApiPropertyOptional({ maxLength: MAX_DESCRIPTION_LENGTH, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_DESCRIPTION_LENGTH)
  description?: string | null;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { 'X-Api-Key': 'abc123' },
    description:
      'Extra request headers (at most 20). They cannot name a header Tern sets, host, content-length, transfer-encoding or connection, nor hold CR or LF.',
  })
  @IsOptional()
  @IsObject()
  headers?: Record<string, string>;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    description: '`whsec_` + base64 of 24 to 64 bytes; generated (32 bytes) when absent',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  })
  @IsOptional()
  @IsString()
  secret?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_RATE_LIMIT, nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_RATE_LIMIT)
  rateLimitPerSecond?: number | null;
}
