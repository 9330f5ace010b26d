-- One append of one 256-byte event to a new stream, numbered if the head row is free (as adsd's
-- writer sends it, but with the arrays built on the server).
SELECT deposed FROM cqrs_append(-1, 8192, ARRAY['s' || gen_random_uuid()], ARRAY[-2]::bigint[], ARRAY[1],
                                ARRAY[gen_random_uuid()], ARRAY['AdSubmitted'], ARRAY[1],
                                ARRAY[1700000000000000]::bigint[], ARRAY[gen_random_uuid()],
                                ARRAY[gen_random_uuid()], ARRAY['\x7b7d'::bytea],
                                ARRAY[decode(repeat('78', 256), 'hex')]);
