-- What the order service saw of each order: every event it published about
-- the order and every event of another service it consumed, one row per
-- event, written in the transaction that published or handled it. GET
-- /v1/orders/{order_id}/timeline reads it; rows are read in seq order.
CREATE TABLE order_timeline (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    TEXT   NOT NULL,
    event_id    TEXT   NOT NULL UNIQUE, -- an event is recorded once
    event_type  TEXT   NOT NULL,
    producer    TEXT   NOT NULL,        -- the service that published it
    direction   TEXT   NOT NULL CHECK (direction IN ('published', 'consumed')),
    occurred_at BIGINT NOT NULL,        -- Unix microseconds, from the envelope
    handled_at  BIGINT NOT NULL,        -- Unix microseconds: when the order service consumed it (occurred_at when it published it)
    outcome     TEXT   NOT NULL         -- a refusal's or failure's reason, a compensation's outcome; '' otherwise
);
CREATE INDEX order_timeline_by_order ON order_timeline (order_id, seq);
