CREATE INDEX settings_k ON settings (k);
