CREATE TABLE lines (price numeric(10,2), qty int);
ALTER TABLE lines ADD COLUMN total numeric(10,2) GENERATED ALWAYS AS (price * qty) STORED;
