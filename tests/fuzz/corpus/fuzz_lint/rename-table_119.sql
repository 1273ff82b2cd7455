CREATE TABLE audit_tmp (id INTEGER);
ALTER TABLE audit_tmp RENAME TO audit;
