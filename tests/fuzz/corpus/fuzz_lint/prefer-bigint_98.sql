CREATE TABLE counters (id int, hits smallint);
