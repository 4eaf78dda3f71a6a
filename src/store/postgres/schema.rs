//! The tables of a PostgreSQL registry, created by the first engine that opens an empty
//! database, and the checks every later open makes (format, secret).
//!
//! ```text
//! cee_meta   (one row, id = 1)  format, key_check, head, chain, epoch, next_id
//!            the cluster-wide write lock (`UPDATE … RETURNING`), the commit-ordered head
//! cee_kv     (k bytea PRIMARY KEY, v bytea)   the sled key families and values of DESIGN.md,
//!            byte for byte (pseudonyms, sealed records, packed import segments)
//! cee_change (seq bigint PRIMARY KEY, delta bytea, chain bytea)   one row per committed
//!            mutation: seq = head at commit, gap-free; delta = the change set
//! ```

use postgres::error::SqlState;
use postgres::Client;

use super::change::GENESIS;
use crate::error::Error;
use crate::identity::Keys;
use crate::store::keys;

/// Version of the registry (`cee_meta.format`): the sled layout's format number, since
/// `cee_kv` holds its key families byte for byte (format 4: application records of version 2,
/// the audit journal family; change-log deltas of version 2).
pub(crate) const FORMAT: u8 = keys::FORMAT_VERSION;

/// Earlier numbers of these tables (unreleased), whose values all still decode, so opening one
/// only moves the number to [`FORMAT`] (as sled's 2 → 3 → 4 do): 1, the first layout
/// (format-2 values, version-1 deltas), and 3 (format-3 values, before the audit journal).
const OLDER: [i16; 2] = [1, 3];

const DDL: &str = "
CREATE TABLE IF NOT EXISTS cee_meta (
    id        smallint PRIMARY KEY CHECK (id = 1),
    format    smallint NOT NULL,
    key_check bytea    NOT NULL,
    head      bigint   NOT NULL,
    chain     bytea    NOT NULL,
    epoch     bigint   NOT NULL,
    next_id   bigint   NOT NULL
);
CREATE TABLE IF NOT EXISTS cee_kv (
    k bytea PRIMARY KEY,
    v bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS cee_change (
    seq   bigint PRIMARY KEY,
    delta bytea  NOT NULL,
    chain bytea  NOT NULL
);
";

/// Creates the tables when absent, then checks format and secret.
pub(crate) fn ensure(client: &mut Client, keys: &Keys) -> Result<(), Error> {
    let mut attempts = 0;
    loop {
        match create(client, keys) {
            Ok(()) => break,
            // Two engines creating the same tables at once: one of them loses on the catalog
            // (a unique index, "type … already exists", …); the tables are there next time.
            Err(e)
                if attempts < 10
                    && matches!(
                        e.code(),
                        Some(&SqlState::UNIQUE_VIOLATION)
                            | Some(&SqlState::DUPLICATE_TABLE)
                            | Some(&SqlState::DUPLICATE_OBJECT)
                            | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
                            | Some(&SqlState::T_R_DEADLOCK_DETECTED)
                    ) =>
            {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(10 * attempts));
            }
            Err(e) => return Err(e.into()),
        }
    }
    check(client, keys)
}

fn create(client: &mut Client, keys: &Keys) -> Result<(), postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('cee_meta') IS NOT NULL", &[])?
        .get(0);
    if exists {
        return Ok(());
    }
    let mut tx = client.transaction()?;
    tx.batch_execute(DDL)?;
    let epoch = new_epoch();
    tx.execute(
        "INSERT INTO cee_meta (id, format, key_check, head, chain, epoch, next_id)
         VALUES (1, $1, $2, 0, $3, $4, 1) ON CONFLICT (id) DO NOTHING",
        &[
            &i16::from(FORMAT),
            &keys.key_check().as_slice(),
            &GENESIS.as_slice(),
            &epoch,
        ],
    )?;
    tx.commit()
}

fn check(client: &mut Client, keys: &Keys) -> Result<(), Error> {
    let row = client
        .query_opt("SELECT format, key_check FROM cee_meta WHERE id = 1", &[])?
        .ok_or_else(|| Error::Corrupt {
            record: "cee_meta".into(),
            reason: "the meta row is missing".into(),
        })?;
    let format: i16 = row.get(0);
    if format != i16::from(FORMAT) && !OLDER.contains(&format) {
        return Err(Error::UnsupportedFormat {
            found: u8::try_from(format).unwrap_or(u8::MAX),
            supported: FORMAT,
        });
    }
    let key_check: &[u8] = row.get(1);
    if key_check != keys.key_check().as_slice() {
        return Err(Error::WrongSecret);
    }
    if OLDER.contains(&format) {
        // Readers of an older number refuse the new one at their next open (they would not
        // know the audit family, nor decode version-2 deltas).
        client.execute(
            "UPDATE cee_meta SET format = $1 WHERE id = 1 AND format = $2",
            &[&i16::from(FORMAT), &format],
        )?;
    }
    Ok(())
}

/// A random epoch: a registry restored from a backup or promoted from an asynchronous standby
/// gets a new one (`PgStore::new_epoch`), telling every instance to rebuild.
pub(crate) fn new_epoch() -> i64 {
    let mut b = [0u8; 8];
    // Without an OS random source, fall back to the clock: an epoch only has to differ from
    // the previous one.
    if getrandom::fill(&mut b).is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos());
        b.copy_from_slice(&now.to_le_bytes()[..8]);
    }
    i64::from_le_bytes(b)
}
