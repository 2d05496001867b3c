// GET /metrics: the Prometheus text exposition, no key needed (keep it off the public network).
import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/auth.decorators';
import { MetricsService } from './metrics.service';

@ApiTags('service')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Public()
  @Get()
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiOkResponse({
    description: 'Every tern_* metric plus process_* and nodejs_* defaults',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  async scrape(@Res() res: Response): Promise<void> {
    const body = await this.metrics.render();
    // Written as is: express' res.send would rewrite the content type's parameters.
    res.status(200).setHeader('Content-Type', this.metrics.contentType);
    res.end(body);
  }
}
