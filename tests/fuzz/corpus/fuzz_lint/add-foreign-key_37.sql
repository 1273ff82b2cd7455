CREATE TABLE payments (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));
ALTER TABLE payments ADD FOREIGN KEY (id) REFERENCES ledger (id);
