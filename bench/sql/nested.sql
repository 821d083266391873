-- The nested list by hand: a page of 50 active customers by name with their
-- owner, the count, then per customer of the page (@PAGE@, its IDs) the
-- contacts, the 5 latest communications and the open tickets.
SELECT c.id, c.name, c.status, c.tier, u.id AS owner_id, u.name AS owner_name
FROM customer c JOIN app_user u ON u.id = c.owner_id
WHERE c.status = 'ACTIVE' AND c.archived_at IS NULL
ORDER BY lower(c.name), c.id LIMIT 51;
SELECT count(*) FROM customer WHERE status = 'ACTIVE' AND archived_at IS NULL;
SELECT p.id, x.* FROM unnest(ARRAY[@PAGE@]::bigint[]) AS p(id) CROSS JOIN LATERAL (
  SELECT id, name, title, org_level, email, phone FROM contact
  WHERE customer_id = p.id AND archived_at IS NULL ORDER BY lower(name), id LIMIT 20) x;
SELECT p.id, x.* FROM unnest(ARRAY[@PAGE@]::bigint[]) AS p(id) CROSS JOIN LATERAL (
  SELECT id, channel, direction, occurred_at, summary FROM communication
  WHERE customer_id = p.id AND archived_at IS NULL ORDER BY occurred_at DESC, id DESC LIMIT 5) x;
SELECT p.id, x.* FROM unnest(ARRAY[@PAGE@]::bigint[]) AS p(id) CROSS JOIN LATERAL (
  SELECT id, title, priority, status, created_at FROM ticket
  WHERE customer_id = p.id AND archived_at IS NULL
    AND status IN ('OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER', 'REOPENED')
  ORDER BY created_at, id LIMIT 10) x;
