// Integer query parameters must be written in decimal digits. Ajv coerces a query string with
// Number() and then checks minimum and maximum only on finite numbers, so `limit=Infinity` and
// `minPrice=1e400` passed validation as Infinity and failed in PostgreSQL (a 500); `0x10` and ` `
// passed as 16 and 0. The check runs before Ajv, only on routes whose querystring has integers.
import type { FastifyInstance, FastifyRequest, onRouteHookHandler, preValidationHookHandler } from 'fastify';
import type { HotPathContract } from './hot-path-contract.ts';

/** 20 digits stay finite after Number(), so the schema's own maximum still answers for them. */
const DECIMAL_INTEGER = /^-?[0-9]{1,20}$/;

type RouteOptions = Parameters<onRouteHookHandler>[0];

export function requireDecimalIntegers(app: FastifyInstance, hotPath: Pick<HotPathContract, 'settledByUrl'>): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const properties = (route.schema?.querystring as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties ?? {};
    const names = Object.keys(properties).filter((name) => properties[name]?.type === 'integer');
    if (names.length === 0) return;
    const check: preValidationHookHandler = (request, _reply, done) => done(firstMalformed(request, names));
    // A URL the hot path remembers passed this check when it was first answered.
    hotPath.settledByUrl(check);
    const earlier = route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation];
    route.preValidation = [...earlier, check];
  });
}

function firstMalformed(request: FastifyRequest, names: readonly string[]): Error | undefined {
  const query = request.query as Record<string, unknown>;
  for (const name of names) {
    const value = query[name];
    for (const raw of Array.isArray(value) ? value : [value]) {
      if (typeof raw === 'string' && !DECIMAL_INTEGER.test(raw)) {
        // The shape of Fastify's own validation errors, so the problem handler words it the same way.
        const message = 'must be an integer in decimal digits (at most 20)';
        return Object.assign(new Error(`querystring/${name} ${message}`), {
          statusCode: 400,
          validationContext: 'querystring',
          validation: [{ keyword: 'type', instancePath: `/${name}`, schemaPath: `#/properties/${name}/type`, params: {}, message }],
        });
      }
    }
  }
  return undefined;
}
