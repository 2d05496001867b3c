// GET /v1/tenants/:tenantId/alerts: the tenant's failure alerts, newest first.
import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AlertsService } from './alerts.service';
import { AlertPageResponse, AlertResponse } from './dto/alert.response';
import { Page, PageQuery } from '../common/pagination';

@ApiTags('alerts')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing or invalid API key' })
@Controller('v1/tenants/:tenantId/alerts')
export class AlertsController {
  constructor(private readonly alerts: AlertsService) {}

  @Get()
  @ApiOperation({
    summary: 'Failure alerts (exhausted deliveries, disabled endpoints), newest first',
  })
  @ApiOkResponse({ type: AlertPageResponse })
  @ApiBadRequestResponse({ description: 'Bad limit or cursor' })
  @ApiNotFoundResponse({ description: 'Unknown tenant' })
  list(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQuery,
  ): Promise<Page<AlertResponse>> {
    return this.alerts.list(tenantId, query);
  }
}
