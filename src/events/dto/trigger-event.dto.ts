// What an operator sends to trigger an event, alone or in a batch.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { OpaqueJson } from '../../common/validation';

@OpaqueJson(['data'])
export class TriggerEventDto {
  @ApiProperty({ example: 'order.completed', description: 'An event type of the catalog' })
  @IsString()
  @MaxLength(128)
  @Matches(/^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/, {
    message: 'must be an event type name like order.completed',
  })
  type: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: "The event's payload; checked against the type's JSON Schema",
  })
  @IsObject({ message: 'must be a JSON object' })
  data: Record<string, unknown>;

  @ApiPropertyOptional({
    description: 'Same key again (per tenant) returns the same event and creates no deliveries',
  })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  idempotencyKey?: string;
}

@OpaqueJson(['events', '[]', 'data'])
export class TriggerBatchDto {
  @ApiProperty({ type: [TriggerEventDto], minItems: 1, maxItems: 500 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(500)
  @ValidateNested({ each: true })
  @Type(() => TriggerEventDto)
  events: TriggerEventDto[];
}
