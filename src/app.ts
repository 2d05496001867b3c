// Builds the HTTP application (not yet listening): body parsing, errors, validation, docs.
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { AppModule } from './app.module';
import { TernConfig } from './config/config';
import { validationPipe } from './common/validation';
import { errorBody } from './common/http-error.filter';
import { setupDocs } from './docs';
import { jsonDeeperThan, MAX_JSON_DEPTH } from './common/json-depth';
import { mountDashboard } from './queue/dashboard';

/** Body size the JSON parser accepts: the largest payload plus room for the envelope. */
export function bodyLimit(config: TernConfig): number {
  return config.maxPayloadBytes + 64 * 1024;
}

/** body-parser's `verify`: refuses a body nested past MAX_JSON_DEPTH (see the errors below). */
function refuseDeepJson(_req: Request, _res: Response, bytes: Buffer): void {
  if (jsonDeeperThan(bytes, MAX_JSON_DEPTH))
    throw Object.assign(new Error(`Request body nests deeper than ${MAX_JSON_DEPTH} levels`), {
      type: 'entity.too.deep',
    });
}

export interface AppOptions {
  /** Close on SIGTERM/SIGINT (Nest's shutdown hooks); off where the caller handles signals. */
  shutdownHooks?: boolean;
}

export async function createApp(
  config: TernConfig,
  { shutdownHooks = true }: AppOptions = {},
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.set('trust proxy', false);
  app.disable('x-powered-by');
  // No ETag: API answers are not cached, and hashing every JSON body costs CPU on each request.
  app.set('etag', false);

  // A body that is not JSON is refused before parsing (415), one that is too large too (413).
  app.use((req: Request, res: Response, next: NextFunction) => {
    const hasBody =
      Number(req.headers['content-length'] ?? 0) > 0 ||
      req.headers['transfer-encoding'] !== undefined;
    if (hasBody && ['POST', 'PUT', 'PATCH'].includes(req.method) && !req.is('application/json')) {
      res.status(415).json(errorBody(415, 'Content-Type must be application/json'));
      return;
    }
    next();
  });
  const small = express.json({ limit: bodyLimit(config), strict: false, verify: refuseDeepJson });
  const batch = express.json({
    limit: bodyLimit(config) * 4 + config.maxBatchEvents * 1024,
    strict: false,
    verify: refuseDeepJson,
  });
  app.use((req: Request, res: Response, next: NextFunction) =>
    (req.path.endsWith('/events/batch') ? batch : small)(req, res, next),
  );
  app.use((err: any, _req: Request, res: Response, next: NextFunction) => {
    if (!err) return next();
    if (err.type === 'entity.too.large') {
      res.status(413).json(errorBody(413, `Request body is larger than ${err.limit} bytes`));
    } else if (err.type === 'entity.parse.failed') {
      res
        .status(400)
        .json(
          errorBody(400, 'Request body is not valid JSON', [
            { field: 'body', message: err.message },
          ]),
        );
    } else if (err.type === 'entity.too.deep') {
      res.status(400).json(errorBody(400, err.message, [{ field: 'body', message: err.message }]));
    } else if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') {
      res.status(415).json(errorBody(415, err.message));
    } else if (err.expose === true && err.status === 400) {
      // body-parser's other client errors, e.g. a body that says gzip and is not (a 500 before).
      res
        .status(err.status)
        .json(
          errorBody(err.status, `Request body could not be read: ${err.message}`, [
            { field: 'body', message: err.message },
          ]),
        );
    } else {
      next(err);
    }
  });
  mountDashboard(app, config.adminApiKey);
  app.useGlobalPipes(validationPipe());
  if (shutdownHooks) app.enableShutdownHooks();
  setupDocs(app, config);
  return app;
}
