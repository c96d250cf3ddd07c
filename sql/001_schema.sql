-- rinha worker ledger: one row per payment a processor confirmed. Applied by the worker at every
-- start, so every statement must be idempotent.
CREATE TABLE IF NOT EXISTS ledger (
  correlation_id  uuid     PRIMARY KEY,
  amount_cents    bigint   NOT NULL CHECK (amount_cents > 0),
  requested_at_ms bigint   NOT NULL,  -- the requestedAt sent to the processor, ms since epoch UTC
  processor       smallint NOT NULL CHECK (processor IN (0, 1))  -- 0 default, 1 fallback
);

-- The worker that owns the row (cluster.node; 0 on a single node): in a cluster each worker
-- restores, and each worker's summary part counts, its own rows only (docs/scale-out.md, 2).
ALTER TABLE ledger ADD COLUMN IF NOT EXISTS node smallint NOT NULL DEFAULT 0;

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
  node            smallint NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket_start_ms, processor, node)
);
-- A database made before nodes: the column, and the key with it.
ALTER TABLE ledger_buckets ADD COLUMN IF NOT EXISTS node smallint NOT NULL DEFAULT 0;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_index i
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                 WHERE i.indrelid = 'ledger_buckets'::regclass AND i.indisprimary
                   AND a.attname = 'node') THEN
    ALTER TABLE ledger_buckets DROP CONSTRAINT ledger_buckets_pkey;
    ALTER TABLE ledger_buckets ADD PRIMARY KEY (bucket_start_ms, processor, node);
  END IF;
END $$;

-- One upsert per bucket per INSERT statement (a transition table holds only the rows that
-- ON CONFLICT DO NOTHING let in, so a duplicate never counts).
CREATE OR REPLACE FUNCTION ledger_buckets_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger_buckets AS b (bucket_start_ms, processor, requests, amount_cents, node)
  SELECT n.requested_at_ms - ((n.requested_at_ms % m.bucket_ms) + m.bucket_ms) % m.bucket_ms,
         n.processor, count(*), sum(n.amount_cents), n.node
  FROM new_rows n CROSS JOIN ledger_meta m
  GROUP BY 1, 2, 5
  ON CONFLICT (bucket_start_ms, processor, node) DO UPDATE
    SET requests = b.requests + excluded.requests,
        amount_cents = b.amount_cents + excluded.amount_cents;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS ledger_buckets_add ON ledger;
CREATE TRIGGER ledger_buckets_add AFTER INSERT ON ledger REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_buckets_add();

-- Exactly-once across nodes (docs/scale-out.md, 3): in a cluster a worker claims each id here
-- before its first send; the row's key decides which node forwards it, and a worker that finds
-- another node's claim drops its copy as a duplicate. A single node never writes it.
CREATE TABLE IF NOT EXISTS payment_claims (
  correlation_id uuid     PRIMARY KEY,
  node           smallint NOT NULL
);
