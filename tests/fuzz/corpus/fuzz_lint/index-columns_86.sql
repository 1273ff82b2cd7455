CREATE TABLE t (a bigint, b bigint, c bigint, d bigint);
CREATE INDEX t_abcd ON t (a, b, c, d);
