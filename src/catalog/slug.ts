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
