-- Databases of the Compose stack, created when the PostgreSQL volume is new
-- (docker-entrypoint-initdb.d runs only then). One database per service of
-- each variant, named <variant>_<role> as `ordersaga run -postgres-url` lays
-- them out, plus Temporal's persistence and visibility databases (the
-- temporal service runs with SKIP_DB_CREATE=true and sets up their schemas).
-- The services' tables are created by the migrate services.

CREATE DATABASE orchestrated_orders;
CREATE DATABASE orchestrated_inventory;
CREATE DATABASE orchestrated_payment;
CREATE DATABASE orchestrated_shipping;
CREATE DATABASE orchestrated_notifications;

CREATE DATABASE choreographed_orders;
CREATE DATABASE choreographed_inventory;
CREATE DATABASE choreographed_payment;
CREATE DATABASE choreographed_shipping;
CREATE DATABASE choreographed_notifications;

CREATE DATABASE temporal;
CREATE DATABASE temporal_visibility;
