//! `cee migrate`: a sled registry copied into an empty PostgreSQL one, key for key.
//!
//! The values are the same bytes in both layouts (DESIGN.md, "PostgreSQL backend"), so the copy
//! decodes nothing: it checks the sled registry's format and secret, takes the write lock of an
//! empty PostgreSQL registry, streams every key except sled's META family with binary `COPY`,
//! carries the id counter over, and gives the registry a new epoch (an instance that had opened
//! it empty reloads) — one transaction: all of it or none.

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;

use super::{connect_config, schema};
use crate::error::Error;
use crate::identity::Keys;
use crate::store::{keys, Store};

/// What a migration copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Copied {
    /// Key/value pairs written to `cee_kv`.
    pub rows: u64,
    /// Their total size (keys + values).
    pub bytes: u64,
}

/// Opens the directory registry at `dir` (which no engine may hold open) and copies it into
/// the empty PostgreSQL registry at `conninfo` ([`copy_from_sled`]).
pub(crate) fn copy_dir(
    dir: &std::path::Path,
    conninfo: &str,
    keys: &Keys,
) -> Result<Copied, Error> {
    if !dir.join("db").is_file() {
        return Err(Error::Config(format!(
            "/db: {} is not a registry directory",
            dir.display()
        )));
    }
    let from = Store::open(&crate::store::StoreOptions {
        path: Some(dir),
        cache_capacity: 64 << 20,
    })?;
    copy_from_sled(&from, conninfo, keys)
}

