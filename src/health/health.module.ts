// Liveness and readiness routes (terminus), with a Redis indicator of our own.
import { Injectable, Logger, LoggerService, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { RedisHealthIndicator } from './redis.health';

/** A failed readiness probe is a warning (the probe repeats every few seconds), not an error. */
@Injectable()
export class HealthLogger implements LoggerService {
  private readonly logger = new Logger('Health');
  log(message: string): void {
    this.logger.log(message);
  }
  warn(message: string): void {
    this.logger.warn(message);
  }
  error(message: string): void {
    this.logger.warn(message);
  }
}

@Module({
  imports: [TerminusModule.forRoot({ logger: HealthLogger, errorLogStyle: 'json' })],
  controllers: [HealthController],
  providers: [RedisHealthIndicator],
})
export class HealthModule {}
