CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);
