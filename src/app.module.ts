// Wires both processes. The API role serves HTTP; the worker role adds the dispatcher (queue
// processors and the sweeper); `all` (npm start) is both in one process.
import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BullModule } from '@nestjs/bull';
import { LoggerModule } from 'nestjs-pino';
import { TernConfig } from './config/config';
import { TernConfigModule } from './config/config.module';
import { dataSourceOptions } from './database/data-source';
import { DatabaseModule } from './database/database.module';
import { HttpErrorFilter } from './common/http-error.filter';
import { AuthModule } from './auth/auth.module';
import { TenantsModule } from './tenants/tenants.module';
import { CatalogModule } from './catalog/catalog.module';
import { EndpointsModule } from './endpoints/endpoints.module';
import { EventsModule } from './events/events.module';
import { DeliveriesModule } from './deliveries/deliveries.module';
import { AlertsModule } from './alerts/alerts.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { DispatchModule } from './dispatch/dispatch.module';
import { queueReconnectDelayMs } from './queue/queue.module';
import { ReplaysModule } from './replays/replays.module';

@Module({})
export class AppModule {
  static forRoot(config: TernConfig): DynamicModule {
    const requestLogging = config.logLevel === 'debug' || config.logLevel === 'trace';
    const imports = [
      TernConfigModule.forRoot(config),
      LoggerModule.forRoot({
        pinoHttp: {
          level: config.logLevel,
          autoLogging: requestLogging,
          redact: ['req.headers.authorization'],
        },
        // Per-request loggers only where requests are logged (debug, trace): the middleware costs
        // each request a child logger and an AsyncLocalStorage scope, which turns on promise hooks
        // for the whole process, dispatcher included (a quarter of the API's CPU per trigger).
        forRoutes: requestLogging ? undefined : [],
      }),
      TypeOrmModule.forRoot(
        dataSourceOptions(config.databaseUrl, 20, {
          connectTimeoutMs: config.databaseConnectTimeoutMs,
          queryTimeoutMs: config.databaseQueryTimeoutMs,
        }),
      ),
      BullModule.forRoot({
        url: config.redisUrl,
        prefix: config.queuePrefix,
        redis: { retryStrategy: queueReconnectDelayMs },
      }),
      DatabaseModule,
      AuthModule,
      MetricsModule,
      HealthModule,
      TenantsModule,
      CatalogModule,
      EndpointsModule,
      EventsModule,
      DeliveriesModule,
      AlertsModule,
      ReplaysModule,
      ...(config.role === 'api' ? [] : [DispatchModule]),
    ];
    return {
      module: AppModule,
      imports,
      providers: [{ provide: APP_FILTER, useClass: HttpErrorFilter }],
    };
  }
}
