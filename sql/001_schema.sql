-- rinha worker ledger: one row per payment a processor confirmed. Applied by the worker at every
-- start, so every statement must be idempotent.
CREATE TABLE IF NOT EXISTS ledger (
  correlation_id  uuid     PRIMARY KEY,
  amount_cents    bigint   NOT NULL CHECK (amount_cents > 0),
  requested_at_ms bigint   NOT NULL,  -- the requestedAt sent to the processor, ms since epoch UTC
  processor       smallint NOT NULL CHECK (processor IN (0, 1))  -- 0 default, 1 fallback
);
