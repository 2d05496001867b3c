// HTTP surface of /v1/tenants: the operator creates, lists, edits and deletes tenants (admin key only).
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth, ErrorResponse, ErrorResponses } from '../common/api-docs';
import { AdminOnly } from '../auth/auth.decorators';
import { PageQuery } from '../common/pagination';
import { TenantsService } from './tenants.service';
import {
  CreatedTenantResponse,
  CreateTenantDto,
  TenantPage,
  TenantResponse,
  UpdateTenantDto,
} from './dto/tenant.dto';

@ApiTags('tenants')
@ApiKeyAuth()
@ErrorResponse(404, 'Unknown tenant, or not the admin key')
@AdminOnly()
@Controller('v1/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a tenant and its first API key (shown only here)' })
  @ApiResponse({ status: 201, type: CreatedTenantResponse })
  @ErrorResponse(400, 'Invalid input; details name each field')
  @ErrorResponses(413, 415)
  @ErrorResponse(409, 'A tenant with this id exists')
  create(@Body() body: CreateTenantDto): Promise<CreatedTenantResponse> {
    return this.tenants.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'List tenants, newest first' })
  @ApiResponse({ status: 200, type: TenantPage })
  @ErrorResponse(400, 'Bad limit or cursor')
  list(@Query() query: PageQuery): Promise<TenantPage> {
    return this.tenants.list(query);
  }

  @Get(':tenantId')
  @ApiOperation({ summary: 'Get a tenant' })
  @ApiResponse({ status: 200, type: TenantResponse })
  get(@Param('tenantId') tenantId: string): Promise<TenantResponse> {
    return this.tenants.get(tenantId);
  }

  @Patch(':tenantId')
  @ApiOperation({ summary: 'Rename a tenant or replace its metadata' })
  @ApiResponse({ status: 200, type: TenantResponse })
  @ErrorResponse(400, 'Invalid input; details name each field')
  @ErrorResponses(413, 415)
  update(
    @Param('tenantId') tenantId: string,
    @Body() body: UpdateTenantDto,
  ): Promise<TenantResponse> {
    return this.tenants.update(tenantId, body);
  }

  @Delete(':tenantId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a tenant with everything it owns' })
  @ApiResponse({ status: 204, description: 'Deleted' })
  remove(@Param('tenantId') tenantId: string): Promise<void> {
    return this.tenants.remove(tenantId);
  }
}
