// Tenants: the operator's customers. Owns the tenants table; a new tenant gets its first API key in the
// same transaction.
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Tenant } from './entities/tenant.entity';
import { ApiKeysService } from './api-keys.service';
import { newId } from '../common/ids';
import { conflict, notFound } from '../common/errors';
import { Page, pageLimit, PageQuery, toPage } from '../common/pagination';
import { createdAtKeySql, decodeCreatedAtCursor } from '../common/created-at-cursor';
import { DEADLOCK_DETECTED, pgErrorCode, UNIQUE_VIOLATION } from '../common/db-errors';

export interface TenantView {
  id: string;
  name: string;
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface CreateTenantInput {
  id?: string;
  name: string;
  metadata?: Record<string, unknown>;
}

export interface UpdateTenantInput {
  name?: string;
  metadata?: Record<string, unknown> | null;
}

interface TenantRow {
  id: string;
  name: string;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  cursor_at?: string;
}

const COLUMNS = `id, name, metadata, created_at, updated_at`;

const toView = (r: TenantRow): TenantView => ({
  id: r.id,
  name: r.name,
  metadata: r.metadata ?? {},
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

/** How long a tenant known to exist is taken on trust (see exists). */
export const EXISTS_TTL_MS = 2_000;

@Injectable()
export class TenantsService {
  private readonly known = new Map<string, number>();
  /** exists() queries under way, by tenant id. */
  private readonly checking = new Map<string, Promise<boolean>>();

  constructor(
    @InjectRepository(Tenant) private readonly tenants: Repository<Tenant>,
    private readonly apiKeys: ApiKeysService,
  ) {}

  /**
   * Whether a tenant exists. The guard asks on every admin request under /v1/tenants/{id}, so a
   * yes is reused for EXISTS_TTL_MS; deleting through this process forgets it at once.
   */
  async exists(id: string): Promise<boolean> {
    const now = Date.now();
    if ((this.known.get(id) ?? 0) > now) return true;
    // Requests that miss at once (the TTL ran out under load) share one query.
    let check = this.checking.get(id);
    if (!check) {
      check = this.tenants.exists({ where: { id } });
      const mine = check;
      this.checking.set(id, mine);
      void mine
        .then((found) => {
          // Deleted through this process while the query ran: that answer is not kept.
          if (found && this.checking.get(id) === mine) {
            if (this.known.size > 10_000) this.known.clear();
            this.known.set(id, now + EXISTS_TTL_MS);
          }
        })
        .catch(() => undefined)
        .finally(() => {
          if (this.checking.get(id) === mine) this.checking.delete(id);
        });
    }
    return check;
  }

  /** Creates a tenant and its first API key atomically; a taken id is a conflict. */
  async create(input: CreateTenantInput): Promise<TenantView & { apiKey: string }> {
    const id = input.id ?? newId('ten');
    try {
      return await this.tenants.manager.transaction(async (m) => {
        const [row] = (await m.query(
          `INSERT INTO tenants (id, name, metadata) VALUES ($1, $2, $3::jsonb) RETURNING ${COLUMNS}`,
          [id, input.name, JSON.stringify(input.metadata ?? {})],
        )) as TenantRow[];
        const key = await this.apiKeys.issue(id, m);
        return { ...toView(row), apiKey: key.apiKey };
      });
    } catch (e) {
      if (pgErrorCode(e) === UNIQUE_VIOLATION) throw conflict(`Tenant ${id} already exists`);
      throw e;
    }
  }

  /** Newest first, by (created_at, id): operator-chosen ids do not sort by time. */
  async list(query: PageQuery): Promise<Page<TenantView>> {
    const limit = pageLimit(query);
    const after = decodeCreatedAtCursor(query.cursor);
    const params: unknown[] = [limit + 1];
    let where = '';
    if (after) {
      params.push(after.createdAt, after.key);
      where = `WHERE (created_at, id) < ($2::timestamptz, $3)`;
    }
    const rows = (await this.tenants.query(
      `SELECT ${COLUMNS}, ${createdAtKeySql('created_at')} AS cursor_at
         FROM tenants ${where}
        ORDER BY created_at DESC, id DESC
        LIMIT $1`,
      params,
    )) as TenantRow[];
    return toPage(rows, limit, (r) => [r.cursor_at!, r.id], toView);
  }

  async get(id: string): Promise<TenantView> {
    const [row] = (await this.tenants.query(`SELECT ${COLUMNS} FROM tenants WHERE id = $1`, [
      id,
    ])) as TenantRow[];
    if (!row) throw notFound('Tenant');
    return toView(row);
  }

  /** Changes the name and/or replaces the metadata (null clears it). */
  async update(id: string, patch: UpdateTenantInput): Promise<TenantView> {
    const metadata = patch.metadata === undefined ? null : JSON.stringify(patch.metadata ?? {});
    const [rows] = (await this.tenants.query(
      `UPDATE tenants
          SET name = COALESCE($2, name),
              metadata = COALESCE($3::jsonb, metadata),
              updated_at = now()
        WHERE id = $1
    RETURNING ${COLUMNS}`,
      [id, patch.name ?? null, metadata],
    )) as [TenantRow[], number];
    if (!rows.length) throw notFound('Tenant');
    return toView(rows[0]);
  }

  /**
   * Deletes the tenant and everything it owns, in one transaction. Its attempts and deliveries are
   * deleted here (no foreign key points them at their event: see the DeliveriesWithoutForeignKeys
   * migration); keys, endpoints, events and alerts go with the tenant row (ON DELETE CASCADE).
   * Each statement reads what was committed when it began, so the writers are locked out first:
   * - the tenant row: an ingest under way holds a key-share lock on it (the events' foreign key),
   *   so its deliveries are committed before they are looked for, and a later one waits, then
   *   fails on the missing tenant;
   * - the tenant's deliveries: a result write (or lease sweep) under way holds a delivery's row and
   *   is inserting its attempt, so that attempt is committed before attempts are looked for, and a
   *   later one finds its delivery gone and writes nothing.
   */
  async remove(id: string): Promise<void> {
    // Locks are taken in id order, as the dispatcher's claims and result writes take them, so a
    // deadlock with those cannot happen; one with another path (an alert being raised) rolls the
    // whole delete back, and it is tried again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.removeOnce(id);
      } catch (e) {
        if (pgErrorCode(e) !== DEADLOCK_DETECTED || attempt === 3) throw e;
      }
    }
  }

  private async removeOnce(id: string): Promise<void> {
    const found = await this.tenants.manager.transaction(async (m) => {
      const locked: unknown[] = await m.query(`SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE`, [
        id,
      ]);
      if (locked.length === 0) return false;
      await m.query(
        `SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE tenant_id = $1 ORDER BY id FOR UPDATE) held`,
        [id],
      );
      await m.query(
        `DELETE FROM attempts a USING deliveries d WHERE d.tenant_id = $1 AND a.delivery_id = d.id`,
        [id],
      );
      await m.query(`DELETE FROM deliveries WHERE tenant_id = $1`, [id]);
      await m.query(`DELETE FROM tenants WHERE id = $1`, [id]);
      return true;
    });
    this.known.delete(id);
    this.checking.delete(id);
    if (!found) throw notFound('Tenant');
  }
}
