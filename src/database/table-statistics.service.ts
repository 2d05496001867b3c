// Fresh planner statistics for young tables. Postgres plans each statement from the statistics of
// the last ANALYZE; on a new database those say the tables are empty, and autovacuum refreshes them
// a minute later at the earliest (and never where it is off, as on this project's own machines).
// Meanwhile the planner guesses: 'pending' deliveries rare, a sequential scan cheaper than index
// lookups. A burst into a fresh database then made every claim read every due delivery, and every
// foreign-key check scan its parent table (bench: claims of 60 deliveries at 6 ms). So every second
// one Tern process (an advisory lock decides which) analyzes each of Tern's tables whose live rows
// have at least doubled since its last ANALYZE, while it is young (under YOUNG_ROWS rows): about
// a dozen runs in a table's life, each quick, and plans that are right from the first thousand
// rows on. Past that, plans made on real statistics stay right as the table grows, and autovacuum
// keeps them fresh. The log tables' runs under COARSE_ROWS sample a tenth as many rows (see
// analyzeTarget).
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { isMainThread } from 'node:worker_threads';
import { DataSource } from 'typeorm';

const TABLES = [
  'tenants',
  'api_keys',
  'event_types',
  'endpoints',
  'endpoint_subscriptions',
  'events',
  'deliveries',
  'attempts',
  'alerts',
];
/** Tables this big are left to autovacuum. */
export const YOUNG_ROWS = 1_000_000;
/** Fewer new rows than this are never worth an ANALYZE. */
export const MIN_CHANGES = 500;
/** The tables that grow with traffic: a burst doubles them again and again (see analyzeTarget). */
const LOG_TABLES = new Set(['events', 'deliveries', 'attempts']);
/** Below this many live rows a log table's ANALYZE is coarse (see analyzeTarget). */
export const COARSE_ROWS = 100_000;
/** The statistics target of a coarse ANALYZE: it samples 300 x 10 rows, against 30,000 at 100. */
export const COARSE_TARGET = 10;
const INTERVAL_MS = 1_000;
const STATISTICS_LOCK = 7_461_824_533;

/**
 * The tables to analyze now: young ones whose live rows (as the statistics collector counts them)
 * are at least twice what their last ANALYZE found, and MIN_CHANGES more.
 */
export function tablesToAnalyze<T extends { table: string; analyzed: number; live: number }>(
  rows: T[],
): T[] {
  return rows.filter((r) => {
    const known = Math.max(0, r.analyzed); // -1: never analyzed
    return known < YOUNG_ROWS && r.live >= 2 * known && r.live - known >= MIN_CHANGES;
  });
}

/**
 * The statistics target for a young table's ANALYZE at `live` rows, or null for the server's
 * default. A log table under COARSE_ROWS is analyzed at every doubling of a burst, each result
 * soon replaced by the next: coarse statistics set the empty table's plans right as well, at a
 * tenth of the cost (ANALYZE of 90,000 deliveries: 280-520 ms at the default target of 100, 18 ms
 * at 10; the delivery log's page plans at 500,000 rows were the same: bench/README.md, eighth
 * session). Past it the last four or so young ANALYZEs get full statistics, which the table keeps
 * until autovacuum's next (for good where autovacuum is off); a log table that stops growing under
 * COARSE_ROWS keeps its coarse ones the same way. The other tables stay small and cheap to
 * analyze, and always get full statistics. (A column given a target of its own would sample more.)
 */
export function analyzeTarget(table: string, live: number): number | null {
  return LOG_TABLES.has(table) && live < COARSE_ROWS ? COARSE_TARGET : null;
}

@Injectable()
export class TableStatisticsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('TableStatistics');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(private readonly dataSource: DataSource) {}

  onApplicationBootstrap(): void {
    if (isMainThread) void this.warnWithoutAutovacuum(); // once a process, not per thread
    this.timer = setInterval(() => {
      this.running ??= this.refresh().finally(() => (this.running = null));
    }, INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /**
   * Tern updates every delivery row two or three times: without autovacuum the dead versions stay
   * in the table and its indexes for good, and old tables' statistics are never refreshed.
   */
  private async warnWithoutAutovacuum(): Promise<void> {
    try {
      const [{ on }] = await this.dataSource.query(`SELECT current_setting('autovacuum') AS on`);
      if (on !== 'on')
        this.logger.warn(
          'autovacuum is off on this Postgres: dead rows will pile up in deliveries and its indexes, ' +
            'and old tables keep stale statistics; turn it on (it is the default)',
        );
    } catch {
      // not worth a word: the next queries say what is wrong with Postgres
    }
  }

  /** One look at the tables, and ANALYZE where due. Returns the tables analyzed. */
  async refresh(): Promise<string[]> {
    try {
      const rows: { table: string; analyzed: number; live: string }[] = await this.dataSource.query(
        `SELECT s.relname AS table, c.reltuples AS analyzed, s.n_live_tup AS live
           FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
          WHERE s.schemaname = current_schema() AND s.relname = ANY($1::text[])`,
        [TABLES],
      );
      const due = tablesToAnalyze(
        rows.map((r) => ({ table: r.table, analyzed: Number(r.analyzed), live: Number(r.live) })),
      );
      if (due.length === 0) return [];
      const runner = this.dataSource.createQueryRunner();
      try {
        await runner.connect();
        const [{ locked }] = await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
          STATISTICS_LOCK,
        ]);
        if (!locked) return [];
        try {
          for (const { table, live } of due) {
            const target = analyzeTarget(table, live);
            if (target === null) {
              await runner.query(`ANALYZE ${table}`);
              continue;
            }
            // SET LOCAL: the target ends with the transaction, however it ends, so a connection
            // never goes back to the pool with it.
            await runner.startTransaction();
            try {
              await runner.query(`SET LOCAL default_statistics_target = ${target}`);
              await runner.query(`ANALYZE ${table}`);
              await runner.commitTransaction();
            } catch (e) {
              await runner.rollbackTransaction().catch(() => undefined);
              throw e;
            }
          }
        } finally {
          await runner.query('SELECT pg_advisory_unlock($1)', [STATISTICS_LOCK]);
        }
      } finally {
        await runner.release();
      }
      const names = due.map((t) => t.table);
      this.logger.debug(`analyzed ${names.join(', ')}`);
      return names;
    } catch (e) {
      this.logger.warn(`could not refresh table statistics: ${(e as Error).message}`);
      return [];
    }
  }
}
