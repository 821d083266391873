-- The benchmarks' staff: 10 teams, a sales leader (leader@perf.example) and 100 reps, 10 per team.
INSERT INTO team (id, created_at, updated_at, name)
SELECT t, now(), now(), 'Team ' || t FROM generate_series(1, 10) t;

INSERT INTO app_user (id, created_at, updated_at, email, name, role, team_id, active, scopes, version)
VALUES (1, now(), now(), 'leader@perf.example', 'Lena Leader', 'LEADER', NULL, true, '', 1);
INSERT INTO app_user (id, created_at, updated_at, email, name, role, team_id, active, scopes, version)
SELECT 1 + r, now(), now(), 'rep' || r || '@perf.example', 'Rep ' || r, 'REP', 1 + (r - 1) / 10, true, '', 1
FROM generate_series(1, 100) r;
