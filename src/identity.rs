//! Pseudonyms (SPEC §3): identifiers are never stored in clear, only as 16-byte keyed BLAKE3
//! hashes under a key derived from the host's secret.

use std::fmt;

use crate::fields::{DrivingLicense, IdentityKey, LastNameTrunc, PhoneTrunc};

/// Context strings for `blake3::derive_key`: changing one changes every derived value.
const CTX_PSEUDONYM: &str = "cee-eligibility 2026-11-23 identity pseudonyms v1";
const CTX_KEY_CHECK: &str = "cee-eligibility 2026-11-23 secret key check v1";
const CTX_SEAL: &str = "cee-eligibility 2026-11-23 journey driver sealing v1";
const CTX_TOKEN: &str = "cee-eligibility 2026-11-23 ed25519 token seed v1";
const CTX_UUID: &str = "cee-eligibility 2026-11-23 imported uuid mask v1";

/// Which identifier a pseudonym stands for (the first byte of an index key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum IdKind {
    /// (`phone_trunc`, `last_name_trunc`).
    NamePhone = 1,
    /// `driving_license`.
    License = 2,
    /// `identity_key`.
    IdentityKey = 3,
}

impl IdKind {
    pub(crate) fn from_u8(b: u8) -> Option<Self> {
        match b {
            1 => Some(IdKind::NamePhone),
            2 => Some(IdKind::License),
            3 => Some(IdKind::IdentityKey),
            _ => None,
        }
    }
}

/// A 16-byte pseudonym of one identifier.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Pseudonym(pub [u8; 16]);

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonym(..)")
    }
}

/// Derives every secret-keyed value. The secret itself is not kept.
pub(crate) struct Keys {
    pseudonym: [u8; 32],
    seal: [u8; 32],
    key_check: [u8; 32],
    token_seed: [u8; 32],
    uuid: [u8; 32],
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys(<secret>)")
    }
}

impl Keys {
    pub(crate) fn new(secret: &[u8; 32]) -> Self {
        Keys {
            pseudonym: blake3::derive_key(CTX_PSEUDONYM, secret),
            seal: blake3::derive_key(CTX_SEAL, secret),
            key_check: blake3::derive_key(CTX_KEY_CHECK, secret),
            token_seed: blake3::derive_key(CTX_TOKEN, secret),
            uuid: blake3::derive_key(CTX_UUID, secret),
        }
    }

    /// 128 secret-keyed bits for `instant` (the low 48 bits of an import segment's
    /// `created_at`): the store hides `(row, segment id)` in imported uuids under them.
    pub(crate) fn uuid_mask(&self, instant: u64) -> u128 {
        let h = blake3::keyed_hash(&self.uuid, &instant.to_be_bytes());
        let mut b = [0u8; 16];
        b.copy_from_slice(&h.as_bytes()[..16]);
        u128::from_le_bytes(b)
    }

    /// The value stored in the database to recognise the secret (never the secret).
    pub(crate) fn key_check(&self) -> [u8; 32] {
        self.key_check
    }

    /// Seed of the default Ed25519 token key.
    pub(crate) fn token_seed(&self) -> [u8; 32] {
        self.token_seed
    }

    /// Hashes `kind` tag + length-prefixed fields: unambiguous for any field contents.
    ///
    /// The message is laid out in a stack buffer and hashed in one call (`blake3::keyed_hash`
    /// on one chunk never builds a streaming `Hasher`, whose 1.9 KB state dominated the cost
    /// of a check); longer messages, which valid fields never produce, stream. Both give the
    /// same bytes to BLAKE3, hence the same pseudonym.
    fn hash(&self, kind: IdKind, fields: &[&[u8]]) -> Pseudonym {
        let mut buf = [0u8; 256];
        let out = match message(&mut buf, kind, fields) {
            Some(n) => blake3::keyed_hash(&self.pseudonym, &buf[..n]),
            None => {
                let mut h = blake3::Hasher::new_keyed(&self.pseudonym);
                h.update(&[kind as u8]);
                for f in fields {
                    h.update(&field_len(f).to_le_bytes());
                    h.update(f);
                }
                h.finalize()
            }
        };
        let mut p = [0u8; 16];
        p.copy_from_slice(&out.as_bytes()[..16]);
        Pseudonym(p)
    }

    pub(crate) fn name_phone(&self, phone: &PhoneTrunc, name: &LastNameTrunc) -> Pseudonym {
        self.hash(
            IdKind::NamePhone,
            &[phone.as_str().as_bytes(), name.as_str().as_bytes()],
        )
    }

    pub(crate) fn license(&self, dl: &DrivingLicense) -> Pseudonym {
        self.hash(IdKind::License, &[dl.as_str().as_bytes()])
    }

