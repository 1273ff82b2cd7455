CREATE TABLE audit (id INTEGER, scratch TEXT);
ALTER TABLE audit DROP COLUMN scratch;