// The V8 heap bound is part of the memory budget (docs/memory.md): `npm start` and the image must
// apply the same one, and the memory benchmark measures with it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
const heapBound = (text: string) => /--max-old-space-size=(\d+)/.exec(text)?.[1];

describe('when the service is started by npm start or by the container image', () => {
  it('then V8 old space has the same bound in both, the one the memory budget names', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start ?? '';
    const image = /^ENV .*NODE_OPTIONS=(\S+)/m.exec(read('Dockerfile'))?.[1] ?? '';
    expect(heapBound(start)).toBeDefined();
    expect(heapBound(image)).toBe(heapBound(start));
    expect(read('docs/memory.md')).toContain(`--max-old-space-size=${heapBound(start)}`);
  });

  it('then a NODE_OPTIONS of your own still reaches npm start, after the default so that it wins', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start ?? '';
    expect(start.indexOf('--max-old-space-size')).toBeLessThan(start.indexOf('${NODE_OPTIONS'));
  });
});
