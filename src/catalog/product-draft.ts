// What an upstream feed says about one product, checked and normalised, before it is written.
export interface VariantDraft {
  sku: string;
  options: Record<string, string>;
  priceMinor: number;
  compareAtMinor: number | null;
  currency: string;
  stock: number;
}

export interface ProductDraft {
  externalId: string;
  slug: string;
  name: string;
  description: string | null;
  brand: string | null;
  /** Category names from the root down; empty means uncategorised. */
  categoryPath: string[];
  attributes: Record<string, string>;
  images: string[];
  rating: number | null;
  status: 'active' | 'draft';
  createdAt: Date | null;
  variants: VariantDraft[];
}

/** A feed row that was not imported, and why. */
export interface RowProblem {
  file: string;
  line: number;
  reason: string;
}

export const UNCATEGORISED = 'Uncategorised';
