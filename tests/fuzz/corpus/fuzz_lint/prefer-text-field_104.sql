CREATE TABLE people (name varchar(100));
