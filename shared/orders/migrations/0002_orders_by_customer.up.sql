-- A customer's own orders, newest first, by keyset (GET /v1/orders with a
-- customer's credential).
CREATE INDEX orders_by_customer_created ON orders (customer_id, created_at, order_id);
