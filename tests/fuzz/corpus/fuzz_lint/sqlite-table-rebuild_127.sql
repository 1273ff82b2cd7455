add_column users full_name TEXT
UPDATE users SET full_name = name WHERE id > :lo AND id <= :hi;
