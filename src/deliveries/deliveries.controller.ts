// The delivery log over HTTP: a tenant's own log (admin or that tenant's key) and the operator's
// cross-tenant log (admin key only; tenant keys get 404).
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth, ErrorResponse } from '../common/api-docs';
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
@ApiKeyAuth()
@Controller('v1/tenants/:tenantId/deliveries')
export class TenantDeliveriesController {
  constructor(private readonly deliveries: DeliveriesService) {}

  @Get()
  @ApiOperation({ summary: "The tenant's delivery log, newest first" })
  @ApiOkResponse({ type: DeliveryPageResponse })
  @ErrorResponse(400, 'A filter value is invalid (named in details)')
  @ErrorResponse(404, 'Unknown tenant')
  list(
    @Param('tenantId') tenantId: string,
    @Query() query: ListDeliveriesQuery,
  ): Promise<Page<DeliveryResponse>> {
    return this.deliveries.list(tenantId, query);
  }

  @Get(':deliveryId')
  @ApiOperation({ summary: 'One delivery with every attempt' })
  @ApiOkResponse({ type: DeliveryDetailResponse })
  @ErrorResponse(404, 'Unknown tenant or delivery')
  get(
    @Param('tenantId') tenantId: string,
    @Param('deliveryId') deliveryId: string,
  ): Promise<DeliveryDetailResponse> {
    return this.deliveries.get(tenantId, deliveryId);
  }
}

@ApiTags('deliveries')
@ApiKeyAuth()
@AdminOnly()
@Controller('v1/deliveries')
export class AllDeliveriesController {
  constructor(private readonly deliveries: DeliveriesService) {}

  @Get()
  @ApiOperation({ summary: 'The delivery log across tenants, newest first (admin key)' })
  @ApiOkResponse({ type: DeliveryPageResponse })
  @ErrorResponse(400, 'A filter value is invalid (named in details)')
  @ErrorResponse(404, 'Tenant keys cannot use this route')
  list(@Query() query: ListAllDeliveriesQuery): Promise<Page<DeliveryResponse>> {
    return this.deliveries.listAcrossTenants(query);
  }

  @Get(':deliveryId')
  @ApiOperation({ summary: 'Any delivery with every attempt (admin key)' })
  @ApiOkResponse({ type: DeliveryDetailResponse })
  @ErrorResponse(404, 'Unknown delivery')
  get(@Param('deliveryId') deliveryId: string): Promise<DeliveryDetailResponse> {
    return this.deliveries.getAcrossTenants(deliveryId);
  }
}
