CLUSTER users USING users_pkey;
VACUUM (FULL, ANALYZE) users;