add_constraint users age_ok CHECK (age >= 0)
