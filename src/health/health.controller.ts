// GET /health (liveness: the process answers) and GET /health/ready (Postgres and Redis answer).
import {
  ArgumentsHost,
  Catch,
  Controller,
  ExceptionFilter,
  Get,
  ServiceUnavailableException,
  UseFilters,
} from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/auth.decorators';
import { RedisHealthIndicator } from './redis.health';

/** Answers a failed readiness check with terminus' own body (which check is down and why), not the error body. */
@Catch(ServiceUnavailableException)
export class HealthCheckFailedFilter implements ExceptionFilter {
  catch(exception: ServiceUnavailableException, host: ArgumentsHost): void {
    host.switchToHttp().getResponse<Response>().status(503).json(exception.getResponse());
  }
}

const CHECKS = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['up', 'down'] }, message: { type: 'string' } },
    additionalProperties: true,
  },
};

function readinessSchema(statuses: string[], example: object) {
  return {
    type: 'object',
    required: ['status', 'info', 'error', 'details'],
    properties: {
      status: { type: 'string', enum: statuses },
      info: CHECKS,
      error: CHECKS,
      details: CHECKS,
    },
    example,
  };
}

@ApiTags('service')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly postgres: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  @Public()
  @Get()
  @ApiOperation({ summary: 'Liveness: the process is up (checks no dependency)' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['status'],
      properties: { status: { type: 'string', enum: ['ok'] } },
      example: { status: 'ok' },
    },
  })
  alive(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Public()
  @Get('ready')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @UseFilters(HealthCheckFailedFilter)
  @ApiOperation({
    summary: 'Readiness: Postgres and Redis both answer',
    description:
      'Each check must answer within 1 s. Also 503 (`status: shutting_down`) once the process ' +
      "has begun to shut down. The body is terminus' report, not the error body.",
  })
  @ApiOkResponse({
    description: 'Both answer',
    schema: readinessSchema(['ok'], {
      status: 'ok',
      info: { postgres: { status: 'up' }, redis: { status: 'up' } },
      error: {},
      details: { postgres: { status: 'up' }, redis: { status: 'up' } },
    }),
  })
  @ApiServiceUnavailableResponse({
    description: 'Postgres or Redis is down (`error` names which and why), or shutting down',
    schema: readinessSchema(['error', 'shutting_down'], {
      status: 'error',
      info: { redis: { status: 'up' } },
      error: { postgres: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:5432' } },
      details: {
        postgres: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
        redis: { status: 'up' },
      },
    }),
  })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.postgres.pingCheck('postgres', { timeout: 1_000 }),
      () => this.redis.isHealthy('redis'),
    ]);
  }
}
