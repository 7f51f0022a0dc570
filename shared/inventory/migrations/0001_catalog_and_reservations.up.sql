-- Products with their price and stock. On-hand stock is available + reserved.
CREATE TABLE products (
    sku         TEXT PRIMARY KEY,
    name        TEXT NOT NULL CHECK (name <> ''),
    price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
    available   BIGINT NOT NULL CHECK (available >= 0),
    reserved    BIGINT NOT NULL CHECK (reserved >= 0)
);

-- One record per order: the outcome of its reservation, its release or its
-- commit. A tombstone is a release that found nothing to undo.
CREATE TABLE reservations (
    order_id    TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('reserved', 'rejected', 'released', 'committed')),
    total_cents BIGINT NOT NULL CHECK (total_cents >= 0),
    tombstone   BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL, -- unix microseconds, UTC
    updated_at  BIGINT NOT NULL, -- unix microseconds, UTC
    CHECK (status = 'released' OR NOT tombstone)
);

-- The priced lines of a reservation.
CREATE TABLE reservation_items (
    order_id    TEXT NOT NULL REFERENCES reservations (order_id),
    line        BIGINT NOT NULL CHECK (line >= 0), -- position in the order
    sku         TEXT NOT NULL REFERENCES products (sku),
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
    PRIMARY KEY (order_id, sku),
    UNIQUE (order_id, line)
);
