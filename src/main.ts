// The API process. `npm start` (TERN_ROLE=all) also runs the dispatcher, on a worker thread of its
// own (dispatch/dispatcher-thread.ts); `npm run start:api` does not.
import 'reflect-metadata';
import { ConfigError, loadConfig, TernConfig } from './config/config';
import { runMigrations } from './database/data-source';
import { createApp } from './app';
import { VERSION } from './version';
import { DispatcherThread, startDispatcherThread } from './dispatch/dispatcher-thread';
import { MetricsService } from './metrics/metrics.service';
import type { NestExpressApplication } from '@nestjs/platform-express';

export function configOrExit(env: NodeJS.ProcessEnv = process.env): TernConfig {
  try {
    return loadConfig(env, VERSION);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`tern: bad setting: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  const applied = await runMigrations(config.databaseUrl);
  if (config.role !== 'all') {
    await serve(config, applied, null);
    return;
  }
  // The thread reads the same settings; a generated admin key must be the same one in both.
  const thread = await startDispatcherThread(
    { ...process.env, ADMIN_API_KEY: config.adminApiKey },
    (why) => {
      process.stderr.write(`tern: ${why}; exiting\n`);
      process.exit(1);
    },
  );
  // Signals reach this thread only, from now on: the API and the dispatcher stop together, and the
  // process exits once the dispatcher has recorded what it had in flight. A second signal (npm
  // passes on Ctrl-C as well) does not cut that short.
  let app: NestExpressApplication | null = null;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    void Promise.allSettled([app?.close(), thread.stop()]).then(() => {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal); // the signal's own exit, as a process without hooks
    });
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stop(signal));
  try {
    app = await serve(config, applied, thread);
  } catch (e) {
    await thread.stop(); // what it claimed is recorded, not left to expire
    throw e;
  }
}

/** The HTTP API, listening; with `thread`, the dispatcher's metrics are merged into /metrics. */
async function serve(
  config: TernConfig,
  applied: string[],
  thread: DispatcherThread | null,
): Promise<NestExpressApplication> {
  const app = await createApp(
    { ...config, role: thread ? 'api' : config.role },
    { shutdownHooks: !thread },
  );
  if (thread) app.get(MetricsService).addPeer(() => thread.metrics());
  await app.listen(config.port, config.host).catch((e: Error) => {
    throw new Error(`cannot listen on HOST=${config.host} PORT=${config.port}: ${e.message}`);
  });
  const log = app.get(await import('nestjs-pino').then((m) => m.Logger));
  if (applied.length) log.log(`applied migrations: ${applied.join(', ')}`);
  if (config.adminApiKeyGenerated)
    log.warn(`ADMIN_API_KEY not set; using a generated one for this run: ${config.adminApiKey}`);
  log.log(
    `Tern ${VERSION} (${config.role}${thread ? ': API, and the dispatcher on a worker thread' : ''}) listening on http://${config.host}:${config.port}`,
  );
  return app;
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`tern: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
