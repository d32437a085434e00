// The category tree a storefront navigates, with how many listed products each branch holds.
import Type, { type Static } from 'typebox';

/** Registered once with `app.addSchema`, so the tree can refer to itself and OpenAPI shows it as a component. */
export const CategoryNode = Type.Object(
  {
    id: Type.Integer(),
    slug: Type.String(),
    name: Type.String(),
    productCount: Type.Integer({ minimum: 0, description: 'Listed products in this category and its descendants' }),
    children: Type.Array(Type.Ref('CategoryNode')),
  },
  { $id: 'CategoryNode' },
);
/** The context resolves the schema's reference to itself, so the type is recursive too. */
type TreeSchemas = { CategoryNode: typeof CategoryNode };
export type CategoryNode = Static<typeof CategoryNode, TreeSchemas>;

export const CategoryTree = Type.Object({ categories: Type.Array(Type.Ref('CategoryNode')) });
export type CategoryTree = Static<typeof CategoryTree, TreeSchemas>;

export interface CategoryRow {
  id: number;
  parentId: number | null;
  slug: string;
  name: string;
  /** Listed products whose own category is this one. */
  ownProducts: number;
}

/**
 * Rows in any order to a tree sorted by name, with counts rolled up from the leaves. A branch without
 * a listed product is left out: a shopper would only find an empty listing there. Such a category is
 * not deleted (a re-import may empty it, drafts may fill it later, old links and change events name
 * it): its listing still answers, and it is shown again once it holds a listed product.
 */
export function buildCategoryTree(rows: readonly CategoryRow[]): CategoryNode[] {
  const nodes = new Map<number, CategoryNode>(
    rows.map((row) => [row.id, { id: row.id, slug: row.slug, name: row.name, productCount: 0, children: [] }]),
  );
  const roots: CategoryNode[] = [];
  for (const row of rows) {
    const node = nodes.get(row.id) as CategoryNode;
    const parent = row.parentId === null ? undefined : nodes.get(row.parentId);
    (parent ? parent.children : roots).push(node);
  }
  const parents = new Map(rows.map((row) => [row.id, row.parentId]));
  for (const row of rows) {
    for (let id: number | null | undefined = row.id; id != null; id = parents.get(id)) {
      (nodes.get(id) as CategoryNode).productCount += row.ownProducts;
    }
  }
  const shown = (list: CategoryNode[]): CategoryNode[] => {
    const kept = list.filter((node) => node.productCount > 0).sort((a, b) => a.name.localeCompare(b.name));
    for (const node of kept) node.children = shown(node.children);
    return kept;
  };
  return shown(roots);
}
