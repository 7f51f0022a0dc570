DROP TABLE order_customers;
DROP INDEX notifications_by_customer;
DROP TABLE notifications;
