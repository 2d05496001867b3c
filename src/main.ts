// The API process. `npm start` (TERN_ROLE=all) also runs the dispatcher, on a worker thread of its
// own (dispatch/dispatcher-thread.ts); `npm run start:api` does not.
import 'reflect-metadata';
import { ConfigError, loadConfig, TernConfig } from './config/config';
import { runMigrations } from './database/data-source';
import { createApp } from './app';
import { VERSION } from './version';
import { DispatcherThread, startDispatcherThread } from './dispatch/dispatcher-thread';
import { MetricsService } from './metrics/metrics.service';

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
  let dispatcher: DispatcherThread | null = null;
  if (config.role === 'all') {
    // The thread reads the same settings; a generated admin key must be the same one in both.
    dispatcher = await startDispatcherThread(
      { ...process.env, ADMIN_API_KEY: config.adminApiKey },
      (why) => {
        process.stderr.write(`tern: ${why}; exiting\n`);
        process.exit(1);
      },
    );
  }
  const app = await createApp(
    { ...config, role: dispatcher ? 'api' : config.role },
    { shutdownHooks: !dispatcher },
  );
  if (dispatcher) {
    const thread = dispatcher;
    app.get(MetricsService).addPeer(() => thread.metrics());
    // Signals reach this thread only: the API and the dispatcher stop together, and the process
    // exits once the dispatcher has recorded what was in flight.
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      void Promise.allSettled([app.close(), thread.stop()]).then(() => {
        process.removeAllListeners(signal);
        process.kill(process.pid, signal); // the signal's own exit, as a process without hooks
      });
    };
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop(signal));
  }
  await app.listen(config.port, config.host);
  const log = app.get(await import('nestjs-pino').then((m) => m.Logger));
  if (applied.length) log.log(`applied migrations: ${applied.join(', ')}`);
  if (config.adminApiKeyGenerated)
    log.warn(`ADMIN_API_KEY not set; using a generated one for this run: ${config.adminApiKey}`);
  log.log(
    `Tern ${VERSION} (${config.role}${dispatcher ? ': API, and the dispatcher on a worker thread' : ''}) listening on http://${config.host}:${config.port}`,
  );
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`tern: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
