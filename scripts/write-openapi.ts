// npm run openapi: rewrites openapi.yaml from the route schemas, and asyncapi.yaml from the change event's.
import { writeFile } from 'node:fs/promises';
import { renderOpenApiDocument } from '../src/api/openapi-document.ts';
import { renderAsyncApiDocument } from '../src/events/asyncapi-document.ts';

for (const [file, render] of [
  ['openapi.yaml', renderOpenApiDocument],
  ['asyncapi.yaml', renderAsyncApiDocument],
] as const) {
  const target = new URL(`../${file}`, import.meta.url);
  await writeFile(target, await render());
  console.log(`wrote ${target.pathname}`);
}
