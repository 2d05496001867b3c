// HTTP surface of /v1/event-types: the operator edits the catalog; the admin key or any tenant key reads it.
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth, ErrorResponse, ErrorResponses } from '../common/api-docs';
import { AdminOnly } from '../auth/auth.decorators';
import { CatalogService } from './catalog.service';
import {
  CreateEventTypeDto,
  EventTypeList,
  EventTypePage,
  EventTypeQuery,
  EventTypeResponse,
  UpdateEventTypeDto,
} from './dto/event-type.dto';
import { EventTypeArrayPipe } from './dto/event-type-array.pipe';

@ApiTags('event-types')
@ApiKeyAuth()
@Controller('v1/event-types')
export class CatalogController {
  constructor(private readonly catalog: CatalogService) {}

  @Post()
  @AdminOnly()
  @ApiOperation({ summary: 'Add an event type (an archived one of that name is brought back)' })
  @ApiResponse({ status: 201, type: EventTypeResponse })
  @ErrorResponse(400, 'Invalid input (bad or reserved name, invalid schema)')
  @ErrorResponse(404, 'Not the admin key')
  @ErrorResponse(409, 'An active type of that name exists')
  @ErrorResponses(413, 415)
  create(@Body() body: CreateEventTypeDto): Promise<EventTypeResponse> {
    return this.catalog.create(body);
  }

  @Put()
  @AdminOnly()
  @ApiOperation({ summary: 'Bulk import: create or replace each type by name, all or none' })
  @ApiBody({ type: CreateEventTypeDto, isArray: true })
  @ApiResponse({ status: 200, type: EventTypeList })
  @ErrorResponse(400, 'An item is invalid; details name it, e.g. `[3].name`')
  @ErrorResponses(413, 415)
  @ErrorResponse(404, 'Not the admin key')
  async import(@Body(EventTypeArrayPipe) body: CreateEventTypeDto[]): Promise<EventTypeList> {
    return { data: await this.catalog.upsertMany(body) };
  }

  @Get()
  @ApiOperation({ summary: 'List event types, newest first' })
  @ApiResponse({ status: 200, type: EventTypePage })
  @ErrorResponse(400, 'Bad limit, cursor or filter')
  list(@Query() query: EventTypeQuery): Promise<EventTypePage> {
    return this.catalog.list(query);
  }

  @Get(':name')
  @ApiOperation({ summary: 'Get an event type (archived ones too)' })
  @ApiResponse({ status: 200, type: EventTypeResponse })
  @ErrorResponse(404, 'Unknown event type')
  get(@Param('name') name: string): Promise<EventTypeResponse> {
    return this.catalog.get(name);
  }

  @Patch(':name')
  @AdminOnly()
  @ApiOperation({ summary: "Edit an event type's category, description or schema" })
  @ApiResponse({ status: 200, type: EventTypeResponse })
  @ErrorResponse(400, 'Invalid input')
  @ErrorResponse(404, 'Unknown event type, or not the admin key')
  @ErrorResponse(409, 'Reserved types cannot be edited')
  @ErrorResponses(413, 415)
  update(
    @Param('name') name: string,
    @Body() body: UpdateEventTypeDto,
  ): Promise<EventTypeResponse> {
    return this.catalog.update(name, body);
  }

  @Delete(':name')
  @AdminOnly()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Archive an event type: existing subscriptions stay, new ones are refused',
  })
  @ApiResponse({ status: 204, description: 'Archived (also when it already was)' })
  @ErrorResponse(404, 'Unknown event type, or not the admin key')
  @ErrorResponse(409, 'Reserved types cannot be archived')
  archive(@Param('name') name: string): Promise<void> {
    return this.catalog.archive(name);
  }
}
