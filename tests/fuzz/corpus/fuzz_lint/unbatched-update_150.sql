UPDATE settings SET v = 'new';
INSERT INTO settings_copy SELECT * FROM settings;