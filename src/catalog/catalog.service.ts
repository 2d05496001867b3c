// The event type catalog: operator-defined types with optional JSON Schemas, plus Tern's reserved types.
// Owns the event_types table. Other modules ask it which types are active and for compiled validators.
import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { EventType } from './entities/event-type.entity';
import { compileSchema, ValidateFunction } from './json-schema';
import { conflict, invalid, notFound } from '../common/errors';
import { Page, pageLimit, PageQuery, toPage } from '../common/pagination';
import { createdAtKeySql, decodeCreatedAtCursor } from '../common/created-at-cursor';

export interface EventTypeView {
  name: string;
  category: string | null;
  description: string | null;
  schema: Record<string, unknown> | null;
  reserved: boolean;
  archived: boolean;
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface EventTypeInput {
  name: string;
  category?: string | null;
  description?: string | null;
  schema?: Record<string, unknown> | null;
}

/** Omitted (undefined) fields stay; null clears. */
export type EventTypePatch = Omit<EventTypeInput, 'name'>;

export interface EventTypeListQuery extends PageQuery {
  category?: string;
  includeArchived?: boolean;
}

/** An active (known, not archived) type as the event pipeline needs it. */
export interface ActiveEventType {
  name: string;
  schema: object | null;
  reserved: boolean;
  /** The compiled schema, or null when the type has none (any `data` is accepted). */
  validate: ValidateFunction | null;
}

interface EventTypeRow {
  name: string;
  category: string | null;
  description: string | null;
  schema: Record<string, unknown> | null;
  reserved: boolean;
  archived_at: Date | null;
  created_at: Date;
  updated_at: Date;
  cursor_at?: string;
}

const COLUMNS = `name, category, description, schema, reserved, archived_at, created_at, updated_at`;

const toView = (r: EventTypeRow): EventTypeView => ({
  name: r.name,
  category: r.category,
  description: r.description,
  schema: r.schema,
  reserved: r.reserved,
  archived: r.archived_at !== null,
  archivedAt: r.archived_at ? r.archived_at.toISOString() : null,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const jsonOrNull = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

/**
 * Inserts a type, or overwrites the row of the same name when `onConflictWhere` allows it (then the
 * type is also unarchived). Returns null when a row exists that may not be overwritten.
 */
async function upsertRow(
  m: EntityManager,
  input: EventTypeInput,
  onConflictWhere: string,
): Promise<EventTypeRow | null> {
  const rows = (await m.query(
    `INSERT INTO event_types (name, category, description, schema)
     VALUES ($1, $2, $3, $4::jsonb)
     ON CONFLICT (name) DO UPDATE
        SET category = EXCLUDED.category,
            description = EXCLUDED.description,
            schema = EXCLUDED.schema,
            archived_at = NULL,
            updated_at = now()
      WHERE ${onConflictWhere}
     RETURNING ${COLUMNS}`,
    [input.name, input.category ?? null, input.description ?? null, jsonOrNull(input.schema)],
  )) as EventTypeRow[];
  return rows[0] ?? null;
}

/** How long an activeTypes answer is reused (see `recent`). */
export const ACTIVE_TTL_MS = 1_000;

@Injectable()
export class CatalogService {
  /** Compiled validators by type name, tagged with the row's exact updated_at they were built from. */
  private readonly validators = new Map<string, { version: string; validate: ValidateFunction }>();
  /**
   * What activeTypes answered lately, for ACTIVE_TTL_MS: ingestion asks for every event. A write
   * through this process clears it at once; one through another API process shows within the TTL.
   */
  private readonly recent = new Map<string, { type: ActiveEventType | null; until: number }>();
  /** activeTypes queries under way, by name: concurrent misses of one name share one query. */
  private readonly loading = new Map<string, Promise<ActiveEventType | null>>();

  private readonly logger = new Logger(CatalogService.name);

  constructor(@InjectRepository(EventType) private readonly types: Repository<EventType>) {}

  /**
   * Creates a type. An archived type of that name is brought back with the new fields (201 again);
   * an active one, or a reserved one, is a conflict.
   */
  async create(input: EventTypeInput): Promise<EventTypeView> {
    const row = await upsertRow(
      this.types.manager,
      input,
      'event_types.archived_at IS NOT NULL AND NOT event_types.reserved',
    );
    if (!row) throw conflict(`Event type ${input.name} already exists`);
    this.forget(input.name);
    return toView(row);
  }

  /**
   * Bulk import: creates or replaces every type by name (omitted fields become null, archived ones
   * come back), all in one transaction. Types not in the list are left alone.
   */
  async upsertMany(inputs: EventTypeInput[]): Promise<EventTypeView[]> {
    // Rows are written in name order, so two imports of the same names lock them in the same order
    // and one waits for the other, where in request order they could deadlock (a 500). The answer
    // keeps the request's order.
    const order = inputs
      .map((input, i) => ({ input, i }))
      .sort((a, b) => (a.input.name < b.input.name ? -1 : a.input.name > b.input.name ? 1 : 0));
    const rows = await this.types.manager.transaction(async (m) => {
      const out: EventTypeRow[] = new Array(inputs.length);
      for (const { input, i } of order) {
        const row = await upsertRow(m, input, 'NOT event_types.reserved');
        if (!row) throw invalid(`[${i}].name`, 'is reserved for Tern');
        out[i] = row;
      }
      return out;
    });
    for (const input of inputs) this.forget(input.name);
    return rows.map(toView);
  }

  /** Newest first by (created_at, name); archived types only when asked for. */
  async list(query: EventTypeListQuery): Promise<Page<EventTypeView>> {
    const limit = pageLimit(query);
    const after = decodeCreatedAtCursor(query.cursor);
    const params: unknown[] = [limit + 1];
    const where: string[] = [];
    if (!query.includeArchived) where.push('archived_at IS NULL');
    if (query.category !== undefined) {
      params.push(query.category);
      where.push(`category = $${params.length}`);
    }
    if (after) {
      params.push(after.createdAt, after.key);
      where.push(`(created_at, name) < ($${params.length - 1}::timestamptz, $${params.length})`);
    }
    const rows = (await this.types.query(
      `SELECT ${COLUMNS}, ${createdAtKeySql('created_at')} AS cursor_at
         FROM event_types
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, name DESC
        LIMIT $1`,
      params,
    )) as EventTypeRow[];
    return toPage(rows, limit, (r) => [r.cursor_at!, r.name], toView);
  }

  /** One type, archived or not. */
  async get(name: string): Promise<EventTypeView> {
    const [row] = (await this.types.query(`SELECT ${COLUMNS} FROM event_types WHERE name = $1`, [
      name,
    ])) as EventTypeRow[];
    if (!row) throw notFound('Event type');
    return toView(row);
  }

  /** Edits category, description and schema; reserved types cannot be edited (409). */
  async update(name: string, patch: EventTypePatch): Promise<EventTypeView> {
    const params: unknown[] = [name];
    const sets = ['updated_at = now()'];
    if (patch.category !== undefined) {
      params.push(patch.category);
      sets.push(`category = $${params.length}`);
    }
    if (patch.description !== undefined) {
      params.push(patch.description);
      sets.push(`description = $${params.length}`);
    }
    if (patch.schema !== undefined) {
      params.push(jsonOrNull(patch.schema));
      sets.push(`schema = $${params.length}::jsonb`);
    }
    const [rows] = (await this.types.query(
      `UPDATE event_types SET ${sets.join(', ')}
        WHERE name = $1 AND NOT reserved
    RETURNING ${COLUMNS}`,
      params,
    )) as [EventTypeRow[], number];
    this.forget(name);
    if (!rows.length) throw await this.whyUnchangeable(name);
    return toView(rows[0]);
  }

  /** Archives a type: existing subscriptions stay, new ones and new events are refused. Idempotent. */
  async archive(name: string): Promise<void> {
    const [rows] = (await this.types.query(
      `UPDATE event_types
          SET archived_at = COALESCE(archived_at, now()),
              updated_at = CASE WHEN archived_at IS NULL THEN now() ELSE updated_at END
        WHERE name = $1 AND NOT reserved
    RETURNING name`,
      [name],
    )) as [unknown[], number];
    this.forget(name);
    if (!rows.length) throw await this.whyUnchangeable(name);
  }

  /** The type when it exists and is not archived, else null. */
  async getActiveType(
    name: string,
  ): Promise<{ name: string; schema: object | null; reserved: boolean } | null> {
    const t = (await this.activeTypes([name])).get(name);
    return t ? { name: t.name, schema: t.schema, reserved: t.reserved } : null;
  }

  /**
   * The compiled validator of an active type's schema; null when the type is unknown, archived or has
   * no schema. Compiled once per version of the type and kept in memory.
   */
  async validator(name: string): Promise<ValidateFunction | null> {
    return (await this.activeTypes([name])).get(name)?.validate ?? null;
  }

  /**
   * Every active type among `names` with its compiled validator, in one query (for event batches).
   * Names that are unknown or archived are absent from the map.
   */
  async activeTypes(names: string[]): Promise<Map<string, ActiveEventType>> {
    const out = new Map<string, ActiveEventType>();
    const now = Date.now();
    const missing: string[] = [];
    const joined: [string, Promise<ActiveEventType | null>][] = [];
    for (const name of new Set(names)) {
      const hit = this.recent.get(name);
      if (hit && hit.until > now) {
        if (hit.type) out.set(name, hit.type);
        continue;
      }
      const loading = this.loading.get(name);
      if (loading) joined.push([name, loading]);
      else missing.push(name);
    }
    if (missing.length) {
      // One query for every request that misses at once: when the TTL runs out under load, the
      // requests in flight share it instead of each asking Postgres the same question.
      const load = this.loadActiveTypes(missing);
      const mine = new Map<string, Promise<ActiveEventType | null>>();
      for (const name of missing) {
        const one = load.then((found) => found.get(name) ?? null);
        one.catch(() => undefined); // handled: the caller awaits `load` itself
        mine.set(name, one);
        this.loading.set(name, one);
      }
      try {
        const found = await load;
        if (this.recent.size > 10_000) this.recent.clear();
        for (const [name, one] of mine) {
          const type = found.get(name) ?? null;
          if (type) out.set(name, type);
          // A write through this process while the query ran forgot the name: an answer that may
          // predate the write is used by this request but not kept for later ones.
          if (this.loading.get(name) === one)
            this.recent.set(name, { type, until: now + ACTIVE_TTL_MS });
        }
      } finally {
        for (const [name, one] of mine)
          if (this.loading.get(name) === one) this.loading.delete(name);
      }
    }
    for (const [name, one] of joined) {
      const type = await one;
      if (type) out.set(name, type);
    }
    return out;
  }

  private forget(name: string): void {
    this.validators.delete(name);
    this.recent.delete(name);
    this.loading.delete(name);
  }

  private async loadActiveTypes(names: string[]): Promise<Map<string, ActiveEventType>> {
    const out = new Map<string, ActiveEventType>();
    const rows = (await this.types.query(
      `SELECT name, schema, reserved, ${createdAtKeySql('updated_at')} AS version
         FROM event_types
        WHERE name = ANY($1::text[]) AND archived_at IS NULL`,
      [[...new Set(names)]],
    )) as {
      name: string;
      schema: Record<string, unknown> | null;
      reserved: boolean;
      version: string;
    }[];
    for (const r of rows) {
      out.set(r.name, {
        name: r.name,
        schema: r.schema,
        reserved: r.reserved,
        validate: r.schema ? this.compiled(r.name, r.version, r.schema) : null,
      });
    }
    return out;
  }

  /** Which of `names` are active catalog types (for checking an endpoint's subscriptions), in one query. */
  async existingActiveNames(names: string[]): Promise<Set<string>> {
    if (!names.length) return new Set();
    const rows = (await this.types.query(
      `SELECT name FROM event_types WHERE name = ANY($1::text[]) AND archived_at IS NULL`,
      [[...new Set(names)]],
    )) as { name: string }[];
    return new Set(rows.map((r) => r.name));
  }

  private compiled(
    name: string,
    version: string,
    schema: Record<string, unknown>,
  ): ValidateFunction {
    const hit = this.validators.get(name);
    if (hit && hit.version === version) return hit.validate;
    const validate = compileSchema(schema, {
      lenient: true,
      onLenient: (pattern) =>
        this.logger.warn(
          `event type ${name}, saved before Tern checked patterns, has ${pattern}, which runs on ` +
            "JavaScript's backtracking engine (RE2 lacks what it uses): save the type again",
        ),
    });
    this.validators.set(name, { version, validate });
    return validate;
  }

  private async whyUnchangeable(name: string) {
    const [row] = (await this.types.query(`SELECT reserved FROM event_types WHERE name = $1`, [
      name,
    ])) as { reserved: boolean }[];
    if (!row) return notFound('Event type');
    return conflict(`Event type ${name} is reserved by Tern and cannot be changed`);
  }
}
