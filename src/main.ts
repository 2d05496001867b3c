// The API process (`npm start` also runs the dispatcher in it; `npm run start:api` does not).
import 'reflect-metadata';
import { ConfigError, loadConfig, TernConfig } from './config/config';
import { runMigrations } from './database/data-source';
import { createApp } from './app';
import { VERSION } from './version';

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
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  const log = app.get(await import('nestjs-pino').then((m) => m.Logger));
  if (applied.length) log.log(`applied migrations: ${applied.join(', ')}`);
  if (config.adminApiKeyGenerated)
    log.warn(`ADMIN_API_KEY not set; using a generated one for this run: ${config.adminApiKey}`);
  log.log(`Tern ${VERSION} (${config.role}) listening on http://${config.host}:${config.port}`);
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`tern: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
