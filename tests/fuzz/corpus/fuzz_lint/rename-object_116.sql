ALTER INDEX users_a RENAME TO users_age_idx;
ALTER TABLE users RENAME CONSTRAINT age_ok TO users_age_ok;
ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh';
