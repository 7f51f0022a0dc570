-- Every order as the client sees it. Lines, prices and steps are JSON text:
-- they are read and written with the order as a whole, never queried.
CREATE TABLE orders (
    order_id         TEXT PRIMARY KEY,
    customer_id      TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,  -- digest of the request, for idempotent creation
    status           TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed', 'cancelled')),
    failure_reason   TEXT NOT NULL,  -- '' unless failed or cancelled
    total_cents      BIGINT,         -- NULL until inventory priced the order
    tracking_number  TEXT NOT NULL,  -- '' until completed
    cancel_requested BOOLEAN NOT NULL,
    ship_name        TEXT NOT NULL,
    ship_line1       TEXT NOT NULL,
    ship_line2       TEXT NOT NULL,
    ship_city        TEXT NOT NULL,
    ship_postal_code TEXT NOT NULL,
    ship_country     TEXT NOT NULL,
    items            TEXT NOT NULL,  -- JSON [{"sku", "quantity"}], in the request's order
    prices           TEXT,           -- JSON [{"sku", "quantity", "price_cents"}]; NULL until priced
    steps            TEXT NOT NULL,  -- JSON [{"step", "status", "at"}], at in unix microseconds
    created_at       BIGINT NOT NULL, -- unix microseconds, UTC
    updated_at       BIGINT NOT NULL  -- unix microseconds, UTC
);

-- Listing newest first, with and without a status filter, by keyset.
CREATE INDEX orders_by_created ON orders (created_at, order_id);
CREATE INDEX orders_by_status_created ON orders (status, created_at, order_id);
