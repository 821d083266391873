-- accountStatus by hand: the facts of one customer (the same subqueries on the
-- same indexes as the server's statement), then its next care date's inputs.
\set id random(1, @MAX_ID@)
SELECT c.id, c.name, c.status, c.tier, c.segment, c.purchasing_fit,
  COALESCE((SELECT r.revenue_cents FROM revenue_t12 r WHERE r.customer_id = c.id
    AND r.month = CAST(date_trunc('month', now()) AS DATE)), 0) AS revenue_t12m,
  c.owner_id, u.name, u.phone, u.active,
  (SELECT COUNT(*) FROM contact k WHERE k.customer_id = c.id AND k.archived_at IS NULL
     AND (k.ended_on IS NULL OR k.ended_on > CURRENT_DATE)) AS current_contacts,
  (SELECT string_agg(DISTINCT k.org_level, ',') FROM contact k WHERE k.customer_id = c.id AND k.archived_at IS NULL
     AND (k.ended_on IS NULL OR k.ended_on > CURRENT_DATE)) AS levels,
  (SELECT COUNT(*) FROM contact k WHERE k.customer_id = c.id AND k.archived_at IS NULL
     AND k.ended_on > CURRENT_DATE - 90 AND k.ended_on <= CURRENT_DATE
     AND (k.org_level = 'EXECUTIVE' OR k.influence >= 4 OR k.relationship_strength >= 4)) AS champions_left,
  (SELECT k.name || '|' || k.org_level || '|' || CAST(k.ended_on AS TEXT) FROM contact k
     WHERE k.customer_id = c.id AND k.archived_at IS NULL AND k.ended_on > CURRENT_DATE - 90
     AND k.ended_on <= CURRENT_DATE AND (k.org_level = 'EXECUTIVE' OR k.influence >= 4 OR k.relationship_strength >= 4)
     ORDER BY k.ended_on DESC, k.id DESC LIMIT 1) AS champion,
  (SELECT MAX(m.occurred_at) FROM communication m WHERE m.customer_id = c.id AND m.archived_at IS NULL) AS last_any,
  (SELECT MAX(m.occurred_at) FROM communication m WHERE m.customer_id = c.id AND m.channel = 'EXECUTIVE_MEETING'
     AND m.archived_at IS NULL) AS last_meeting,
  (SELECT MAX(m.occurred_at) FROM contact k JOIN communication_contact cc ON cc.contact_id = k.id
     JOIN communication m ON m.id = cc.communication_id AND m.archived_at IS NULL
     WHERE k.customer_id = c.id AND k.org_level = 'EXECUTIVE') AS last_executive,
  (SELECT COUNT(*) FROM ticket t WHERE t.customer_id = c.id AND t.archived_at IS NULL
     AND t.status IN ('OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER', 'REOPENED')) AS open_tickets,
  (SELECT COUNT(*) FROM ticket t WHERE t.customer_id = c.id AND t.archived_at IS NULL
     AND t.status IN ('OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER', 'REOPENED')
     AND (COALESCE(t.first_responded_at, now()) > t.first_response_due_at OR t.resolution_due_at < now())) AS past_sla,
  (SELECT COUNT(*) FROM ticket t WHERE t.customer_id = c.id AND t.archived_at IS NULL
     AND t.created_at >= now() - interval '90 days') AS tickets_recent,
  (SELECT COUNT(*) FROM ticket t WHERE t.customer_id = c.id AND t.archived_at IS NULL
     AND t.created_at >= now() - interval '180 days' AND t.created_at < now() - interval '90 days') AS tickets_prior,
  (SELECT COUNT(*) FROM commitment o WHERE o.customer_id = c.id AND o.fulfilled_on IS NULL AND o.archived_at IS NULL
     AND o.due_on < CURRENT_DATE) AS overdue,
  (SELECT CAST(COALESCE(SUM(o.amount_cents), 0) AS BIGINT) FROM commitment o WHERE o.customer_id = c.id
     AND o.fulfilled_on IS NULL AND o.archived_at IS NULL AND o.due_on < CURRENT_DATE) AS overdue_amount,
  (SELECT CAST(COALESCE(SUM(r.revenue_cents), 0) AS BIGINT) FROM revenue_entry r WHERE r.customer_id = c.id
     AND r.month >= CAST(date_trunc('month', now()) - interval '6 months' AS DATE)
     AND r.month < CAST(date_trunc('month', now()) AS DATE)) AS revenue_recent,
  (SELECT CAST(COALESCE(SUM(r.revenue_cents), 0) AS BIGINT) FROM revenue_entry r WHERE r.customer_id = c.id
     AND r.month >= CAST(date_trunc('month', now()) - interval '12 months' AS DATE)
     AND r.month < CAST(date_trunc('month', now()) - interval '6 months' AS DATE)) AS revenue_prior,
  (SELECT s.score FROM survey_response s WHERE s.customer_id = c.id ORDER BY s.responded_on DESC, s.id DESC LIMIT 1),
  (SELECT s.score FROM survey_response s WHERE s.customer_id = c.id ORDER BY s.responded_on DESC, s.id DESC
     LIMIT 1 OFFSET 1)
FROM customer c LEFT JOIN app_user u ON u.id = c.owner_id WHERE c.id = :id;
SELECT id, name, customer_since FROM customer WHERE id = :id AND archived_at IS NULL;
SELECT * FROM key_date WHERE customer_id = :id AND archived_at IS NULL;
SELECT * FROM contact WHERE customer_id = :id AND archived_at IS NULL AND ended_on IS NULL AND birthday IS NOT NULL;
