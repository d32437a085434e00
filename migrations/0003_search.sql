-- The PostgreSQL search engine's read model (docs/search.md): search_documents gains the columns a
-- query matches, filters, sorts and counts on, all derived from the document the indexer writes (the
-- text ones by a row trigger, the others generated), so the indexer's write stays one set-based statement; a statement-level trigger keeps the vocabulary
-- (words for typo tolerance and "did you mean", brand and category names for suggestions).
CREATE EXTENSION IF NOT EXISTS unaccent;
-- levenshtein_less_equal(): a typo's spellings are the known words within an edit distance, as OpenSearch's fuzziness.
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

-- unaccent(text) is STABLE because it finds its dictionary by name at run time; with the dictionary
-- named, the result only depends on the input, which generated columns and index expressions need.
CREATE FUNCTION search_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN lower(unaccent('unaccent'::regdictionary, $1));

-- The category ids from the root down ([3, 17, 42]): "in category 17 or below" is category_ids @> '{17}',
-- and a facet of 17's children groups on category_ids[2].
CREATE FUNCTION search_category_ids(document jsonb) RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN ARRAY(SELECT (category->>'id')::integer FROM jsonb_array_elements(document->'categories') WITH ORDINALITY AS c(category, position) ORDER BY position);

-- The document's createdAt is ISO 8601 with its offset (toISOString), so the TimeZone setting that
-- makes text::timestamptz only STABLE never changes the result.
CREATE FUNCTION search_timestamp(text) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN $1::timestamptz;

