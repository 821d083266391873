-- The custom-field filter benchmark's book: 10 teams, a leader and 100 reps,
-- 100,000 customers, and two customer fields with a value on every customer:
-- `contract_level` (ENUM: GOLD on 1 in 20, SILVER on 1 in 4, the rest BRONZE)
-- and `credit_limit` (MONEY, spread from 0 to 99,999.00).
\set ON_ERROR_STOP on
BEGIN;
\ir ../staff.sql
INSERT INTO customer (id, created_at, updated_at, name, industry, region, status, owner_id, tier,
                      strategic_importance, customer_since, version)
SELECT i, now() - (i % 1000) * interval '1 day', now(),
       'Customer ' || substr(md5(i::text), 1, 10),
       (ARRAY['Retail','Manufacturing','Food','Logistics','Health'])[1 + i % 5],
       (ARRAY['North','South','East','West'])[1 + i % 4],
       CASE WHEN i % 20 < 16 THEN 'ACTIVE' WHEN i % 20 < 19 THEN 'LOST' ELSE 'PROSPECT' END,
       2 + i % 100, (ARRAY['PRICE','SERVICE','STRATEGIC'])[1 + i % 3], 'MEDIUM', date '2015-01-01' + (i % 3000), 1
FROM generate_series(1, 100000) i;
SELECT setval(pg_get_serial_sequence('customer', 'id'), 100000);
SELECT setval(pg_get_serial_sequence('app_user', 'id'), 101);
SELECT setval(pg_get_serial_sequence('team', 'id'), 10);
INSERT INTO custom_field (id, created_at, updated_at, entity, key, label, field_type, options, required, sensitive,
                          identifier, version)
VALUES (1, now(), now(), 'CUSTOMER', 'contract_level', 'Contract level', 'ENUM', '["GOLD","SILVER","BRONZE"]',
        false, false, false, 1),
       (2, now(), now(), 'CUSTOMER', 'credit_limit', 'Credit limit', 'MONEY', NULL, false, false, false, 1);
SELECT setval(pg_get_serial_sequence('custom_field', 'id'), 2);
INSERT INTO custom_value (created_at, updated_at, field_id, entity, row_id, text_value)
SELECT now(), now(), 1, 'CUSTOMER', i,
       CASE WHEN hashint4(i) % 20 = 0 THEN 'GOLD' WHEN hashint4(i) % 4 = 0 THEN 'SILVER' ELSE 'BRONZE' END
FROM generate_series(1, 100000) i;
INSERT INTO custom_value (created_at, updated_at, field_id, entity, row_id, int_value)
SELECT now(), now(), 2, 'CUSTOMER', i, (abs(hashint4(i + 7)) % 10000000)::bigint
FROM generate_series(1, 100000) i;
COMMIT;
