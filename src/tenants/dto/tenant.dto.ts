// Request and response shapes of /v1/tenants.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { metadataProblem, TENANT_NAME_MAX_LENGTH } from '../tenant-rules';

/** Tenant metadata: a JSON object within the bounds of `metadataProblem`. */
const IsTenantMetadata = () =>
  ValidateBy({
    name: 'isTenantMetadata',
    validator: {
      validate: (value) => metadataProblem(value) === null,
      defaultMessage: (args) => metadataProblem(args?.value) ?? 'is not valid metadata',
    },
  });

const metadataDoc = {
  type: 'object',
  additionalProperties: true,
  description: 'Free-form JSON object: at most 50 keys and 16 KiB as JSON',
  example: { plan: 'pro' },
} as const;

export class CreateTenantDto {
  @ApiPropertyOptional({
    description: 'Operator-chosen id ([A-Za-z0-9_.:-]{1,64}); generated (ten_...) when absent',
    example: 'org_42',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.:-]{1,64}$/, {
    message: 'must be 1 to 64 characters of letters, digits, "_", ".", ":" or "-"',
  })
  id?: string;

  @ApiProperty({ maxLength: TENANT_NAME_MAX_LENGTH, example: 'Acme Inc.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(TENANT_NAME_MAX_LENGTH)
  name: string;

  @ApiPropertyOptional(metadataDoc)
  @IsOptional()
  @IsTenantMetadata()
  metadata?: Record<string, unknown>;
}

export class UpdateTenantDto {
  @ApiPropertyOptional({ maxLength: TENANT_NAME_MAX_LENGTH })
  @ValidateIf((o: UpdateTenantDto) => o.name !== undefined) // null is refused, not "unchanged"
  @IsString()
  @IsNotEmpty()
  @MaxLength(TENANT_NAME_MAX_LENGTH)
  name?: string;

  @ApiPropertyOptional({
    ...metadataDoc,
    description: 'Replaces the whole metadata object; null clears it',
  })
  @IsOptional()
  @IsTenantMetadata()
  metadata?: Record<string, unknown> | null;
}

export class TenantResponse {
  @ApiProperty({ example: 'org_42' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class CreatedTenantResponse extends TenantResponse {
  @ApiProperty({ description: 'The first API key of the tenant, shown only here' })
  apiKey: string;
}

export class TenantPage {
  @ApiProperty({ type: [TenantResponse] }) data: TenantResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
