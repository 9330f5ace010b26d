-- The arguments of append-1.sql built and returned, without the append: the baseline.
SELECT 1 FROM (SELECT ARRAY['s' || gen_random_uuid()], ARRAY[-2]::bigint[], ARRAY[1], ARRAY[gen_random_uuid()],
                      ARRAY['AdSubmitted'], ARRAY[1], ARRAY[1700000000000000]::bigint[], ARRAY[gen_random_uuid()],
                      ARRAY[gen_random_uuid()], ARRAY['\x7b7d'::bytea], ARRAY[decode(repeat('78', 256), 'hex')]) x;
