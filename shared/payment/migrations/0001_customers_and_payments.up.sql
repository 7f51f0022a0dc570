-- Customer accounts with the credit they can still spend.
CREATE TABLE customers (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL CHECK (name <> ''),
    credit_cents BIGINT NOT NULL CHECK (credit_cents >= 0)
);

-- One record per order: the outcome of its charge or its refund. A
-- tombstone is a refund that found nothing to give back.
CREATE TABLE payments (
    order_id     TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL, -- empty for a tombstone; may name an unknown customer when declined
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    status       TEXT NOT NULL CHECK (status IN ('charged', 'declined', 'refunded')),
    tombstone    BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL, -- unix microseconds, UTC
    updated_at   BIGINT NOT NULL, -- unix microseconds, UTC
    CHECK (status = 'refunded' OR NOT tombstone)
);
