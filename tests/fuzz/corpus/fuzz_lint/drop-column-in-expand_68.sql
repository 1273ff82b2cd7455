ALTER TABLE users ADD COLUMN nickname text,
  DROP COLUMN legacy;