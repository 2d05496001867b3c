// The operator's Bull dashboard at /admin/queues, behind the admin key: `Authorization: Bearer
// <ADMIN_API_KEY>`, or HTTP Basic with the admin key as the password (so a browser can open it).
import type { INestApplication } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bull';
import type { NextFunction, Request, Response } from 'express';
import type { Queue } from 'bull';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { DELIVERY_QUEUE } from './delivery-queue';
import { errorBody } from '../common/http-error.filter';

export const DASHBOARD_PATH = '/admin/queues';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** The key presented as Bearer or as a Basic password; null when neither. */
export function presentedKey(header: string | undefined): string | null {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (bearer) return bearer[1];
  const basic = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!basic) return null;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : null;
}

export function mountDashboard(app: INestApplication, adminApiKey: string): void {
  const queue = app.get<Queue>(getQueueToken(DELIVERY_QUEUE));
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({ queues: [new BullAdapter(queue, { readOnlyMode: false })], serverAdapter });
  const expected = sha256(adminApiKey);
  const guard = (req: Request, res: Response, next: NextFunction) => {
    const key = presentedKey(req.headers.authorization);
    if (key !== null && timingSafeEqual(sha256(key), expected)) return next();
    res.setHeader('www-authenticate', 'Basic realm="Tern queues"');
    res.status(401).json(errorBody(401, 'The queue dashboard needs the admin key'));
  };
  app.use(DASHBOARD_PATH, guard, serverAdapter.getRouter());
}
