add_constraint users email_ok CHECK (NOT (email IS NULL) OR id < 0)
ALTER TABLE users ALTER COLUMN email SET NOT NULL;