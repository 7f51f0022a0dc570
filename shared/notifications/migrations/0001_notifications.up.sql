-- One notification per order: the message the customer got when the
-- order ended. ended_at is when the order ended, as the variant that ran
-- it recorded it (an event's occurred_at, a workflow's clock), so a
-- rebuild from events or histories writes the same row; recorded_at is
-- when this database stored it.
CREATE TABLE notifications (
    order_id        TEXT PRIMARY KEY,
    customer_id     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('completed', 'failed', 'cancelled')),
    reason          TEXT NOT NULL,           -- '' unless failed or cancelled
    tracking_number TEXT NOT NULL,           -- '' unless completed
    total_cents     BIGINT NOT NULL,         -- 0 when the order was never priced
    message         TEXT NOT NULL,
    ended_at        BIGINT NOT NULL,         -- unix microseconds, UTC
    recorded_at     BIGINT NOT NULL          -- unix microseconds, UTC
);

CREATE INDEX notifications_by_customer ON notifications (customer_id, ended_at DESC, order_id DESC);

-- Whose order an order id is, for a notifier that learns it from an
-- earlier message than the one that ends the order (the choreographed
-- variant's OrderPlaced).
CREATE TABLE order_customers (
    order_id    TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL
);
