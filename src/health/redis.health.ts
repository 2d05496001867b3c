// Readiness of Redis: one dedicated ioredis client (lazy, never queues commands while offline) that
// answers PING within a short timeout, or the check is down. Closed with the module.
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import Redis from 'ioredis';
import { TERN_CONFIG, TernConfig } from '../config/config';

export const REDIS_PING_TIMEOUT_MS = 1_000;

@Injectable()
export class RedisHealthIndicator implements OnModuleDestroy {
  private readonly client: Redis;

  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(TERN_CONFIG) config: TernConfig,
  ) {
    this.client = new Redis(config.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      // While disconnected a PING fails at once instead of waiting in a queue: down is down.
      enableOfflineQueue: false,
      connectTimeout: REDIS_PING_TIMEOUT_MS,
      connectionName: 'tern-health',
    });
    // Connection errors surface through the check; without a listener ioredis prints each one.
    this.client.on('error', () => undefined);
  }

  async isHealthy<K extends string>(key: K): Promise<HealthIndicatorResult<K>> {
    const check = this.indicators.check(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no PONG within ${REDIS_PING_TIMEOUT_MS} ms`)),
          REDIS_PING_TIMEOUT_MS,
        );
      });
      await Promise.race([this.ping(), timeout]);
      return check.up();
    } catch (e) {
      return check.down({ message: (e as Error).message, connection: this.client.status });
    } finally {
      clearTimeout(timer);
    }
  }

  private async ping(): Promise<void> {
    // First use connects; afterwards ioredis reconnects in the background on its own.
    if (this.client.status === 'wait') await this.client.connect();
    const reply = await this.client.ping();
    if (reply !== 'PONG') throw new Error(`unexpected PING reply ${reply}`);
  }

  onModuleDestroy(): void {
    this.client.disconnect();
  }
}
