DROP TABLE loyalty_awards;
