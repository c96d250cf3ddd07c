-- rinha worker ledger: one row per payment a processor confirmed. Applied by the worker at every
-- start, so every statement must be idempotent.
CREATE TABLE IF NOT EXISTS ledger (
  correlation_id  uuid     PRIMARY KEY,
  amount_cents    bigint   NOT NULL CHECK (amount_cents > 0),
  requested_at_ms bigint   NOT NULL,  -- the requestedAt sent to the processor, ms since epoch UTC
  processor       smallint NOT NULL CHECK (processor IN (0, 1))  -- 0 default, 1 fallback
);

-- Summary edges inside old buckets and the restart's recent rows are range queries on this.
CREATE INDEX IF NOT EXISTS ledger_requested_at ON ledger (requested_at_ms);

-- Exact totals per processor per bucket of requested_at_ms, kept by the trigger below for every
-- row actually inserted, so a restart loads these instead of every row. bucket_ms is the
-- worker's ledger.bucket_ms; when it changes, the worker rebuilds the buckets from the rows.
CREATE TABLE IF NOT EXISTS ledger_meta (
  one       boolean PRIMARY KEY DEFAULT true CHECK (one),
  bucket_ms bigint  NOT NULL CHECK (bucket_ms > 0)
);
CREATE TABLE IF NOT EXISTS ledger_buckets (
  bucket_start_ms bigint   NOT NULL,
  processor       smallint NOT NULL,
  requests        bigint   NOT NULL,
  amount_cents    bigint   NOT NULL,
  PRIMARY KEY (bucket_start_ms, processor)
);

-- One upsert per bucket per INSERT statement (a transition table holds only the rows that
-- ON CONFLICT DO NOTHING let in, so a duplicate never counts).
CREATE OR REPLACE FUNCTION ledger_buckets_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger_buckets AS b (bucket_start_ms, processor, requests, amount_cents)
  SELECT n.requested_at_ms - ((n.requested_at_ms % m.bucket_ms) + m.bucket_ms) % m.bucket_ms,
         n.processor, count(*), sum(n.amount_cents)
  FROM new_rows n CROSS JOIN ledger_meta m
  GROUP BY 1, 2
  ON CONFLICT (bucket_start_ms, processor) DO UPDATE
    SET requests = b.requests + excluded.requests,
        amount_cents = b.amount_cents + excluded.amount_cents;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS ledger_buckets_add ON ledger;
CREATE TRIGGER ledger_buckets_add AFTER INSERT ON ledger REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_buckets_add();
