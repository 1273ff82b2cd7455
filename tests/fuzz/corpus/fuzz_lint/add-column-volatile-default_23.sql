add_column users seen_at timestamptz DEFAULT now()
add_column users tier text DEFAULT 'free'
add_column users since date DEFAULT CURRENT_DATE