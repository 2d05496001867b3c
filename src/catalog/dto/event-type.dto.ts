// Request and response shapes of /v1/event-types.
import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsNotEmpty,
  IsOptional,
  IsString,
  MaxLength,
  ValidateBy,
} from 'class-validator';
import { PageQuery } from '../../common/pagination';
import { EVENT_TYPE_NAME_MAX_LENGTH, eventTypeNameProblem } from '../event-type-rules';
import { schemaProblem } from '../json-schema';

export const CATEGORY_MAX_LENGTH = 128;
export const DESCRIPTION_MAX_LENGTH = 4096;

const IsEventTypeName = () =>
  ValidateBy({
    name: 'isEventTypeName',
    validator: {
      validate: (value) => eventTypeNameProblem(value) === null,
      defaultMessage: (args) => eventTypeNameProblem(args?.value) ?? 'is not a valid name',
    },
  });

/** Compiles the schema with ajv: what cannot be compiled now could not validate events later. */
const IsJsonSchema = () =>
  ValidateBy({
    name: 'isJsonSchema',
    validator: {
      validate: (value) =>
        value !== null && typeof value === 'object' && !Array.isArray(value)
          ? schemaProblem(value as Record<string, unknown>) === null
          : false,
      defaultMessage: (args) =>
        args?.value !== null && typeof args?.value === 'object' && !Array.isArray(args?.value)
          ? (schemaProblem(args.value as Record<string, unknown>) ?? 'is not a valid JSON Schema')
          : 'must be a JSON Schema object',
    },
  });

const schemaDoc = {
  type: 'object',
  additionalProperties: true,
  nullable: true,
  description:
    'JSON Schema that event `data` must match (draft-07 by default; `$schema` may select 2019-09 or ' +
    '2020-12). Patterns run on a linear-time engine (RE2); one it cannot take (lookaround, ' +
    'backreferences) is refused, and so is a schema that loops without consuming data',
  example: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' } } },
} as const;

export class CreateEventTypeDto {
  @ApiProperty({
    example: 'order.completed',
    maxLength: EVENT_TYPE_NAME_MAX_LENGTH,
    pattern: '^[a-zA-Z0-9_-]+(\\.[a-zA-Z0-9_-]+)*$',
    description: 'Dot-separated; names starting with `tern.` and the reserved types are refused',
  })
  @IsEventTypeName()
  name: string;

  @ApiPropertyOptional({ example: 'orders', maxLength: CATEGORY_MAX_LENGTH, nullable: true })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(CATEGORY_MAX_LENGTH)
  category?: string | null;

  @ApiPropertyOptional({ maxLength: DESCRIPTION_MAX_LENGTH, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(DESCRIPTION_MAX_LENGTH)
  description?: string | null;

  @ApiPropertyOptional(schemaDoc)
  @IsOptional()
  @IsJsonSchema()
  schema?: Record<string, unknown> | null;
}

/** Omitted fields stay as they are; null clears one. The name cannot change. */
export class UpdateEventTypeDto extends OmitType(CreateEventTypeDto, ['name'] as const) {}

export class EventTypeQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'Only the types of this category (empty: all)' })
  @IsOptional()
  @IsString()
  category?: string;

  @ApiPropertyOptional({ type: Boolean, default: false, description: 'Include archived types' })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  includeArchived?: boolean;
}

export class EventTypeResponse {
  @ApiProperty({ example: 'order.completed' }) name: string;
  @ApiProperty({ type: String, nullable: true }) category: string | null;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true })
  schema: Record<string, unknown> | null;
  @ApiProperty({ description: 'One of the types Tern itself defines; cannot be edited' })
  reserved: boolean;
  @ApiProperty({ description: 'Archived: existing subscriptions stay, new ones are refused' })
  archived: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) archivedAt: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class EventTypePage {
  @ApiProperty({ type: [EventTypeResponse] }) data: EventTypeResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class EventTypeList {
  @ApiProperty({ type: [EventTypeResponse] }) data: EventTypeResponse[];
}
