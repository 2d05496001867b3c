// Tenant API keys: issued once as `tern_<keyId>.<secret>`, stored as SHA-256 of the secret,
// looked up by key id and compared in constant time.
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, IsNull, Repository } from 'typeorm';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiKey } from './entities/api-key.entity';
import { newId } from '../common/ids';
import { notFound } from '../common/errors';

export interface IssuedApiKey {
  id: string;
  apiKey: string;
  createdAt: string;
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
    const row = await repo.save(
      repo.create({ id, tenantId, secretHash: hashSecret(secret), revokedAt: null }),
    );
    return { id, apiKey: `tern_${id}.${secret}`, createdAt: row.createdAt.toISOString() };
  }

  async revoke(tenantId: string, keyId: string): Promise<void> {
    const result = await this.keys.update(
      { id: keyId, tenantId, revokedAt: IsNull() },
      { revokedAt: new Date() },
    );
    if (!result.affected) throw notFound('API key');
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
