-- One record per order: its shipment, the refusal to ship it, or the
-- cancellation. A tombstone is a cancel that found nothing to undo. A
-- cancelled shipment keeps its tracking number, for audit.
CREATE TABLE shipments (
    order_id        TEXT PRIMARY KEY,
    country         TEXT NOT NULL,           -- '' for a tombstone
    tracking_number TEXT UNIQUE,             -- NULL unless a shipment was created
    status          TEXT NOT NULL CHECK (status IN ('created', 'rejected', 'cancelled')),
    tombstone       BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL,         -- unix microseconds, UTC
    updated_at      BIGINT NOT NULL,         -- unix microseconds, UTC
    CHECK (status = 'cancelled' OR NOT tombstone),
    CHECK ((tracking_number IS NULL) = (status = 'rejected' OR tombstone))
);
