-- The same page by hand: the leader's first 50 active GOLD customers by name, and their count.
SELECT c.id, c.name FROM customer c
WHERE c.archived_at IS NULL AND c.status = 'ACTIVE'
  AND EXISTS (SELECT 1 FROM custom_value v WHERE v.field_id = 1 AND v.row_id = c.id AND v.text_value = 'GOLD')
ORDER BY lower(c.name), c.id LIMIT 51;
SELECT count(*) FROM customer c
WHERE c.archived_at IS NULL AND c.status = 'ACTIVE'
  AND EXISTS (SELECT 1 FROM custom_value v WHERE v.field_id = 1 AND v.row_id = c.id AND v.text_value = 'GOLD');
