// npm run openapi: rewrites openapi.yaml from the route schemas.
import { writeFile } from 'node:fs/promises';
import { renderOpenApiDocument } from '../src/api/openapi-document.ts';

const target = new URL('../openapi.yaml', import.meta.url);
await writeFile(target, await renderOpenApiDocument());
console.log(`wrote ${target.pathname}`);
