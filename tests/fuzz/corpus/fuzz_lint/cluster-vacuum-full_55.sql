VACUUM users;
VACUUM FULL settings;
