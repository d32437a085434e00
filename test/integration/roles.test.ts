// The container's entry point (src/main.ts, dist/main.js in the image) against the one `npm start`
// runs (src/local-main.ts): only the latter may start a database of its own.
import { describe, expect, it } from 'vitest';
import { runToExit } from '../support/run-to-exit.ts';

// A process that started a database instead of refusing would not end by itself: runToExit kills it.
function run(entry: string, args: string[], env: Record<string, string> = {}) {
  return runToExit(entry, args, { env, drop: /^(DATABASE_|EMBEDDED_)/ });
}

describe('when the container entry point starts a role without DATABASE_URL', () => {
  for (const role of ['api', 'migrate', 'import']) {
    it(`then ${role} exits at once with a non-zero code naming DATABASE_URL, starting no database`, async () => {
      const result = await run('src/main.ts', [role]);
      expect(result.code).toBe(2);
      expect(result.output).toMatch(/DATABASE_URL is not set/);
      expect(result.output).not.toMatch(/embedded PostgreSQL/);
    });
  }
});

describe('when the relay role starts without KAFKA_BROKERS', () => {
  it('then it exits at once with 2 naming KAFKA_BROKERS: without Kafka the api process relays in process', async () => {
    const result = await run('src/main.ts', ['relay'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none' });
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/KAFKA_BROKERS is not set/);
  });
});

describe('when an entry point is given a role it does not have', () => {
  it('then it names the roles it has and exits with 2', async () => {
    const result = await run('src/main.ts', ['indexr']);
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/unknown role "indexr"; expected one of: api, migrate, import, relay, indexer, replay-dead-letters/);
  });
});

describe('when a bad setting is given', () => {
  it('then the role refuses to start with one line naming it, and no stack', async () => {
    const result = await run('src/local-main.ts', ['api'], { PORT: 'eighty' });
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/PORT="eighty"/);
    expect(result.output).not.toMatch(/\bat .*\.ts:\d+/);
  });
});

describe('when the indexer starts without what it exists for', () => {
  it('then without KAFKA_BROKERS it exits with 2 naming it (the api runs the indexer in process then)', async () => {
    const result = await run('src/main.ts', ['indexer'], { KAFKA_BROKERS: '', REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/KAFKA_BROKERS is not set/);
  });

  it('then without REDIS_URL it exits with 2 naming it: it could invalidate no cache', async () => {
    const result = await run('src/main.ts', ['indexer'], { KAFKA_BROKERS: '127.0.0.1:1', REDIS_URL: '', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/neither REDIS_URL nor REDIS_SENTINELS is set/);
  });
});
