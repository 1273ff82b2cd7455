CREATE INDEX users_age ON users (age);
CREATE UNIQUE INDEX users_mail ON users USING btree (lower(email)) WHERE deleted_at IS NULL;