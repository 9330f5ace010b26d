-- A batch of six appends, one 256-byte event each, to six new streams (1 x 8's mean batch is ~6).
SELECT deposed FROM cqrs_append(-1, 8192,
  ARRAY['s' || gen_random_uuid(), 's' || gen_random_uuid(), 's' || gen_random_uuid(), 's' || gen_random_uuid(),
        's' || gen_random_uuid(), 's' || gen_random_uuid()],
  array_fill(-2::bigint, ARRAY[6]), array_fill(1, ARRAY[6]),
  ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),
        gen_random_uuid()],
  array_fill('AdSubmitted'::text, ARRAY[6]), array_fill(1, ARRAY[6]), array_fill(1700000000000000::bigint, ARRAY[6]),
  ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),
        gen_random_uuid()],
  ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),
        gen_random_uuid()],
  array_fill('\x7b7d'::bytea, ARRAY[6]), array_fill(decode(repeat('78', 256), 'hex'), ARRAY[6]));
