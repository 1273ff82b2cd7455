add_primary_key events events_pkey id
add_foreign_key orders orders_user_fk (user_id) REFERENCES users (id)
ALTER TABLE users ALTER COLUMN age TYPE BIGINT;
ALTER TABLE users ADD CONSTRAINT age_ok CHECK (age >= 0);