// Validation for write bodies, stricter than the read routes' (which coerce query strings): a value of
// the wrong type is refused, not converted ("12" is not a price), an unknown field is refused, not
// dropped (a misspelt `prcie` would otherwise change nothing and answer 200), and every problem is
// reported, not the first, each naming its field. The problem handler turns the issues into the
// problem's `errors` list.
import type { FastifySchemaCompiler } from 'fastify';
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';

/** An issue as Fastify hands it to the problem handler: a field path and a reason. */
interface Issue {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: Record<string, unknown>;
  message: string;
}

export function createStrictValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const ajv = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: false });
  addFormats.default(ajv);
  return ({ schema }) => {
    const validate = ajv.compile(schema as object);
    return (data: unknown) => {
      if (!validate(data)) return { error: readableIssues(validate.errors ?? []) as unknown as Error };
      const nul = nulCharacters(data, '');
      return nul.length > 0 ? { error: nul as unknown as Error } : true;
    };
  };
}

/**
 * Ajv's issues, each naming one field: an unknown property is named itself (not its parent), and the
 * alternatives of a union (an id or a slug; a price or null) become one issue listing what would do.
 */
export function readableIssues(errors: readonly ErrorObject[]): Issue[] {
  const unions = errors.filter((error) => error.keyword === 'anyOf' || error.keyword === 'oneOf');
  const inUnion = (error: ErrorObject) => unions.some((union) => union !== error && error.schemaPath.startsWith(`${union.schemaPath}/`));
  const issues: Issue[] = [];
  for (const error of errors) {
    if (inUnion(error)) continue;
    const issue: Issue = { keyword: error.keyword, instancePath: error.instancePath, schemaPath: error.schemaPath, params: error.params, message: error.message ?? 'is invalid' };
    if (error.keyword === 'additionalProperties') {
      issue.instancePath = `${error.instancePath}/${String(error.params.additionalProperty)}`;
      issue.params = {};
      issue.message = 'is not a known field';
    } else if (error.keyword === 'required') {
      issue.message = 'is required';
    } else if (unions.includes(error)) {
      const alternatives = errors.filter((other) => other.schemaPath.startsWith(`${error.schemaPath}/`) && other.instancePath === error.instancePath);
      issue.message = [...new Set(alternatives.map((other) => other.message ?? 'is invalid'))].join(', or ') || issue.message;
    }
    issues.push(issue);
  }
  return issues;
}

/** PostgreSQL text and jsonb cannot hold U+0000: refused here as the field's problem, not there as a 500. */
function nulCharacters(value: unknown, path: string): Issue[] {
  const issue = (at: string): Issue => ({ keyword: 'nul', instancePath: at, schemaPath: '#', params: {}, message: 'must not contain the character U+0000' });
  if (typeof value === 'string') return value.includes('\u0000') ? [issue(path)] : [];
  if (value === null || typeof value !== 'object') return [];
  const issues: Issue[] = [];
  for (const [key, item] of Object.entries(value)) {
    const at = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (key.includes('\u0000')) issues.push(issue(at));
    issues.push(...nulCharacters(item, at));
  }
  return issues;
}
