// Tenant API keys: issued once as `tern_<keyId>.<secret>`, stored as SHA-256 of the secret,
// looked up by key id and compared in constant time.
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, LessThan, Repository } from 'typeorm';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiKey } from './entities/api-key.entity';
import { newId } from '../common/ids';
import { notFound } from '../common/errors';
import { decodeCursor, Page, pageLimit, PageQuery, toPage } from '../common/pagination';
import { FOREIGN_KEY_VIOLATION, pgErrorCode } from '../common/db-errors';

export interface IssuedApiKey {
  id: string;
  apiKey: string;
  createdAt: string;
}

/** A key as listed: never its secret. */
export interface ApiKeyView {
  id: string;
  createdAt: string;
  revokedAt: string | null;
}

const KEY_FORMAT = /^tern_(key_[0-9a-z]{26})\.([A-Za-z0-9_-]{43})$/;

export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret).digest();

@Injectable()
export class ApiKeysService {
  constructor(@InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>) {}

  /** Issues a key; `manager` lets tenant creation issue the first key in its own transaction. */
  async issue(tenantId: string, manager?: EntityManager): Promise<IssuedApiKey> {
    const id = newId('key');
    const secret = randomBytes(32).toString('base64url');
    const repo = manager ? manager.getRepository(ApiKey) : this.keys;
    let row: ApiKey;
    try {
      row = await repo.save(
        repo.create({ id, tenantId, secretHash: hashSecret(secret), revokedAt: null }),
      );
    } catch (e) {
      if (pgErrorCode(e) === FOREIGN_KEY_VIOLATION) throw notFound('Tenant');
      throw e;
    }
    return { id, apiKey: `tern_${id}.${secret}`, createdAt: row.createdAt.toISOString() };
  }

  /** The tenant's keys, newest first (key ids sort by time), revoked ones included. */
  async list(tenantId: string, query: PageQuery): Promise<Page<ApiKeyView>> {
    const limit = pageLimit(query);
    const after = decodeCursor(query.cursor, 1);
    const rows = await this.keys.find({
      select: { id: true, createdAt: true, revokedAt: true },
      where: after ? { tenantId, id: LessThan(String(after[0])) } : { tenantId },
      order: { id: 'DESC' },
      take: limit + 1,
    });
    return toPage(
      rows,
      limit,
      (r) => [r.id],
      (r) => ({
        id: r.id,
        createdAt: r.createdAt.toISOString(),
        revokedAt: r.revokedAt ? r.revokedAt.toISOString() : null,
      }),
    );
  }

  /** Revokes a key at once (verify reads the row on every request). Revoking twice is not an error. */
  async revoke(tenantId: string, keyId: string): Promise<void> {
    const [rows] = (await this.keys.query(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
        WHERE id = $1 AND tenant_id = $2 RETURNING id`,
      [keyId, tenantId],
    )) as [unknown[], number];
    if (!rows.length) throw notFound('API key');
  }

  /** The tenant a presented key belongs to, or null when it is malformed, unknown or revoked. */
  async verify(presented: string): Promise<string | null> {
    const m = KEY_FORMAT.exec(presented);
    if (!m) return null;
    const row = await this.keys.findOne({ where: { id: m[1] } });
    const expected = row?.secretHash ?? Buffer.alloc(32);
    const ok = timingSafeEqual(hashSecret(m[2]), expected);
    if (!row || !ok || row.revokedAt) return null;
    return row.tenantId;
  }
}
