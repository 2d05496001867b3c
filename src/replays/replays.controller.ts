// Routes that make deliveries happen again.
import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ReplaysService } from './replays.service';
import { RecoverDto, RecoverResultDto, RetryResultDto } from './dto/replay.dto';
import { AcceptedEventDto } from '../events/dto/event-response.dto';
import { ApiKeyAuth, ErrorResponses } from '../common/api-docs';

@ApiTags('replays')
@ApiKeyAuth()
@ErrorResponses(404)
@Controller('v1/tenants/:tenantId')
export class ReplaysController {
  constructor(private readonly replays: ReplaysService) {}

  @Post('deliveries/:deliveryId/retry')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'One more attempt now, whatever the status (same event id and body; counted in the log)',
  })
  @ApiResponse({ status: 202, type: RetryResultDto })
  @ErrorResponses(409)
  retry(
    @Param('tenantId') tenantId: string,
    @Param('deliveryId') deliveryId: string,
  ): Promise<RetryResultDto> {
    return this.replays.retryDelivery(tenantId, deliveryId);
  }

  @Post('endpoints/:endpointId/recover')
  @HttpCode(202)
  @ApiOperation({ summary: "Re-queue the endpoint's failed deliveries created in [since, until)" })
  @ApiResponse({ status: 202, type: RecoverResultDto })
  @ErrorResponses(400, 409, 413, 415)
  recover(
    @Param('tenantId') tenantId: string,
    @Param('endpointId') endpointId: string,
    @Body() body: RecoverDto,
  ): Promise<RecoverResultDto> {
    return this.replays.recoverEndpoint(tenantId, endpointId, body.since, body.until);
  }

  @Post('endpoints/:endpointId/test')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a webhook.test event to this endpoint alone' })
  @ApiResponse({ status: 202, type: AcceptedEventDto })
  sendTest(
    @Param('tenantId') tenantId: string,
    @Param('endpointId') endpointId: string,
  ): Promise<AcceptedEventDto> {
    return this.replays.sendTest(tenantId, endpointId);
  }
}
