ALTER SCHEMA billing RENAME TO invoicing;
ALTER TYPE mood RENAME VALUE 'sad' TO 'blue';
ALTER VIEW active_users RENAME TO current_users;
ALTER TABLE users SET SCHEMA archive;
ALTER FUNCTION audit_touch() RENAME TO audit_stamp;