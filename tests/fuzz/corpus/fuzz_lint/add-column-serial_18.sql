CREATE TABLE audit (msg text);
ALTER TABLE audit ADD COLUMN id bigserial;
