-- The change pipeline (docs/change-pipeline.md): the outbox every write commits its change events
-- to, the search read model the indexer keeps, and the admin API's idempotency records.

-- The transactional outbox: one row per changed product per write, committed with the write. The
-- relay publishes unpublished rows in id order; a writer holds the product's row lock when it
-- inserts, so one product's rows are numbered in commit order.
CREATE TABLE product_changes (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  product_id   bigint NOT NULL,
  version      bigint NOT NULL,
  -- The change event exactly as published (docs/change-event.schema.json).
  event        jsonb NOT NULL CHECK (jsonb_typeof(event) = 'object'),
  committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at timestamptz
);
CREATE INDEX product_changes_unpublished ON product_changes (id) WHERE published_at IS NULL;
CREATE INDEX product_changes_published ON product_changes (published_at) WHERE published_at IS NOT NULL;

-- Wakes the relay (LISTEN product_changes) once per writing statement; it polls as well, so a lost
-- notification only delays.
CREATE FUNCTION product_changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('product_changes', '');
  RETURN NULL;
END $$;
CREATE TRIGGER product_changes_notify AFTER INSERT ON product_changes
  FOR EACH STATEMENT EXECUTE FUNCTION product_changes_notify();

-- The search read model: one document per product, written by the indexer through the search port
-- (its PostgreSQL engine). `version` is the product's: a write with an older one is ignored, and an
-- archived product keeps its row (removed = true) so a late event cannot bring it back.
CREATE TABLE search_documents (
  product_id bigint PRIMARY KEY,
  version    bigint NOT NULL,
  removed    boolean NOT NULL DEFAULT false,
  document   jsonb,
  indexed_at timestamptz NOT NULL DEFAULT now(),
  CHECK (removed OR document IS NOT NULL)
);

-- Idempotency-Key on admin POSTs: the first answer, kept per token so a retry gets it again and
-- changes nothing twice. Written in the write's own transaction.
CREATE TABLE admin_idempotency_keys (
  token_name   text NOT NULL,
  key          text NOT NULL,
  request_hash text NOT NULL,
  status       integer NOT NULL,
  headers      jsonb NOT NULL DEFAULT '{}',
  body         jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (token_name, key)
);
CREATE INDEX admin_idempotency_keys_created ON admin_idempotency_keys (created_at);

-- Dead letters of the in-process feed (no KAFKA_BROKERS): the message the indexer gave up on, where
-- it came from and why. With Kafka they go to the dead-letter topic instead. `replay-dead-letters`
-- re-drives both.
CREATE TABLE change_dead_letters (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic       text NOT NULL,
  partition   integer NOT NULL,
  "offset"    text NOT NULL,
  key         text,
  value       bytea,
  error       jsonb NOT NULL,
  failed_at   timestamptz NOT NULL DEFAULT now(),
  replayed_at timestamptz
);
