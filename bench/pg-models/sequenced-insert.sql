\set s random(1, 100000)
BEGIN;
SELECT version FROM ev2 WHERE stream = 's' || :s ORDER BY version DESC LIMIT 1;
INSERT INTO ev2(stream, version, payload) VALUES ('s' || :s, 1 + coalesce((SELECT max(version) FROM ev2 WHERE stream = 's' || :s), 0), repeat('x', 256));
COMMIT;
