-- changes(first: 100) by hand: the page of the feed, then its rows, one statement per table.
\set p random(0, @MAX_POSITION@ - 100)
SELECT * FROM change_log WHERE position > :p ORDER BY position LIMIT 101;
SELECT * FROM customer WHERE id IN (SELECT entity_id FROM change_log
  WHERE position > :p AND position <= :p + 100 AND entity_type = 'CUSTOMER');
SELECT * FROM contact WHERE id IN (SELECT entity_id FROM change_log
  WHERE position > :p AND position <= :p + 100 AND entity_type = 'CONTACT');
SELECT * FROM communication WHERE id IN (SELECT entity_id FROM change_log
  WHERE position > :p AND position <= :p + 100 AND entity_type = 'COMMUNICATION');
SELECT * FROM ticket WHERE id IN (SELECT entity_id FROM change_log
  WHERE position > :p AND position <= :p + 100 AND entity_type = 'TICKET');
