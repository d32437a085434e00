-- The catalog's source of truth: a category tree, brands, products and their variants.
CREATE EXTENSION IF NOT EXISTS ltree;

CREATE TABLE categories (
  id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  parent_id integer REFERENCES categories (id),
  slug      text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  name      text NOT NULL CHECK (name <> ''),
  -- Ids from the root down ('3.17.42'): "this category and its descendants" is one `<@` on a GiST index.
  path      ltree NOT NULL UNIQUE
);
CREATE UNIQUE INDEX categories_parent_name ON categories (coalesce(parent_id, 0), name);
CREATE INDEX categories_path ON categories USING gist (path);

CREATE FUNCTION categories_set_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.parent_id IS DISTINCT FROM OLD.parent_id THEN
    RAISE EXCEPTION 'moving a category is not supported' USING ERRCODE = 'feature_not_supported';
  END IF;
  IF NEW.parent_id IS NULL THEN
    NEW.path := text2ltree(NEW.id::text);
  ELSE
    SELECT path || text2ltree(NEW.id::text) INTO STRICT NEW.path FROM categories WHERE id = NEW.parent_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER categories_set_path BEFORE INSERT OR UPDATE ON categories
  FOR EACH ROW EXECUTE FUNCTION categories_set_path();

CREATE TABLE brands (
  id   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  name text NOT NULL UNIQUE CHECK (name <> '')
);

CREATE TABLE products (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The upstream system's id (PIM, import file): what makes an import idempotent.
  external_id   text NOT NULL UNIQUE,
  slug          text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  name          text NOT NULL CHECK (name <> ''),
  description   text,
  brand_id      integer REFERENCES brands (id),
  category_id   integer NOT NULL REFERENCES categories (id),
  category_path ltree NOT NULL,
  attributes    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
  images        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(images) = 'array'),
  rating        numeric(2, 1) CHECK (rating BETWEEN 0 AND 5),
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'draft', 'archived')),
  -- The offer summarised from the variants, kept by a trigger, so a listing reads one table.
  price_min     bigint,
  price_max     bigint,
  currency      char(3),
  in_stock      boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  -- Increases on every change to the product or its variants: orders change events and cache fills.
  version       bigint NOT NULL DEFAULT 1
);

CREATE FUNCTION products_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.category_id IS DISTINCT FROM OLD.category_id THEN
    SELECT path INTO STRICT NEW.category_path FROM categories WHERE id = NEW.category_id;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW IS DISTINCT FROM OLD THEN
    NEW.updated_at := now();
    IF NEW.version = OLD.version THEN
      NEW.version := OLD.version + 1;
    END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER products_before_write BEFORE INSERT OR UPDATE ON products
  FOR EACH ROW EXECUTE FUNCTION products_before_write();

CREATE TABLE variants (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  product_id       bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  sku              text NOT NULL UNIQUE CHECK (sku <> ''),
  options          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
  -- Money in minor units (paise, cents) with its ISO 4217 currency: never floating point.
  price_minor      bigint NOT NULL CHECK (price_minor >= 0),
  compare_at_minor bigint CHECK (compare_at_minor >= 0),
  currency         char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  stock            integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
  position         integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX variants_product ON variants (product_id, position, id);

-- Statement-level, over transition tables: a bulk import of 20,000 variants refreshes each
-- product once, not once per row. Bumps the product's version on any variant change.
CREATE FUNCTION products_refresh_offer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE products p
     SET price_min = o.price_min, price_max = o.price_max, currency = o.currency,
         in_stock = coalesce(o.in_stock, false), version = p.version + 1
    FROM (SELECT DISTINCT product_id FROM changed_variants) c
    LEFT JOIN LATERAL (
      SELECT min(v.price_minor) AS price_min, max(v.price_minor) AS price_max,
             min(v.currency) AS currency, bool_or(v.stock > 0) AS in_stock
        FROM variants v WHERE v.product_id = c.product_id
    ) o ON true
   WHERE p.id = c.product_id;
  RETURN NULL;
END $$;
CREATE TRIGGER variants_inserted AFTER INSERT ON variants REFERENCING NEW TABLE AS changed_variants
  FOR EACH STATEMENT EXECUTE FUNCTION products_refresh_offer();
CREATE TRIGGER variants_updated AFTER UPDATE ON variants REFERENCING NEW TABLE AS changed_variants
  FOR EACH STATEMENT EXECUTE FUNCTION products_refresh_offer();
CREATE TRIGGER variants_deleted AFTER DELETE ON variants REFERENCING OLD TABLE AS changed_variants
  FOR EACH STATEMENT EXECUTE FUNCTION products_refresh_offer();

CREATE FUNCTION variants_keep_product() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.product_id <> OLD.product_id THEN
    RAISE EXCEPTION 'a variant cannot move to another product' USING ERRCODE = 'feature_not_supported';
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER variants_keep_product BEFORE UPDATE ON variants
  FOR EACH ROW EXECUTE FUNCTION variants_keep_product();

-- Listing indexes: only active, priced products are listed. Each sort key is paired with id, the
-- tie-breaker of the keyset cursor; a btree serves both directions. Chosen with EXPLAIN ANALYZE
-- (docs/listing-queries.md).
CREATE INDEX products_listed_price  ON products (price_min, id)  WHERE status = 'active' AND price_min IS NOT NULL;
CREATE INDEX products_listed_newest ON products (created_at, id) WHERE status = 'active' AND price_min IS NOT NULL;
CREATE INDEX products_listed_name   ON products (name, id)       WHERE status = 'active' AND price_min IS NOT NULL;
CREATE INDEX products_listed_rating ON products ((coalesce(rating, 0)), id) WHERE status = 'active' AND price_min IS NOT NULL;
CREATE INDEX products_category_path ON products USING gist (category_path);
CREATE INDEX products_brand ON products (brand_id, price_min, id);
