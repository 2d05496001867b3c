// Response shapes of /v1/tenants/{tenantId}/api-keys. Secrets appear only in IssuedApiKeyResponse.
import { ApiProperty } from '@nestjs/swagger';

export class ApiKeyResponse {
  @ApiProperty({ example: 'key_01jc2x...' }) id: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) revokedAt: string | null;
}

export class IssuedApiKeyResponse {
  @ApiProperty({ example: 'key_01jc2x...' }) id: string;
  @ApiProperty({ description: 'Use as `Authorization: Bearer <apiKey>`; shown only once' })
  apiKey: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class ApiKeyPage {
  @ApiProperty({ type: [ApiKeyResponse] }) data: ApiKeyResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