-- Words folded and joined by single spaces ("Levi's Jeans" -> "levi s jeans"), as search/search-text.ts
-- splits a query.
CREATE FUNCTION search_key(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  RETURN trim(regexp_replace(search_fold($1), '[^[:alnum:]]+', ' ', 'g'));

-- The specifications a shopper can filter on: values a filter can name (at most 200 characters, as
-- catalog/search.ts MAX_ATTRIBUTE_VALUE_LENGTH). Long texts (care instructions, warranty terms) are no
-- facet, and leaving them out keeps the column small enough to count facets over thousands of matches.
CREATE FUNCTION search_filter_attributes(attributes jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (SELECT coalesce(jsonb_object_agg(a.key, a.value), '{}') FROM jsonb_each_text(coalesce(attributes, '{}')) AS a WHERE length(a.value) <= 200);

-- Every word of the document (folded, unstemmed, as the 'simple' parser splits them): what a query word
-- is checked against and re-spelt from.
CREATE FUNCTION search_document_words(document jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN tsvector_to_array(to_tsvector('simple', search_fold(concat_ws(' ', document->>'name', document#>>'{brand,name}',
    jsonb_path_query_array(document, '$.categories[*].name')::text, document->>'description'))));

-- The text columns, from the document's name, brand, category names and description. A price or stock
-- change (most of the indexer's writes) leaves them as they are: search_documents_text() recomputes
-- them only when one of those changed. As generated columns they were recomputed on every write, the
-- description parsed twice: bench/search-write-cost.ts wrote 3,012 price changes a second that way and
-- 4,087 this way, in back-to-back runs on one machine.
CREATE FUNCTION search_vector_of(document jsonb) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
  -- Name A, brand B, category names C, description D; English stemming, accents folded.
  RETURN setweight(to_tsvector('english', search_fold(coalesce(document->>'name', ''))), 'A') ||
    setweight(to_tsvector('english', search_fold(coalesce(document#>>'{brand,name}', ''))), 'B') ||
    setweight(to_tsvector('english', search_fold(coalesce(jsonb_path_query_array(document, '$.categories[*].name')::text, ''))), 'C') ||
    setweight(to_tsvector('english', search_fold(coalesce(document->>'description', ''))), 'D');

ALTER TABLE search_documents
  ADD COLUMN search_vector tsvector NOT NULL DEFAULT ''::tsvector,
  -- Unstemmed name words, for suggestions by prefix ("gal" completes "Galaxy").
  ADD COLUMN name_vector tsvector NOT NULL DEFAULT ''::tsvector,
  -- Name and brand as their words joined by one space: a query equal to the name, or naming the brand,
  -- is boosted by comparing keys.
  ADD COLUMN name_key text,
  ADD COLUMN brand_key text,
  ADD COLUMN words text[] NOT NULL DEFAULT '{}',
  ADD COLUMN category_ids integer[] GENERATED ALWAYS AS (search_category_ids(document)) STORED,
  ADD COLUMN brand_id integer GENERATED ALWAYS AS ((document#>>'{brand,id}')::integer) STORED,
  ADD COLUMN price_min bigint GENERATED ALWAYS AS ((document->>'priceMin')::bigint) STORED,
  ADD COLUMN in_stock boolean GENERATED ALWAYS AS ((document->>'inStock')::boolean) STORED,
  ADD COLUMN rating numeric GENERATED ALWAYS AS (coalesce((document->>'rating')::numeric, 0)) STORED,
  ADD COLUMN created_at timestamptz GENERATED ALWAYS AS (search_timestamp(document->>'createdAt')) STORED,
  ADD COLUMN attributes jsonb GENERATED ALWAYS AS (search_filter_attributes(document->'attributes')) STORED;

CREATE FUNCTION search_documents_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.document->'name' IS NOT DISTINCT FROM OLD.document->'name'
     AND NEW.document#>'{brand,name}' IS NOT DISTINCT FROM OLD.document#>'{brand,name}'
     AND NEW.document->'categories' IS NOT DISTINCT FROM OLD.document->'categories'
     AND NEW.document->'description' IS NOT DISTINCT FROM OLD.document->'description' THEN
    RETURN NEW;
  END IF;
  NEW.search_vector := search_vector_of(NEW.document);
  NEW.name_vector := to_tsvector('simple', search_fold(coalesce(NEW.document->>'name', '')));
  NEW.name_key := search_key(NEW.document->>'name');
  NEW.brand_key := search_key(NEW.document#>>'{brand,name}');
  NEW.words := search_document_words(NEW.document);
  RETURN NEW;
END $$;
CREATE TRIGGER search_documents_text BEFORE INSERT OR UPDATE ON search_documents
  FOR EACH ROW EXECUTE FUNCTION search_documents_text();
-- Documents indexed before this migration.
UPDATE search_documents SET search_vector = search_vector_of(document),
       name_vector = to_tsvector('simple', search_fold(coalesce(document->>'name', ''))),
       name_key = search_key(document->>'name'), brand_key = search_key(document#>>'{brand,name}'),
       words = search_document_words(document);

-- Tombstones are in no index a query uses, so they can never match. The text indexes keep a short
-- pending list (256 kB, not 4 MB): every search scans it, so a long one after a burst of writes
-- made a 1 ms match take 40 ms.
CREATE INDEX search_documents_vector ON search_documents USING gin (search_vector) WITH (gin_pending_list_limit = 256) WHERE NOT removed;
CREATE INDEX search_documents_name_vector ON search_documents USING gin (name_vector) WITH (gin_pending_list_limit = 256) WHERE NOT removed;
-- Suggestions: product names starting with what was typed.
CREATE INDEX search_documents_name_key ON search_documents (name_key text_pattern_ops) WHERE NOT removed;
CREATE INDEX search_documents_categories ON search_documents USING gin (category_ids) WHERE NOT removed;
CREATE INDEX search_documents_attributes ON search_documents USING gin (attributes jsonb_path_ops) WHERE NOT removed;
CREATE INDEX search_documents_brand ON search_documents (brand_id) WHERE NOT removed;

-- The vocabulary: each word with the number of live documents holding it. Rows whose count fell to 0
-- stay (a later document may bring the word back); readers ask for documents > 0.
CREATE TABLE search_words (
  word      text PRIMARY KEY,
  documents integer NOT NULL
);
-- Spellings within 1 or 2 edits are only looked for among words of a length within 2 of the typed one.
CREATE INDEX search_words_length ON search_words (length(word));

-- Brand and category names with their live document counts: suggestions and their order.
CREATE TABLE search_names (
  kind      text NOT NULL CHECK (kind IN ('brand', 'category')),
  slug      text NOT NULL,
  name      text NOT NULL,
  documents integer NOT NULL,
  name_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_fold(name))) STORED,
  name_key  text GENERATED ALWAYS AS (search_key(name)) STORED,
  PRIMARY KEY (kind, slug)
);
CREATE INDEX search_names_vector ON search_names USING gin (name_vector);

-- The names a document counts for: its brand and every category on its path.
CREATE FUNCTION search_document_names(document jsonb) RETURNS TABLE (kind text, slug text, name text) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT 'brand', document#>>'{brand,slug}', document#>>'{brand,name}' WHERE document#>>'{brand,slug}' IS NOT NULL
  UNION ALL
  SELECT 'category', category->>'slug', category->>'name' FROM jsonb_array_elements(coalesce(document->'categories', '[]')) AS category
$$;

-- Applies the difference between the statement's old and new rows to the vocabulary, once per
-- statement. An update that changed no word (a price, the stock) costs a join and writes nothing.
-- Rows are upserted in key order, so concurrent indexer batches never deadlock on them.
CREATE FUNCTION search_vocabulary_apply(old_rows search_documents[], new_rows search_documents[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_words AS w (word, documents)
  SELECT word, sum(delta)::integer FROM (
    SELECT unnest(r.words) AS word, 1 AS delta FROM unnest(new_rows) AS r WHERE NOT r.removed
    UNION ALL
    SELECT unnest(r.words), -1 FROM unnest(old_rows) AS r WHERE NOT r.removed
  ) AS change
  GROUP BY word HAVING sum(delta) <> 0
  ORDER BY word
  ON CONFLICT (word) DO UPDATE SET documents = w.documents + excluded.documents;

  INSERT INTO search_names AS n (kind, slug, name, documents)
  -- The name a new document carries wins; a statement that only removes keeps the name it had.
  SELECT kind, slug, coalesce(max(name) FILTER (WHERE delta > 0), max(name)), sum(delta)::integer FROM (
    SELECT names.*, 1 AS delta FROM unnest(new_rows) AS r, search_document_names(r.document) AS names WHERE NOT r.removed
    UNION ALL
    SELECT names.*, -1 FROM unnest(old_rows) AS r, search_document_names(r.document) AS names WHERE NOT r.removed
  ) AS change
  GROUP BY kind, slug HAVING sum(delta) <> 0 OR bool_or(delta > 0)
  ORDER BY kind, slug
  ON CONFLICT (kind, slug) DO UPDATE SET documents = n.documents + excluded.documents, name = excluded.name;
END $$;

CREATE FUNCTION search_documents_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM search_vocabulary_apply(ARRAY[]::search_documents[], (SELECT coalesce(array_agg(r::search_documents), '{}') FROM new_rows r));
  RETURN NULL;
END $$;
CREATE FUNCTION search_documents_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Only rows whose words or names may have changed.
  PERFORM search_vocabulary_apply(
    (SELECT coalesce(array_agg(o::search_documents), '{}') FROM old_rows o JOIN new_rows n USING (product_id)
      WHERE o.words IS DISTINCT FROM n.words OR o.removed <> n.removed OR o.brand_id IS DISTINCT FROM n.brand_id
         OR o.category_ids IS DISTINCT FROM n.category_ids OR o.document->'brand' IS DISTINCT FROM n.document->'brand'
         OR o.document->'categories' IS DISTINCT FROM n.document->'categories'),
    (SELECT coalesce(array_agg(n::search_documents), '{}') FROM old_rows o JOIN new_rows n USING (product_id)
      WHERE o.words IS DISTINCT FROM n.words OR o.removed <> n.removed OR o.brand_id IS DISTINCT FROM n.brand_id
         OR o.category_ids IS DISTINCT FROM n.category_ids OR o.document->'brand' IS DISTINCT FROM n.document->'brand'
         OR o.document->'categories' IS DISTINCT FROM n.document->'categories'));
  RETURN NULL;
END $$;
CREATE FUNCTION search_documents_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM search_vocabulary_apply((SELECT coalesce(array_agg(r::search_documents), '{}') FROM old_rows r), ARRAY[]::search_documents[]);
  RETURN NULL;
END $$;
CREATE TRIGGER search_documents_inserted AFTER INSERT ON search_documents REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_documents_inserted();
CREATE TRIGGER search_documents_updated AFTER UPDATE ON search_documents REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_documents_updated();
CREATE TRIGGER search_documents_deleted AFTER DELETE ON search_documents REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION search_documents_deleted();

-- Documents indexed before this migration: their vocabulary, as the trigger would have kept it.
INSERT INTO search_words (word, documents)
SELECT word, count(*) FROM search_documents, unnest(words) AS word WHERE NOT removed GROUP BY word;
INSERT INTO search_names (kind, slug, name, documents)
SELECT names.kind, names.slug, max(names.name), count(*) FROM search_documents, search_document_names(document) AS names
 WHERE NOT removed GROUP BY names.kind, names.slug;
