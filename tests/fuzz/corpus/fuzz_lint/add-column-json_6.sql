CREATE TABLE raw_events (id bigint);
ALTER TABLE raw_events ADD COLUMN body json;
