add_column users email TEXT
ALTER TABLE users ADD COLUMN email TEXT;