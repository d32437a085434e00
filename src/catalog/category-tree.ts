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

/** Rows in any order to a tree sorted by name, with counts rolled up from the leaves. */
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
  const sort = (list: CategoryNode[]): CategoryNode[] => {
    list.sort((a, b) => a.name.localeCompare(b.name));
    list.forEach((node) => sort(node.children));
    return list;
  };
  return sort(roots);
}
