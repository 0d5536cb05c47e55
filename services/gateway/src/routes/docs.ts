import { asyncApiDocument } from '@codeagent/contracts';
import type { ZApp } from './deps';

/** The AsyncAPI document of the Socket.IO protocol and the bus (libs/contracts asyncapi.ts), beside the OpenAPI one. */
export function docsRoutes(app: ZApp): void {
  let doc: object | undefined;
  app.get('/docs/asyncapi.json', { schema: { summary: 'AsyncAPI 3.0: the Socket.IO protocol (namespace /v1) and every bus command and event', tags: ['docs'] } }, async () => {
    doc ??= asyncApiDocument();
    return doc;
  });
}
