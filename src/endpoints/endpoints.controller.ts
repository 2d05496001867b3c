// HTTP routes for a tenant's endpoints: create, list, read, change, delete, rotate the secret.
// The create and change bodies are `unknown` to the global pipe and checked by checkBody, so their
// shape problems come back in one 400 with the service's own checks.
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBody, ApiNoContentResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth, ErrorResponse, ErrorResponses } from '../common/api-docs';
import { checkBody } from '../common/validation';
import { EndpointsService } from './endpoints.service';
import { CreateEndpointDto } from './dto/create-endpoint.dto';
import { UpdateEndpointDto } from './dto/update-endpoint.dto';
import { RotateSecretDto } from './dto/rotate-secret.dto';
import { ListEndpointsQuery } from './dto/list-endpoints.query';
import {
  CreatedEndpointResponse,
  EndpointPage,
  EndpointResponse,
  EndpointSecretResponse,
} from './dto/endpoint.response';

@ApiTags('endpoints')
@ApiKeyAuth()
@ErrorResponse(404, 'No such tenant or endpoint (or another tenant’s)')
@Controller('v1/tenants/:tenantId/endpoints')
export class EndpointsController {
  constructor(private readonly endpoints: EndpointsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an endpoint; the answer holds its signing secret' })
  @ApiResponse({ status: 201, type: CreatedEndpointResponse })
  @ErrorResponse(400, 'Invalid input; details name each bad field')
  @ErrorResponses(413, 415)
  @ApiBody({ type: CreateEndpointDto })
  async create(
    @Param('tenantId') tenantId: string,
    @Body() body: unknown,
  ): Promise<CreatedEndpointResponse> {
    return this.endpoints.create(tenantId, await checkBody(body, CreateEndpointDto));
  }

  @Get()
  @ApiOperation({ summary: 'List endpoints, newest first' })
  @ApiResponse({ status: 200, type: EndpointPage })
  @ErrorResponse(400, 'Bad limit, cursor or filter')
  list(
    @Param('tenantId') tenantId: string,
    @Query() query: ListEndpointsQuery,
  ): Promise<EndpointPage> {
    return this.endpoints.list(tenantId, query);
  }

  @Get(':endpointId')
  @ApiOperation({ summary: 'Read an endpoint' })
  @ApiResponse({ status: 200, type: EndpointResponse })
  get(
    @Param('tenantId') tenantId: string,
    @Param('endpointId') endpointId: string,
  ): Promise<EndpointResponse> {
    return this.endpoints.getForTenant(tenantId, endpointId);
  }

  @Patch(':endpointId')
  @ApiOperation({
    summary: 'Change an endpoint; enabled:true resumes its paused deliveries, false pauses them',
  })
  @ApiResponse({ status: 200, type: EndpointResponse })
  @ErrorResponse(400, 'Invalid input; details name each bad field')
  @ErrorResponses(413, 415)
  @ApiBody({ type: UpdateEndpointDto })
  async update(
    @Param('tenantId') tenantId: string,
    @Param('endpointId') endpointId: string,
    @Body() body: unknown,
  ): Promise<EndpointResponse> {
    return this.endpoints.update(tenantId, endpointId, await checkBody(body, UpdateEndpointDto));
  }

  @Delete(':endpointId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an endpoint; its unfinished deliveries are cancelled' })
  @ApiNoContentResponse({ description: 'Deleted' })
  remove(
    @Param('tenantId') tenantId: string,
    @Param('endpointId') endpointId: string,
  ): Promise<void> {
    return this.endpoints.remove(tenantId, endpointId);
  }

  @Post(':endpointId/rotate-secret')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Replace the signing secret; the previous one keeps signing beside it for 24 h',
  })
  @ApiResponse({ status: 200, type: EndpointSecretResponse })
  @ErrorResponse(400, 'The supplied secret is malformed')
  @ErrorResponses(413, 415)
  rotateSecret(
    @Param('tenantId') tenantId: string,
    @Param('endpointId') endpointId: string,
    @Body() dto: RotateSecretDto,
  ): Promise<EndpointSecretResponse> {
    return this.endpoints.rotateSecret(tenantId, endpointId, dto?.secret);
  }
}
