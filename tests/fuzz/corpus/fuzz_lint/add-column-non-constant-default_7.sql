add_column users seen INTEGER DEFAULT (strftime('%s', 'now'))
ALTER TABLE users ADD COLUMN created TEXT DEFAULT CURRENT_TIMESTAMP;