CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
-- a comment; with a semicolon
INSERT INTO notes (id, body) VALUES (1, 'a; b'); /* and; here */
