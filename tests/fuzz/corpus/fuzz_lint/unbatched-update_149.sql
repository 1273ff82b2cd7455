CREATE TABLE settings (k TEXT PRIMARY KEY, v TEXT);
INSERT INTO settings (k, v) VALUES ('mode', 'new');
UPDATE settings SET v = 'old' WHERE k = 'mode';