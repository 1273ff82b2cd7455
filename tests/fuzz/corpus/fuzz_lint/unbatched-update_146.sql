UPDATE users SET email = lower(email);
DELETE FROM sessions WHERE expires_at < 100;
INSERT INTO archive SELECT * FROM users;