add_column users email TEXT
CREATE TABLE audit (id INTEGER);