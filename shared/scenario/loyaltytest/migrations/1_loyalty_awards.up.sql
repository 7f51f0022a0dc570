CREATE TABLE loyalty_awards (
    order_id    TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    points      BIGINT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL
);
