CREATE TABLE audit (id INTEGER);
CREATE INDEX audit_id ON audit (id);