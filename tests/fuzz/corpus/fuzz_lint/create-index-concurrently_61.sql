CREATE TABLE "Audit" (id int);
CREATE INDEX users_a ON "Users" (a);
CREATE INDEX audit_lower ON audit (id);