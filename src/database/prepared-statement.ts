// Named prepared statements: Postgres parses and plans one once per connection instead of on every
// call (for a claim of 60 deliveries, a third of its Postgres time). Postgres settles on a generic
// plan after five calls and keeps it until the table's next ANALYZE, so a plan made while a table
// was empty would stay a scan as it grows (seen: 300 ms claims on a fresh database): the hot
// statements that read tables (claim, result write) rely on TableStatisticsService re-analyzing
// young tables, and reach rows by key only. So does the ingest insert's fan-out read (subscriptions
// by tenant and pattern, then endpoints by id), each lookup made with its key in hand.
import type { DataSource, EntityManager } from 'typeorm';

export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

const declared = new Set<string>();

/** Declares a statement, once, at module load: pg refuses one name with two texts. */
export function preparedStatement(name: string, text: string): PreparedStatement {
  if (declared.has(name)) throw new Error(`prepared statement ${name} is declared twice`);
  declared.add(name);
  return { name, text };
}

/**
 * Runs a prepared statement with the data source or a transaction's manager; the answer is what
 * `query()` gives for the same SQL, errors included (QueryFailedError).
 */
export function runPrepared<T>(
  db: DataSource | EntityManager,
  statement: PreparedStatement,
  params: unknown[],
): Promise<T> {
  // TypeORM hands its first argument to pg's client.query unchanged, and pg takes a {name, text}
  // query config there: the statement is prepared on a connection's first use and reused after.
  // A fresh object each time, because pg writes the values into the config it is given.
  const config = { name: statement.name, text: statement.text };
  return db.query(config as unknown as string, params) as Promise<T>;
}
