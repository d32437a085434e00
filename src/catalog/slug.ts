// URL slugs for products, categories and brands: lowercase ASCII words joined by hyphens.
const MAX_WORDS_LENGTH = 60;

export const SLUG_PATTERN = '^[a-z0-9]+(?:-[a-z0-9]+)*$';

export function slugify(text: string, maxLength = MAX_WORDS_LENGTH): string {
  const words = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/['’]/g, '')
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  let slug = '';
  for (const word of words) {
    const next = slug ? `${slug}-${word}` : word;
    if (next.length > maxLength) break;
    slug = next;
  }
  return slug || (words[0]?.slice(0, maxLength) ?? '');
}

/**
 * A product's, category's or brand's slug from its name. An all-digit slug would read as an id in
 * `/products/{idOrSlug}`, `?brand=` and `?category=`, so it gets the kind appended; a name with no
 * letters or digits gets the kind alone.
 */
export function entitySlug(name: string, kind: 'product' | 'brand' | 'category', maxLength = MAX_WORDS_LENGTH): string {
  const slug = slugify(name, maxLength) || kind;
  return /^[0-9]+$/.test(slug) ? `${slug}-${kind}` : slug;
}

/** `base`, or the first of base-2, base-3, ... not in `taken`. */
export function uniqueSlug(base: string, taken: ReadonlySet<string>): string {
  let slug = base;
  for (let n = 2; taken.has(slug); n += 1) slug = `${base}-${n}`;
  return slug;
}
