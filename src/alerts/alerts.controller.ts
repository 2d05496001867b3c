// GET /v1/tenants/:tenantId/alerts: the tenant's failure alerts, newest first.
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth, ErrorResponse } from '../common/api-docs';
import { AlertsService } from './alerts.service';
import { AlertPageResponse, AlertResponse } from './dto/alert.response';
import { Page, PageQuery } from '../common/pagination';

@ApiTags('alerts')
@ApiKeyAuth()
@Controller('v1/tenants/:tenantId/alerts')
export class AlertsController {
  constructor(private readonly alerts: AlertsService) {}

  @Get()
  @ApiOperation({
    summary: 'Failure alerts (exhausted deliveries, disabled endpoints), newest first',
  })
  @ApiOkResponse({ type: AlertPageResponse })
  @ErrorResponse(400, 'Bad limit or cursor')
  @ErrorResponse(404, 'Unknown tenant')
  list(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQuery,
  ): Promise<Page<AlertResponse>> {
    return this.alerts.list(tenantId, query);
  }
}
