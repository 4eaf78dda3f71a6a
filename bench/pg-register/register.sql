-- One registration as SPEC §11.5's write protocol does it (../shared/notes/postgres-registry.md):
-- the cluster-wide head-row lock, the three identifier look-ups as later statements, then the
-- record, its three index rows and the change-log row; committed with synchronous_commit = on.
\set p random(1, 2000000000)
BEGIN;
UPDATE meta SET head = head + 1 WHERE id = 1 RETURNING head;
SELECT datetime, operator, uuid FROM entry WHERE pseudonym = decode(md5('n' || :p), 'hex') AND journey_type = 1 AND datetime >= 0 ORDER BY datetime DESC LIMIT 1;
SELECT datetime, operator, uuid FROM entry WHERE pseudonym = decode(md5('l' || :p), 'hex') AND journey_type = 1 AND datetime >= 0 ORDER BY datetime DESC LIMIT 1;
SELECT datetime, operator, uuid FROM entry WHERE pseudonym = decode(md5('k' || :p), 'hex') AND journey_type = 1 AND datetime >= 0 ORDER BY datetime DESC LIMIT 1;
INSERT INTO app (uuid, record) VALUES (decode(md5('u' || :p), 'hex'), decode(repeat(md5('r' || :p), 8), 'hex'));
INSERT INTO entry VALUES (decode(md5('n' || :p), 'hex'), 1, 1717200000000, decode(md5('u' || :p), 'hex'), 1, 2),
                         (decode(md5('l' || :p), 'hex'), 1, 1717200000000, decode(md5('u' || :p), 'hex'), 1, 2),
                         (decode(md5('k' || :p), 'hex'), 1, 1717200000000, decode(md5('u' || :p), 'hex'), 1, 2);
INSERT INTO change (seq, delta) SELECT head, decode(repeat(md5('d' || :p), 8), 'hex') FROM meta WHERE id = 1;
COMMIT;
