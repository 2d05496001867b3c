// Routes that accept events and show them.
import { Body, Controller, Get, Headers, HttpCode, Param, Post } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { EventsService } from './events.service';
import { TriggerBatchDto, TriggerEventDto } from './dto/trigger-event.dto';
import { AcceptedBatchDto, AcceptedEventDto, EventDto } from './dto/event-response.dto';
import { invalid } from '../common/errors';
import { ApiKeyAuth, ErrorResponses } from '../common/api-docs';

@ApiTags('events')
@ApiKeyAuth()
@ErrorResponses(404)
@Controller('v1/tenants/:tenantId/events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Trigger an event: stored and fanned out to every subscribed endpoint before 202',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Same as idempotencyKey in the body',
  })
  @ApiResponse({ status: 202, type: AcceptedEventDto })
  @ErrorResponses(400, 413, 415, 422)
  async trigger(
    @Param('tenantId') tenantId: string,
    @Body() body: TriggerEventDto,
    @Headers('Idempotency-Key') headerKey?: string,
  ): Promise<AcceptedEventDto> {
    if (
      headerKey !== undefined &&
      body.idempotencyKey !== undefined &&
      headerKey !== body.idempotencyKey
    ) {
      throw invalid('idempotencyKey', 'differs from the Idempotency-Key header');
    }
    if (headerKey !== undefined && (headerKey.length < 1 || headerKey.length > 255)) {
      throw invalid('Idempotency-Key', 'must be 1 to 255 characters');
    }
    const [accepted] = await this.events.trigger(
      tenantId,
      [{ ...body, idempotencyKey: body.idempotencyKey ?? headerKey }],
      false,
    );
    return accepted;
  }

  @Post('batch')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Trigger up to 500 events: all accepted or none (the first bad item is named)',
  })
  @ApiResponse({ status: 202, type: AcceptedBatchDto })
  @ErrorResponses(400, 413, 415, 422)
  async triggerBatch(
    @Param('tenantId') tenantId: string,
    @Body() body: TriggerBatchDto,
  ): Promise<AcceptedBatchDto> {
    return { data: await this.events.trigger(tenantId, body.events, true) };
  }

  @Get(':eventId')
  @ApiOperation({ summary: 'An event and its deliveries' })
  @ApiResponse({ status: 200, type: EventDto })
  get(@Param('tenantId') tenantId: string, @Param('eventId') eventId: string): Promise<EventDto> {
    return this.events.get(tenantId, eventId);
  }
}
