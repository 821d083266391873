-- relationshipGraph(depth: 2) by hand: the rows of the same two rings, the
-- outer ring's customers' contacts, and the page's rows, one statement each.
-- It leaves out one statement the server runs: who met the contacts of the
-- outer ring (the edges among it), which planned by hand from a subquery
-- took 150 ms where the server's bound id list takes 30 to 45.
\set id random(1, @MAX_ID@)
-- Ring 1: the root's contacts, owner, parent and children, links.
SELECT id, customer_id, org_level, started_on, ended_on FROM contact WHERE customer_id = :id AND archived_at IS NULL;
SELECT id, owner_id, parent_id FROM customer WHERE archived_at IS NULL
  AND (id = :id OR parent_id = :id OR id IN (SELECT parent_id FROM customer WHERE id = :id));
SELECT from_customer_id, to_customer_id, kind, created_at FROM customer_link
  WHERE archived_at IS NULL AND (from_customer_id = :id OR to_customer_id = :id);
-- Ring 2: who met ring 1's contacts (and whom the owner met), the owner's other customers.
SELECT x.user_id, x.contact_id, COUNT(*), MAX(x.occurred_at) FROM (
  SELECT m.id, m.user_id, cc.contact_id, m.occurred_at FROM communication_contact cc
    JOIN communication m ON m.id = cc.communication_id AND m.archived_at IS NULL
    WHERE cc.contact_id IN (SELECT id FROM contact WHERE customer_id = :id AND archived_at IS NULL)
  UNION
  SELECT m.id, m.user_id, cc.contact_id, m.occurred_at FROM communication m
    JOIN communication_contact cc ON cc.communication_id = m.id
    WHERE m.archived_at IS NULL AND m.user_id = (SELECT owner_id FROM customer WHERE id = :id)) x
  GROUP BY x.user_id, x.contact_id;
SELECT id, owner_id, parent_id FROM customer WHERE archived_at IS NULL
  AND owner_id IN (SELECT owner_id FROM customer WHERE id = :id);
-- Edges among ring 2: the owned customers' contacts.
SELECT id, customer_id, org_level FROM contact WHERE archived_at IS NULL
  AND customer_id IN (SELECT id FROM customer WHERE owner_id = (SELECT owner_id FROM customer WHERE id = :id));
-- The page's rows.
SELECT * FROM customer WHERE owner_id = (SELECT owner_id FROM customer WHERE id = :id) AND archived_at IS NULL;
SELECT * FROM contact WHERE customer_id = :id AND archived_at IS NULL;
SELECT * FROM app_user WHERE id IN (SELECT DISTINCT m.user_id FROM communication m
  JOIN communication_contact cc ON cc.communication_id = m.id
  WHERE cc.contact_id IN (SELECT id FROM contact WHERE customer_id = :id));
