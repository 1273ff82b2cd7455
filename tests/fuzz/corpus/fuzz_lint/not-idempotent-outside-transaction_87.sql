CREATE INDEX CONCURRENTLY users_age ON users (age);
ALTER TABLE users ADD COLUMN nickname text;
INSERT INTO settings (k, v) VALUES ('mode', 'new');