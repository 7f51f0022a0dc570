DROP TABLE payments;
DROP TABLE customers;
