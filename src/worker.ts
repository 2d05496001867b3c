// The dispatcher process: no HTTP, just the delivery queue processors and the sweeper.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { configOrExit } from './main';
import { runMigrations } from './database/data-source';
import { MetricsService } from './metrics/metrics.service';
import { startMetricsServer } from './metrics/metrics-server';

async function main(): Promise<void> {
  const config = { ...configOrExit(), role: 'worker' as const };
  await runMigrations(config.databaseUrl);
  const ctx = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    bufferLogs: true,
  });
  ctx.useLogger(ctx.get(Logger));
  ctx.enableShutdownHooks();
  if (config.metricsPort) {
    const server = await startMetricsServer(
      ctx.get(MetricsService),
      config.metricsPort,
      config.host,
    );
    process.once('SIGTERM', () => server.close());
  }
  ctx
    .get(Logger)
    .log(
      `Tern worker started${config.metricsPort ? `; metrics on http://${config.host}:${config.metricsPort}/metrics` : ''}`,
    );
}

main().catch((e) => {
  process.stderr.write(
    `tern worker: failed to start: ${e instanceof Error ? e.message : String(e)}\n`,
  );
  process.exit(1);
});
