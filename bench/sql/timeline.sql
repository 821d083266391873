-- An account's timeline by hand: the first 20 entries of a random customer,
-- newest first, from every table that records one (what `customer.timeline`
-- answers for the leader, who sees every customer).
\set id random(1, @MAX_ID@)
SELECT u.t, u.rank, u.id, u.summary FROM (
  SELECT CAST(EXTRACT(EPOCH FROM x.occurred_at) * 1000000 AS BIGINT) AS t, 0 AS rank, x.id,
         x.channel || ' ' || x.direction || ': ' || x.summary AS summary
    FROM communication x WHERE x.customer_id = :id AND x.archived_at IS NULL
  UNION ALL
  SELECT CAST(EXTRACT(EPOCH FROM e.created_at) * 1000000 AS BIGINT), 1, e.id,
         e.kind || COALESCE(' ' || e.from_value || ' -> ' || e.to_value, '') || ': ' || x.title
    FROM ticket_event e JOIN ticket x ON x.id = e.ticket_id WHERE x.customer_id = :id AND x.archived_at IS NULL
  UNION ALL
  SELECT CAST(EXTRACT(EPOCH FROM x.created_at) * 1000000 AS BIGINT), 2, x.id, 'Promised (' || x.kind || '): ' || x.description
    FROM commitment x WHERE x.customer_id = :id AND x.archived_at IS NULL
  UNION ALL
  SELECT CAST(EXTRACT(EPOCH FROM CAST(x.fulfilled_on AS TIMESTAMP)) * 1000000 AS BIGINT), 3, x.id,
         'Kept (' || x.kind || '): ' || x.description
    FROM commitment x WHERE x.customer_id = :id AND x.archived_at IS NULL AND x.fulfilled_on IS NOT NULL
  UNION ALL
  SELECT CAST(EXTRACT(EPOCH FROM CAST(x.occurred_on AS TIMESTAMP)) * 1000000 AS BIGINT), 4, x.id,
         x.kind || COALESCE(' (' || x.reason || ')', '') || COALESCE(' to ' || x.competitor, '')
    FROM churn_event x WHERE x.customer_id = :id
  UNION ALL
  SELECT CAST(EXTRACT(EPOCH FROM x.created_at) * 1000000 AS BIGINT), 5, x.id,
         'Tier ' || COALESCE(x.from_tier, 'none') || ' -> ' || x.to_tier
    FROM partnership_change x WHERE x.customer_id = :id
  UNION ALL
  SELECT CAST(EXTRACT(EPOCH FROM CAST(x.day AS TIMESTAMP)) * 1000000 AS BIGINT), 6, x.customer_id,
         'Health ' || x.level || ' (' || CAST(x.score AS TEXT) || ')'
    FROM customer_health_history x WHERE x.customer_id = :id
      AND COALESCE((SELECT p.level FROM customer_health_history p WHERE p.customer_id = x.customer_id
                    AND p.day < x.day ORDER BY p.day DESC LIMIT 1), '') <> x.level
  UNION ALL
  SELECT CAST(EXTRACT(EPOCH FROM x.created_at) * 1000000 AS BIGINT), 7, x.id, 'Task: ' || x.title
    FROM task x WHERE x.customer_id = :id
  UNION ALL
  SELECT CAST(EXTRACT(EPOCH FROM x.closed_at) * 1000000 AS BIGINT), 8, x.id, 'Done: ' || x.title
    FROM task x WHERE x.customer_id = :id AND x.status = 'DONE' AND x.closed_at IS NOT NULL
  UNION ALL
  SELECT CAST(EXTRACT(EPOCH FROM CAST(x.responded_on AS TIMESTAMP)) * 1000000 AS BIGINT), 9, x.id,
         'Satisfaction ' || CAST(x.score AS TEXT) || '/10' || COALESCE(': ' || x.comment, '')
    FROM survey_response x WHERE x.customer_id = :id
) u ORDER BY u.t DESC, u.rank DESC, u.id DESC LIMIT 21;
