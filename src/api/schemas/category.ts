import Type from 'typebox';

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

export const CategoryTree = Type.Object({ categories: Type.Array(Type.Ref('CategoryNode')) });
