// The dispatcher: no HTTP, just the delivery queue processors and the sweeper. Run as a process of
// its own (`npm run start:worker`), or by `npm start` on a worker thread beside the API (see
// dispatch/dispatcher-thread.ts), where the API thread owns signals and migrations.
import 'reflect-metadata';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { NestFactory } from '@nestjs/core';
import { INestApplicationContext } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { configOrExit } from './main';
import { runMigrations } from './database/data-source';
import { MetricsService } from './metrics/metrics.service';
import { startMetricsServer } from './metrics/metrics-server';
import {
  DISPATCHER_THREAD,
  FromDispatcherThread,
  ToDispatcherThread,
} from './dispatch/dispatcher-thread';

const onThread = !isMainThread && workerData === DISPATCHER_THREAD;

async function main(): Promise<void> {
  const config = { ...configOrExit(), role: 'worker' as const };
  if (!onThread) await runMigrations(config.databaseUrl);
  const ctx = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    bufferLogs: true,
  });
  ctx.useLogger(ctx.get(Logger));
  if (onThread) return serveApiThread(ctx);
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

/** On npm start's worker thread: metrics and stop come from the API thread, not from signals. */
function serveApiThread(ctx: INestApplicationContext): void {
  const port = parentPort!;
  const reply = (m: FromDispatcherThread) => port.postMessage(m);
  port.on('message', (m: ToDispatcherThread) => {
    if (m.type === 'metrics') {
      ctx
        .get(MetricsService)
        .registry.getMetricsAsJSON()
        .then(
          (metrics) => reply({ type: 'metrics', id: m.id, metrics }),
          () => reply({ type: 'metrics', id: m.id, metrics: [] }),
        );
    } else if (m.type === 'stop') {
      void ctx
        .close()
        .catch((e: Error) => process.stderr.write(`tern dispatcher: shutdown: ${e.message}\n`))
        // Ends this thread only, whatever handle a library left open; the API thread waits for
        // the thread's exit.
        .finally(() => process.exit(0));
    }
  });
  reply({ type: 'ready' });
}

main().catch((e) => {
  process.stderr.write(
    `tern worker: failed to start: ${e instanceof Error ? e.message : String(e)}\n`,
  );
  process.exit(1);
});
