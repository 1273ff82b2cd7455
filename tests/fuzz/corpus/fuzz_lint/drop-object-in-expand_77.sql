DROP VIEW active_users;
DROP TRIGGER users_touch;