    pub(crate) fn identity_key(&self, ik: &IdentityKey) -> Pseudonym {
        self.hash(IdKind::IdentityKey, &[ik.as_str().as_bytes()])
    }

    /// Encrypts (or decrypts: XOR is its own inverse) a small value under a keystream unique
    /// to `nonce`. Used for a journey driver's `phone_trunc`, which register needs back to
    /// compute the (phone, name) pseudonym. Each nonce (a journey's unique id) seals one value.
    pub(crate) fn seal(&self, nonce: u64, data: &[u8]) -> Vec<u8> {
        let mut h = blake3::Hasher::new_keyed(&self.seal);
        h.update(&nonce.to_le_bytes());
        let mut stream = vec![0u8; data.len()];
        h.finalize_xof().fill(&mut stream);
        stream.iter().zip(data).map(|(k, d)| k ^ d).collect()
    }
}

/// A field's length prefix. Fields are at most a few hundred bytes; u32 cannot overflow.
fn field_len(f: &[u8]) -> u32 {
    u32::try_from(f.len()).unwrap_or(u32::MAX)
}

/// Writes `kind` + length-prefixed `fields` into `buf`; `None` when they do not fit.
fn message(buf: &mut [u8], kind: IdKind, fields: &[&[u8]]) -> Option<usize> {
    let (first, mut rest) = buf.split_first_mut()?;
    *first = kind as u8;
    let mut n = 1;
    for f in fields {
        let (len, tail) = rest.split_at_mut_checked(4)?;
        len.copy_from_slice(&field_len(f).to_le_bytes());
        let (body, tail) = tail.split_at_mut_checked(f.len())?;
        body.copy_from_slice(f);
        rest = tail;
        n += 4 + f.len();
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_depend_on_secret_kind_and_fields() -> Result<(), crate::FieldError> {
        let a = Keys::new(&[1; 32]);
        let b = Keys::new(&[2; 32]);
        let phone: PhoneTrunc = "+336273488".parse()?;
        let name: LastNameTrunc = "ABC".parse()?;
        assert_ne!(a.name_phone(&phone, &name), b.name_phone(&phone, &name));
        assert_eq!(a.name_phone(&phone, &name), a.name_phone(&phone, &name));
        let other: LastNameTrunc = "ABD".parse()?;
        assert_ne!(a.name_phone(&phone, &name), a.name_phone(&phone, &other));
        let dl: DrivingLicense = "ABC".parse()?;
        assert_ne!(a.license(&dl).0, a.name_phone(&phone, &name).0);
        Ok(())
    }

    /// The stack-buffer path and the streaming path hash the same message: a pseudonym never
    /// depends on which one ran (a field-length change would otherwise silently re-key).
    #[test]
    fn one_shot_and_streaming_hashes_agree_at_every_length() {
        let k = Keys::new(&[9; 32]);
        let stream = |kind: IdKind, fields: &[&[u8]]| {
            let mut h = blake3::Hasher::new_keyed(&k.pseudonym);
            h.update(&[kind as u8]);
            for f in fields {
                h.update(&(f.len() as u32).to_le_bytes());
                h.update(f);
            }
            let mut p = [0u8; 16];
            p.copy_from_slice(&h.finalize().as_bytes()[..16]);
            Pseudonym(p)
        };
        let data: Vec<u8> = (0..700u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut buffered = 0;
        for a in (0..300).step_by(7) {
            for b in [0, 1, 3, 120, 251, 400] {
                let fields: [&[u8]; 2] = [&data[..a], &data[a..a + b]];
                let mut buf = [0u8; 256];
                buffered += usize::from(message(&mut buf, IdKind::NamePhone, &fields).is_some());
                assert_eq!(
                    k.hash(IdKind::NamePhone, &fields),
                    stream(IdKind::NamePhone, &fields)
                );
            }
        }
        // Both paths ran.
        assert!(buffered > 0 && buffered < 43 * 6, "{buffered}");
        // Exactly full and one byte over.
        let mut buf = [0u8; 256];
        assert_eq!(
            message(&mut buf, IdKind::License, &[&data[..251]]),
            Some(256)
        );
        assert_eq!(message(&mut buf, IdKind::License, &[&data[..252]]), None);
    }

    #[test]
    fn seal_round_trips_and_hides() {
        let k = Keys::new(&[7; 32]);
        let sealed = k.seal(42, b"+336273488");
        assert_ne!(sealed, b"+336273488");
        assert_eq!(k.seal(42, &sealed), b"+336273488");
        assert_ne!(k.seal(43, b"+336273488"), sealed);
    }
}
