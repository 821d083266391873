-- The benchmark dataset: 10 teams, a sales leader and 100 reps, 10,000
-- customers, 50,000 contacts, 500,000 communications and 100,000 tickets,
-- times the psql variable `scale` (1 unless given: `psql -v scale=10`).
-- Children are inserted round-robin over the customers, so the rows of one
-- customer are scattered over the table as they are after years of use.
\set ON_ERROR_STOP on
\if :{?scale}
\else
\set scale 1
\endif
\set customers (10000 * :scale)
BEGIN;
\ir staff.sql

INSERT INTO customer (id, created_at, updated_at, name, industry, region, status, owner_id, tier,
                      strategic_importance, customer_since, version)
SELECT i,
       now() - (i % 1000) * interval '1 day', now(),
       (ARRAY['Acme','Borealis','Cobalt','Dunmore','Elbe','Fjord','Granite','Harbor','Iris','Juniper',
              'Kestrel','Lumen','Meridian','Nordic','Orion','Pioneer','Quarry','Riverside','Summit','Tidewater'])
         [1 + (hashint4(i) & 1023) % 20] || ' ' || substr(md5(i::text), 1, 8),
       (ARRAY['Retail','Manufacturing','Food','Logistics','Health'])[1 + i % 5],
       (ARRAY['North','South','East','West'])[1 + i % 4],
       CASE WHEN i % 20 < 16 THEN 'ACTIVE' WHEN i % 20 < 19 THEN 'LOST' ELSE 'PROSPECT' END,
       2 + i % 100,
       (ARRAY['PRICE','SERVICE','STRATEGIC'])[1 + i % 3],
       'MEDIUM',
       date '2015-01-01' + (i % 3000),
       1
FROM generate_series(1, :customers) i;

INSERT INTO contact (id, created_at, updated_at, customer_id, name, title, department, org_level, email, phone, version)
SELECT i, now(), now(), 1 + i % :customers,
       (ARRAY['Anna','Ben','Chloe','David','Eva','Felix','Greta','Hugo','Ines','Jonas'])[1 + (hashint4(i) & 1023) % 10]
         || ' ' || (ARRAY['Berg','Costa','Dahl','Ek','Fischer','Gil','Holm','Ivers','Jansen','Klein'])[1 + (hashint4(i + 7) & 1023) % 10],
       (ARRAY['CEO','Head of Purchasing','Buyer','Plant Engineer','Store Manager'])[1 + i % 5],
       (ARRAY['Board','Purchasing','Purchasing','Engineering','Operations'])[1 + i % 5],
       (ARRAY['EXECUTIVE','MANAGEMENT','PURCHASING','TECHNICAL','END_USER'])[1 + i % 5],
       'contact' || i || '@customer.example',
       '+49 30 ' || lpad((i % 1000000)::text, 7, '0'),
       1
FROM generate_series(1, 5 * :customers) i;

INSERT INTO communication (id, created_at, updated_at, customer_id, user_id, channel, direction, occurred_at, summary)
SELECT i, now(), now(), 1 + i % :customers, 2 + (1 + i % :customers) % 100,
       (ARRAY['VISIT','CALL','EMAIL','MEETING','EXECUTIVE_MEETING','EVENT','MESSAGE'])[1 + i % 7],
       CASE WHEN i % 3 = 0 THEN 'INBOUND' ELSE 'OUTBOUND' END,
       timestamptz '2026-11-01' - ((hashint4(i) & 2147483647) % (3 * 365 * 86400)) * interval '1 second',
       'Discussed the next order, delivery windows and the open price question (note ' || i || ').'
FROM generate_series(1, 50 * :customers) i;

INSERT INTO ticket (id, created_at, updated_at, customer_id, contact_id, assignee_id, title, description, category,
                    priority, status, first_response_due_at, resolution_due_at, version)
SELECT i, t.created, t.created, 1 + i % :customers, NULL, 2 + (1 + i % :customers) % 100,
       'Late delivery of order ' || i,
       'The customer reports that the delivery of order ' || i || ' arrived two days late.',
       (ARRAY['QUALITY','DELIVERY','PACKAGING','QUANTITY','PRICE','SERVICE'])[1 + i % 6],
       (ARRAY['LOW','MEDIUM','HIGH','URGENT'])[1 + i % 4],
       CASE WHEN i % 10 = 0 THEN 'OPEN' WHEN i % 10 = 1 THEN 'IN_PROGRESS' ELSE 'CLOSED' END,
       t.created + interval '1 day', t.created + interval '5 days', 1
FROM generate_series(1, 10 * :customers) i,
     LATERAL (SELECT timestamptz '2026-11-01' - ((hashint4(i + 3) & 2147483647) % (2 * 365 * 86400)) * interval '1 second' AS created) t;

-- Every communication has one participant, a contact of its customer.
INSERT INTO communication_contact (communication_id, contact_id)
SELECT i, (i % :customers) + :customers * (1 + i % 4) FROM generate_series(1, 50 * :customers) i;

-- The change feed as the writes above would have left it: one CREATED per row, in id order per table.
INSERT INTO change_log (position, entity_type, entity_id, operation, customer_id, occurred_at)
SELECT row_number() OVER (ORDER BY o, id), kind, id, 'CREATED', customer_id, now()
FROM (SELECT 1 AS o, 'CUSTOMER' AS kind, id, id AS customer_id FROM customer
      UNION ALL SELECT 2, 'CONTACT', id, customer_id FROM contact
      UNION ALL SELECT 3, 'COMMUNICATION', id, customer_id FROM communication
      UNION ALL SELECT 4, 'TICKET', id, customer_id FROM ticket) rows;
UPDATE change_clock SET position = (SELECT max(position) FROM change_log);

SELECT setval(pg_get_serial_sequence('team', 'id'), 100);
SELECT setval(pg_get_serial_sequence('app_user', 'id'), 1000);
SELECT setval(pg_get_serial_sequence('customer', 'id'), 10 * :customers);
SELECT setval(pg_get_serial_sequence('contact', 'id'), 100 * :customers);
SELECT setval(pg_get_serial_sequence('communication', 'id'), 1000 * :customers);
SELECT setval(pg_get_serial_sequence('ticket', 'id'), 100 * :customers);
COMMIT;
