UPDATE settings SET v = 'new';
