// OpenAPI at /docs (UI) and /docs-json (spec), generated from the controllers and DTOs.
import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { TernConfig } from './config/config';

const DESCRIPTION = `Outbound webhook delivery.

**Auth.** \`Authorization: Bearer <key>\`. The operator's admin key (\`ADMIN_API_KEY\`) reaches every
route; a tenant key reaches only \`/v1/tenants/{its id}/...\` and catalog reads. Another tenant's
resource, or an operator route called with a tenant key, answers 404 (never 403). A missing or bad
key answers 401. The service routes (\`/health\`, \`/health/ready\`, \`/metrics\`, \`/docs\`) need no key.

**Rate limit.** Each API key may make \`API_RATE_LIMIT_PER_SECOND\` requests a second (default 1000,
per Tern process); beyond that 429 with a \`Retry-After\` header in seconds.

**Errors.** Always \`{statusCode, error, message, details?}\`; for 400 \`details\` names each bad field.

**Lists.** \`?limit=\` (1..250, default 50) and \`?cursor=\`; the answer is \`{data, nextCursor}\`,
newest first; \`nextCursor\` is null on the last page.`;

export function setupDocs(app: INestApplication, config: TernConfig): void {
  const spec = new DocumentBuilder()
    .setTitle('Tern')
    .setDescription(DESCRIPTION)
    .setVersion(config.version)
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'API key',
        description: 'The admin key, or a tenant key (`tern_key_...`)',
      },
      'bearer',
    )
    .addTag('tenants', "The operator's customers and their API keys (admin key)")
    .addTag('event-types', 'The global event type catalog (edits: admin key; reads: any key)')
    .addTag('events', 'Trigger events; read one with its deliveries')
    .addTag('endpoints', "A tenant's receiving URLs, their subscriptions and signing secrets")
    .addTag('deliveries', 'The delivery log: one delivery per event and endpoint, with attempts')
    .addTag('replays', 'Retry a delivery, recover an endpoint, send a test event')
    .addTag('alerts', 'Exhausted deliveries and disabled endpoints')
    .addTag('service', 'Liveness, readiness and Prometheus metrics (no key)')
    .build();
  const document = SwaggerModule.createDocument(app, spec);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
