CREATE TABLE codes (c char(4));
