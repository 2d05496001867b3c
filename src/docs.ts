// OpenAPI at /docs (UI) and /docs-json (spec), generated from the controllers and DTOs.
import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { TernConfig } from './config/config';

export function setupDocs(app: INestApplication, config: TernConfig): void {
  const spec = new DocumentBuilder()
    .setTitle('Tern')
    .setDescription('Outbound webhook delivery. Authenticate with `Authorization: Bearer <key>`.')
    .setVersion(config.version)
    .addBearerAuth()
    .build();
  const document = SwaggerModule.createDocument(app, spec);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
