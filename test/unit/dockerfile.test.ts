// The Dockerfile cannot be built here (no Docker daemon): it is read, and what it names is checked
// against the repository: the files it copies (there, and not kept out of the build context by
// .dockerignore), the health check's script, the entry point and PID 1, and the roles' one image.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROLES } from '../../src/main.ts';

const root = new URL('../../', import.meta.url);
const text = readFileSync(new URL('Dockerfile', root), 'utf8');
/** Instructions with continuation lines joined and comments dropped, split into stages. */
const stages = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
  .reduce<string[][]>((all, line) => (line.startsWith('FROM ') ? [...all, [line]] : (all.at(-1)!.push(line), all)), []);
const final = stages.at(-1)!;
const instruction = (name: string) => final.find((line) => line.startsWith(`${name} `))?.slice(name.length + 1);
const ignored = readFileSync(new URL('.dockerignore', root), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

/** Whether .dockerignore keeps `path` out of the build context (its patterns as used here: names, globs, no negations). */
function excluded(path: string): boolean {
  return ignored.some((pattern) => {
    const matcher = new RegExp(`^${pattern.replace(/[.+^${}()|[\]]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);
    return matcher.test(path);
  });
}

describe('when the Dockerfile is read', () => {
  it('then every file it copies from the build context exists and is not kept out by .dockerignore', () => {
    const sources = stages.flat().filter((line) => line.startsWith('COPY ') && !line.includes('--from=')).flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(sources).toContain('src');
    for (const source of sources) {
      expect(existsSync(new URL(source, root)), source).toBe(true);
      expect(excluded(source), `${source} is in .dockerignore`).toBe(false);
    }
    expect(ignored.some((pattern) => pattern.startsWith('!'))).toBe(false);
  });

  it('then .dockerignore keeps out dependencies, local data, history, tests, benchmarks and secrets', () => {
    for (const path of ['node_modules', '.data/postgres', '.git', 'test/unit', 'bench/listings.ts', 'dist', '.env', '.env.local', 'npm-debug.log', '.scratch']) {
      expect(excluded(path), path).toBe(true);
    }
  });

  it('then the health check runs a script compiled into the image from src/, with a timeout', () => {
    const healthcheck = instruction('HEALTHCHECK')!;
    expect(healthcheck).toMatch(/--timeout=\d+s/);
    const [, command] = /CMD (\[.*\])$/.exec(healthcheck)!;
    const [program, script] = JSON.parse(command!) as string[];
    expect(program).toBe('node');
    // tsconfig.build.json compiles src/ to dist/: dist/x.js comes from src/x.ts.
    expect(script).toMatch(/^dist\/.+\.js$/);
    expect(existsSync(new URL(script!.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'), root))).toBe(true);
    expect(final).toContain('COPY --from=build /app/dist ./dist');
  });

  it('then tini is PID 1 and runs the compiled entry point, whose default role exists', () => {
    expect(final.some((line) => /^RUN apt-get update && apt-get install -y --no-install-recommends tini\b/.test(line))).toBe(true);
    const entrypoint = JSON.parse(instruction('ENTRYPOINT')!) as string[];
    expect(entrypoint).toEqual(['tini', '--', 'node', 'dist/main.js']);
    expect(existsSync(new URL('src/main.ts', root))).toBe(true);
    const [role] = JSON.parse(instruction('CMD')!) as string[];
    expect(Object.keys(ROLES)).toContain(role);
  });

  it('then the image runs as an unprivileged user, listening on every address of the container', () => {
    expect(instruction('USER')).toBe('node');
    expect(instruction('ENV')).toMatch(/\bHOST=0\.0\.0\.0\b/);
  });
});
