change_type users age age_big BIGINT
add_constraint users age_ok CHECK (age >= 0)
add_unique users users_email_key email
set_not_null users email
