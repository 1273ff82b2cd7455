CREATE TABLE audit (id INTEGER PRIMARY KEY, at TEXT);
CREATE TRIGGER audit_at AFTER INSERT ON audit BEGIN
  UPDATE audit SET at = datetime('now') WHERE id = NEW.id;
END;
