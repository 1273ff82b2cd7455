add_column users token UUID DEFAULT gen_random_uuid()
