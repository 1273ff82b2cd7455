CREATE TABLE scratch (id INTEGER);
DROP TABLE scratch;
