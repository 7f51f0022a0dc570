DROP INDEX orders_by_status_created;
DROP INDEX orders_by_created;
DROP TABLE orders;
