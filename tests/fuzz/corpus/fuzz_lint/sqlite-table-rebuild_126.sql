CREATE TABLE users_new (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO users_new SELECT id, name FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;