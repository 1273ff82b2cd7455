CREATE TABLE audit (id bigint);
ALTER TABLE audit ADD COLUMN msg text NOT NULL;
