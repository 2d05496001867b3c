// Route metadata read by the AuthGuard.
import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

export const PUBLIC_ROUTE = 'tern:public';
export const ADMIN_ONLY = 'tern:adminOnly';

/** No key needed (health, metrics, docs). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
/** Only the operator's admin key; a tenant key gets 404 (the contract has no 403). */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);

export type Principal =
  | { kind: 'admin'; keyId: 'admin' }
  | { kind: 'tenant'; tenantId: string; keyId: string };

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest().principal,
);
