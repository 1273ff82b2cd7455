CREATE TABLE "Audit" (id int, at timestamptz);
CREATE INDEX audit_id ON "Audit" (id);
CREATE TABLE IF NOT EXISTS log (at timestamptz);
CREATE INDEX log_at ON log (at);