/// Copies `from` (opened with the secret of `keys`) into the empty registry at `conninfo`.
pub(crate) fn copy_from_sled(from: &Store, conninfo: &str, keys: &Keys) -> Result<Copied, Error> {
    match from.get(keys::META_FORMAT)?.as_deref() {
        // Format 2's and 3's records decode under format 4 (sled's own migration moves the
        // number only); the PostgreSQL registry is created at format 4.
        Some([v]) if *v == keys::FORMAT_VERSION || *v == 2 || *v == 3 => {}
        Some([v]) => {
            return Err(Error::UnsupportedFormat {
                found: *v,
                supported: keys::FORMAT_VERSION,
            })
        }
        _ => return Err(Error::Config("/db: not a registry (no format)".into())),
    }
    if from.get(keys::META_KEYCHECK)?.as_deref() != Some(keys.key_check().as_slice()) {
        return Err(Error::WrongSecret);
    }
    let mut client = connect_config(conninfo)?.connect(postgres::NoTls)?;
    schema::ensure(&mut client, keys)?;
    let mut tx = client.transaction()?;
    // The write lock: no instance writes while the copy runs.
    let head: i64 = tx
        .query_one(
            "UPDATE cee_meta SET head = head WHERE id = 1 RETURNING head",
            &[],
        )?
        .get(0);
    let any: bool = tx
        .query_one("SELECT EXISTS (SELECT 1 FROM cee_kv)", &[])?
        .get(0);
    if head != 0 || any {
        return Err(Error::Config(
            "/postgres: the registry is not empty; migrate copies into an empty one".into(),
        ));
    }
    let mut copied = Copied { rows: 0, bytes: 0 };
    {
        let sink = tx.copy_in("COPY cee_kv (k, v) FROM STDIN (FORMAT binary)")?;
        let mut w = BinaryCopyInWriter::new(sink, &[Type::BYTEA, Type::BYTEA]);
        for kv in from.scan_prefix(&[]) {
            let (k, v) = kv?;
            if k.first() == Some(&keys::META) {
                continue;
            }
            w.write(&[&k, &v])?;
            copied.rows += 1;
            copied.bytes += (k.len() + v.len()) as u64;
        }
        w.finish()?;
    }
    // Every id sled handed out is below the next one it would hand out.
    let next_id = i64::try_from(from.generate_id()?.saturating_add(1)).unwrap_or(i64::MAX);
    tx.execute(
        "UPDATE cee_meta SET next_id = GREATEST(next_id, $1), epoch = $2 WHERE id = 1",
        &[&next_id, &schema::new_epoch()],
    )?;
    tx.commit()?;
    Ok(copied)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::postgres::testing::{connect, fresh_database};
    use crate::store::postgres::tests::{open, quiet, MapReplica};
    use crate::store::postgres::PgStore;
    use crate::store::{StoreOptions, WriteBatch};

    fn sled_registry(dir: &std::path::Path, keys: &Keys, rows: &[(&[u8], &[u8])]) -> Store {
        let store = Store::open(&StoreOptions {
            path: Some(dir),
            cache_capacity: 1 << 20,
        })
        .unwrap();
        let mut b = WriteBatch::default();
        b.insert(keys::META_FORMAT, &[keys::FORMAT_VERSION]);
        b.insert(keys::META_KEYCHECK, &keys.key_check());
        for (k, v) in rows {
            b.insert(k, v);
        }
        store.apply(b).unwrap();
        store
    }

    #[test]
    fn a_sled_registry_is_copied_key_for_key_into_an_empty_one() {
        let Some(db) = fresh_database("migrate") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let k = Keys::new(&[1; 32]);
        let rows: [(&[u8], &[u8]); 4] = [
            (b"\x01index", b""),
            (b"\x02app", b"record"),
            (b"\x06\x00\x00\x00\x00\x00\x00\x00\x07", &[6; 3000]),
            (b"\x07override", b"rec"),
        ];
        let sled = sled_registry(dir.path(), &k, &rows);
        let used = sled.generate_id().unwrap();
        // An instance that opened the empty registry before the copy reloads after it.
        let (early, early_replica) = open(&db, quiet());

        let copied = copy_from_sled(&sled, &db, &k).unwrap();
        assert_eq!(copied.rows, 4);

        let (s, r) = open(&db, quiet());
        let want: Vec<Vec<u8>> = rows.iter().map(|(k, _)| k.to_vec()).collect();
        assert_eq!(r.keys(), want, "every key but sled's META family");
        assert_eq!(
            s.get(b"\x06\x00\x00\x00\x00\x00\x00\x00\x07").unwrap(),
            Some(vec![6; 3000])
        );
        assert!(s.generate_id().unwrap() > used);
        put_through(&early);
        assert_eq!(early.rebuilds(), 1, "the new epoch made it reload");
        assert_eq!(early_replica.keys().len(), 5);

        let again = copy_from_sled(&sled, &db, &k);
        assert!(matches!(again, Err(Error::Config(m)) if m.starts_with("/postgres:")));
    }

    #[test]
    fn a_migration_checks_the_secret_and_writes_nothing_on_failure() {
        let Some(db) = fresh_database("migrate_secret") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let sled = sled_registry(dir.path(), &Keys::new(&[1; 32]), &[(b"\x02a", b"r")]);
        let other = copy_from_sled(&sled, &db, &Keys::new(&[2; 32]));
        assert!(matches!(other, Err(Error::WrongSecret)));
        // A PostgreSQL registry of another secret is refused too.
        drop(
            PgStore::open(
                &db,
                &Keys::new(&[2; 32]),
                quiet(),
                Arc::new(MapReplica::default()),
            )
            .unwrap(),
        );
        let mismatch = copy_from_sled(&sled, &db, &Keys::new(&[1; 32]));
        assert!(matches!(mismatch, Err(Error::WrongSecret)));
        let n: i64 = connect(&db)
            .query_one("SELECT count(*) FROM cee_kv", &[])
            .unwrap()
            .get(0);
        assert_eq!(n, 0);
    }

    fn put_through(s: &PgStore) {
        s.write(crate::Durability::Immediate, |_| {
            let mut cs = crate::store::postgres::ChangeSet::default();
            cs.put(b"\x02new", b"r");
            Ok(crate::store::postgres::Decision::Commit(cs, ()))
        })
        .unwrap();
    }
}
