// The delivery log over HTTP: a tenant's own log (admin or that tenant's key) and the operator's
// cross-tenant log (admin key only; tenant keys get 404).
import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.decorators';
import { DeliveriesService } from './deliveries.service';
import { ListAllDeliveriesQuery, ListDeliveriesQuery } from './dto/list-deliveries.query';
import {
  DeliveryDetailResponse,
  DeliveryPageResponse,
  DeliveryResponse,
} from './dto/delivery.response';
import type { Page } from '../common/pagination';

@ApiTags('deliveries')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing or invalid API key' })
@Controller('v1/tenants/:tenantId/deliveries')
export class TenantDeliveriesController {
  constructor(private readonly deliveries: DeliveriesService) {}

  @Get()
  @ApiOperation({ summary: "The tenant's delivery log, newest first" })
  @ApiOkResponse({ type: DeliveryPageResponse })
  @ApiBadRequestResponse({ description: 'A filter value is invalid (named in details)' })
  @ApiNotFoundResponse({ description: 'Unknown tenant' })
  list(
    @Param('tenantId') tenantId: string,
    @Query() query: ListDeliveriesQuery,
  ): Promise<Page<DeliveryResponse>> {
    return this.deliveries.list(tenantId, query);
  }

  @Get(':deliveryId')
  @ApiOperation({ summary: 'One delivery with every attempt' })
  @ApiOkResponse({ type: DeliveryDetailResponse })
  @ApiNotFoundResponse({ description: 'Unknown tenant or delivery' })
  get(
    @Param('tenantId') tenantId: string,
    @Param('deliveryId') deliveryId: string,
  ): Promise<DeliveryDetailResponse> {
    return this.deliveries.get(tenantId, deliveryId);
  }
}

@ApiTags('deliveries')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing or invalid API key' })
@AdminOnly()
@Controller('v1/deliveries')
export class AllDeliveriesController {
  constructor(private readonly deliveries: DeliveriesService) {}

  @Get()
  @ApiOperation({ summary: 'The delivery log across tenants, newest first (admin key)' })
  @ApiOkResponse({ type: DeliveryPageResponse })
  @ApiBadRequestResponse({ description: 'A filter value is invalid (named in details)' })
  @ApiNotFoundResponse({ description: 'Tenant keys cannot use this route' })
  list(@Query() query: ListAllDeliveriesQuery): Promise<Page<DeliveryResponse>> {
    return this.deliveries.listAcrossTenants(query);
  }

  @Get(':deliveryId')
  @ApiOperation({ summary: 'Any delivery with every attempt (admin key)' })
  @ApiOkResponse({ type: DeliveryDetailResponse })
  @ApiNotFoundResponse({ description: 'Unknown delivery' })
  get(@Param('deliveryId') deliveryId: string): Promise<DeliveryDetailResponse> {
    return this.deliveries.getAcrossTenants(deliveryId);
  }
}
