-- The same page by hand: the leader's first 50 active customers by credit limit, largest first, customers without
-- one last.
SELECT c.id, c.name FROM customer c
LEFT JOIN custom_value v ON v.field_id = 2 AND v.row_id = c.id
WHERE c.archived_at IS NULL AND c.status = 'ACTIVE'
ORDER BY v.row_id IS NULL, v.int_value DESC, c.id DESC LIMIT 51;
