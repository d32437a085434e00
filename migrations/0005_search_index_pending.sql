-- Products whose OpenSearch write failed while the PostgreSQL read model took it: the indexer keeps
-- invalidating caches through an OpenSearch outage, and re-drives these from their current rows once
-- OpenSearch answers again (search/opensearch-copy.ts). Empty when OpenSearch is not configured.
CREATE TABLE search_index_pending (
  product_id bigint PRIMARY KEY,
  since      timestamptz NOT NULL DEFAULT now(),
  -- Bumped on every new failure, so a re-drive that read the row before it never deletes it.
  marked_at  timestamptz NOT NULL DEFAULT now(),
  attempts   integer NOT NULL DEFAULT 1,
  last_error text
);
