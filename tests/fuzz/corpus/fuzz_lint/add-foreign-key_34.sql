ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE orders ADD FOREIGN KEY (shop_id) REFERENCES shops;
ALTER TABLE orders ADD COLUMN coupon_id bigint REFERENCES coupons (id);