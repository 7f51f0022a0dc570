DROP TABLE order_timeline;
