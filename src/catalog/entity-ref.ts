// Products, categories and brands are addressed by a numeric id or by a slug. Ids are bigints well
// inside 2^53, so at most 15 digits; a longer digit string can only be a slug.
import { SLUG_PATTERN } from './slug.ts';

const ID = /^\d{1,15}$/;

/** The pattern of a path or query parameter naming an entity: up to `maxDigits` digits, or a slug. */
export const entityRefPattern = (maxDigits: number) => `^(?:\\d{1,${maxDigits}}|${SLUG_PATTERN.slice(1, -1)})$`;

export function isIdRef(ref: string): boolean {
  return ID.test(ref);
}

/** One spelling per entity: `007` and `7` name the same id, so they share a cache key and a tag. */
export function canonicalRef(ref: string): string {
  return isIdRef(ref) ? String(Number(ref)) : ref;
}
