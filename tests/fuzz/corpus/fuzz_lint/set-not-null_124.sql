add_constraint users email_nn CHECK (email IS NOT NULL)
ALTER TABLE users ALTER COLUMN email SET NOT NULL;