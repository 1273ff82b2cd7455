CREATE TABLE visits (at timestamp);
