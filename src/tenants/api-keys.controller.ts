// HTTP surface of /v1/tenants/{tenantId}/api-keys: the operator issues, lists and revokes tenant keys.
import { Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth, ErrorResponse } from '../common/api-docs';
import { AdminOnly } from '../auth/auth.decorators';
import { PageQuery } from '../common/pagination';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyPage, IssuedApiKeyResponse } from './dto/api-key.dto';

@ApiTags('tenants')
@ApiKeyAuth()
@ErrorResponse(404, 'Unknown tenant or key, or not the admin key')
@AdminOnly()
@Controller('v1/tenants/:tenantId/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Issue a tenant API key (the secret is shown only here)' })
  @ApiResponse({ status: 201, type: IssuedApiKeyResponse })
  issue(@Param('tenantId') tenantId: string): Promise<IssuedApiKeyResponse> {
    return this.apiKeys.issue(tenantId);
  }

  @Get()
  @ApiOperation({ summary: "List a tenant's keys, newest first (never their secrets)" })
  @ApiResponse({ status: 200, type: ApiKeyPage })
  @ErrorResponse(400, 'Bad limit or cursor')
  list(@Param('tenantId') tenantId: string, @Query() query: PageQuery): Promise<ApiKeyPage> {
    return this.apiKeys.list(tenantId, query);
  }

  @Delete(':keyId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a key; it answers 401 from now on' })
  @ApiResponse({ status: 204, description: 'Revoked (also when it already was)' })
  revoke(@Param('tenantId') tenantId: string, @Param('keyId') keyId: string): Promise<void> {
    return this.apiKeys.revoke(tenantId, keyId);
  }
}
