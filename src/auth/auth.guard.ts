// One guard decides who may do what: the admin key reaches everything; a tenant key reaches only
// /v1/tenants/{its id}/... and catalog reads. Anything else answers 404, a missing or bad key 401.
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { ADMIN_ONLY, Principal, PUBLIC_ROUTE } from './auth.decorators';
import { ApiKeysService } from '../tenants/api-keys.service';
import { TenantsService } from '../tenants/tenants.service';
import { TERN_CONFIG, TernConfig } from '../config/config';
import { TernError, notFound } from '../common/errors';
import { RateLimiter } from './rate-limiter';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

@Injectable()
export class AuthGuard implements CanActivate {
  private readonly adminHash: Buffer;
  private readonly limiter: RateLimiter;

  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly tenants: TenantsService,
    @Inject(TERN_CONFIG) config: TernConfig,
  ) {
    this.adminHash = sha256(config.adminApiKey);
    this.limiter = new RateLimiter(config.apiRateLimitPerSecond);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = ctx.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const principal = await this.authenticate(req.headers.authorization);
    if (!principal) throw new TernError('unauthorized', 'Missing or invalid API key');
    const wait = this.limiter.take(principal.keyId);
    if (wait > 0) {
      throw new TernError('rate_limited', 'Too many requests for this API key', {
        retryAfterSeconds: Math.ceil(wait / 1000),
      });
    }
    req.principal = principal;

    const tenantParam = req.params?.tenantId as string | undefined;
    if (principal.kind === 'admin') {
      // Admin routes under a tenant must still name a tenant that exists (none holds a NUL, which
      // Postgres would refuse to compare: guards run before the validation pipe).
      if (
        tenantParam !== undefined &&
        (tenantParam.includes('\u0000') || !(await this.tenants.exists(tenantParam)))
      )
        throw notFound('Tenant');
      return true;
    }
    const adminOnly = this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets);
    if (adminOnly) throw notFound('Route');
    if (tenantParam === undefined) return true; // catalog reads
    if (tenantParam !== principal.tenantId) throw notFound('Tenant');
    return true;
  }

  private async authenticate(header: string | undefined): Promise<Principal | null> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) return null;
    const presented = m[1];
    if (timingSafeEqual(sha256(presented), this.adminHash))
      return { kind: 'admin', keyId: 'admin' };
    const keyMatch = /^tern_(key_[0-9a-z]{26})\./.exec(presented);
    const tenantId = await this.apiKeys.verify(presented);
    return tenantId && keyMatch ? { kind: 'tenant', tenantId, keyId: keyMatch[1] } : null;
  }
}
