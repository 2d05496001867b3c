// `npm run migrate`: applies pending migrations (under the same advisory lock as start-up) and exits.
import 'reflect-metadata';
import { configOrExit } from './main';
import { runMigrations } from './database/data-source';

runMigrations(configOrExit().databaseUrl).then(
  (applied) => {
    process.stdout.write(
      applied.length ? `applied: ${applied.join(', ')}\n` : 'nothing to apply\n',
    );
  },
  (e: Error) => {
    process.stderr.write(`tern migrate: ${e.message}\n`);
    process.exit(1);
  },
);
