//! Signed tokens returned by a successful registration (SPEC §6).
//!
//! The signed message is `"{operator siret}/{journey_type}/{driving_license}/{datetime}"` with
//! the datetime as `YYYY-MM-DDTHH:MM:SS.sssZ`. Ed25519 by default (its key derived from the
//! engine secret unless given); RSA PKCS#1 v1.5 SHA-512 with the `rsa` feature, as the public
//! registry used. Tokens are standard base64.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, Verifier as _};

use crate::error::Error;
use crate::fields::{DrivingLicense, JourneyType, Siret, Timestamp};

/// The message a registration token signs.
///
/// ```
/// use cee_eligibility::token::message;
/// let m = message(&"89248032800012".parse()?, cee_eligibility::JourneyType::Long,
///                 &"051227308989".parse()?, "2024-06-01T10:00:00+02:00".parse()?);
/// assert_eq!(m, "89248032800012/long/051227308989/2024-06-01T08:00:00.000Z");
/// # Ok::<(), cee_eligibility::FieldError>(())
/// ```
pub fn message(siret: &Siret, jt: JourneyType, dl: &DrivingLicense, datetime: Timestamp) -> String {
    format!("{siret}/{jt}/{dl}/{datetime}")
}

/// How tokens are signed. Give it to [`Config::signer`](crate::Config::signer).
#[derive(Clone)]
pub struct Signer(SignerKind);

#[derive(Clone)]
enum SignerKind {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    #[cfg(feature = "rsa")]
    Rsa(Box<rsa::pkcs1v15::SigningKey<sha2::Sha512>>),
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            SignerKind::Ed25519(_) => f.write_str("Signer::Ed25519(<private key>)"),
            #[cfg(feature = "rsa")]
            SignerKind::Rsa(_) => f.write_str("Signer::Rsa(<private key>)"),
        }
    }
}

impl Signer {
    /// Ed25519 from a 32-byte seed (keep it secret).
    pub fn ed25519(seed: [u8; 32]) -> Self {
        Signer(SignerKind::Ed25519(Box::new(
            ed25519_dalek::SigningKey::from_bytes(&seed),
        )))
    }

    /// RSA PKCS#1 v1.5 with SHA-512, from a PKCS#8 or PKCS#1 PEM private key.
    ///
    /// # Errors
    /// When the PEM cannot be parsed.
    #[cfg(feature = "rsa")]
    pub fn rsa_pem(pem: &str) -> Result<Self, Error> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| Error::Signer(format!("cannot read RSA private key: {e}")))?;
        Ok(Signer(SignerKind::Rsa(Box::new(
            rsa::pkcs1v15::SigningKey::new(key),
        ))))
    }

    /// A signer from a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`): Ed25519, or RSA
    /// with the `rsa` feature. The key is independent of the registry secret, so it can be
    /// rotated (publish the new public key, see [`PublicKey::to_spki_pem`]).
    ///
    /// # Errors
    /// [`Error::Signer`] when the PEM is not a PKCS#8 key of a supported algorithm (the message
    /// never contains key material).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, Error> {
        use ed25519_dalek::pkcs8::DecodePrivateKey as _;
        let ed = match ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
            Ok(k) => return Ok(Signer(SignerKind::Ed25519(Box::new(k)))),
            Err(e) => e,
        };
        #[cfg(feature = "rsa")]
        {
            use rsa::pkcs8::DecodePrivateKey as _;
            if let Ok(key) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
                return Ok(Signer(SignerKind::Rsa(Box::new(
                    rsa::pkcs1v15::SigningKey::new(key),
                ))));
            }
        }
        let rsa_hint = if cfg!(feature = "rsa") {
            "Ed25519 or RSA"
        } else {
            "Ed25519 (RSA needs the `rsa` feature)"
        };
        Err(Error::Signer(format!(
            "cannot read a PKCS#8 {rsa_hint} private key: {ed}"
        )))
    }

    /// Signs `message`, returning the base64 token.
    pub(crate) fn sign(&self, message: &str) -> String {
        match &self.0 {
            SignerKind::Ed25519(k) => B64.encode(k.sign(message.as_bytes()).to_bytes()),
            #[cfg(feature = "rsa")]
            SignerKind::Rsa(k) => {
                use rsa::signature::{SignatureEncoding, Signer as _};
                B64.encode(k.sign(message.as_bytes()).to_vec())
            }
        }
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        match &self.0 {
            SignerKind::Ed25519(k) => PublicKey(PublicKind::Ed25519(k.verifying_key())),
            #[cfg(feature = "rsa")]
            SignerKind::Rsa(k) => {
                use rsa::signature::Keypair;
                PublicKey(PublicKind::Rsa(Box::new(k.verifying_key())))
            }
        }
    }
}

/// A token verification key.
#[derive(Clone, Debug)]
pub struct PublicKey(PublicKind);

#[derive(Clone, Debug)]
enum PublicKind {
    Ed25519(ed25519_dalek::VerifyingKey),
    #[cfg(feature = "rsa")]
    Rsa(Box<rsa::pkcs1v15::VerifyingKey<sha2::Sha512>>),
}

impl PublicKey {
    /// The algorithm name (`ed25519` or `rsa-pkcs1v15-sha512`).
    pub fn algorithm(&self) -> &'static str {
        match &self.0 {
            PublicKind::Ed25519(_) => "ed25519",
            #[cfg(feature = "rsa")]
            PublicKind::Rsa(_) => "rsa-pkcs1v15-sha512",
        }
    }

    /// Ed25519: the raw 32 bytes, base64. RSA: the PKCS#1 DER public key, base64.
    pub fn to_base64(&self) -> String {
        match &self.0 {
            PublicKind::Ed25519(k) => B64.encode(k.as_bytes()),
            #[cfg(feature = "rsa")]
            PublicKind::Rsa(k) => {
                use rsa::pkcs1::EncodeRsaPublicKey;
                let key: &rsa::RsaPublicKey = (**k).as_ref();
                key.to_pkcs1_der()
                    .map(|d| B64.encode(d.as_bytes()))
                    .unwrap_or_default()
            }
        }
    }

    /// The key as a SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), what a verifier
    /// (OpenSSL, PNCEE, an auditor) imports.
    ///
    /// # Errors
    /// [`Error::Signer`] if the key cannot be encoded (not expected for a valid key).
    pub fn to_spki_pem(&self) -> Result<String, Error> {
        use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
        use ed25519_dalek::pkcs8::EncodePublicKey as _;
        let pem = match &self.0 {
            PublicKind::Ed25519(k) => k.to_public_key_pem(LineEnding::LF),
            #[cfg(feature = "rsa")]
            PublicKind::Rsa(k) => {
                let key: &rsa::RsaPublicKey = (**k).as_ref();
                key.to_public_key_pem(LineEnding::LF)
            }
        };
        pem.map_err(|e| Error::Signer(format!("cannot encode the public key: {e}")))
    }

    /// Does `token` sign `message` under this key? Never panics, on any input.
    pub fn verify(&self, message: &str, token: &str) -> bool {
        let Ok(sig) = B64.decode(token) else {
            return false;
        };
        match &self.0 {
            PublicKind::Ed25519(k) => match ed25519_dalek::Signature::from_slice(&sig) {
                Ok(s) => k.verify(message.as_bytes(), &s).is_ok(),
                Err(_) => false,
            },
            #[cfg(feature = "rsa")]
            PublicKind::Rsa(k) => {
                use rsa::signature::Verifier as _;
                match rsa::pkcs1v15::Signature::try_from(sig.as_slice()) {
                    Ok(s) => k.verify(message.as_bytes(), &s).is_ok(),
                    Err(_) => false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_round_trip() {
        let s = Signer::ed25519([9; 32]);
        let t = s.sign("a/b");
        assert!(s.public_key().verify("a/b", &t));
        assert!(!s.public_key().verify("a/c", &t));
        assert!(!s.public_key().verify("a/b", "not base64!"));
        assert!(!s.public_key().verify("a/b", ""));
    }

    /// An Ed25519 PKCS#8 key (RFC 8410 §10.3's example, a test vector, never a real key).
    const ED25519_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
-----END PRIVATE KEY-----
";

    #[test]
    fn pkcs8_pem_and_spki() -> Result<(), Error> {
        let s = Signer::from_pkcs8_pem(ED25519_PKCS8)?;
        let pk = s.public_key();
        assert_eq!(pk.algorithm(), "ed25519");
        let t = s.sign("a/b");
        assert!(pk.verify("a/b", &t));
        // RFC 8410 §10.1: the matching public key.
        assert_eq!(
            pk.to_spki_pem()?,
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"
        );
        assert!(matches!(
            Signer::from_pkcs8_pem("not a key"),
            Err(Error::Signer(_))
        ));
        Ok(())
    }
}

#[cfg(all(test, feature = "rsa"))]
mod rsa_tests {
    use super::*;

    #[test]
    fn rsa_round_trip() -> Result<(), Error> {
        // A test-only key, committed on purpose: never use it for anything else.
        let pem = include_str!("../tests/fixtures/test-rsa-2048.pem");
        let s = Signer::rsa_pem(pem)?;
        let t = s.sign("89248032800012/long/1A/2024-06-01T00:00:00.000Z");
        let pk = s.public_key();
        assert_eq!(pk.algorithm(), "rsa-pkcs1v15-sha512");
        assert!(pk.verify("89248032800012/long/1A/2024-06-01T00:00:00.000Z", &t));
        assert!(!pk.verify("89248032800012/long/1B/2024-06-01T00:00:00.000Z", &t));
        assert!(!pk.to_base64().is_empty());
        assert!(Signer::rsa_pem("not a key").is_err());
        let from8 = Signer::from_pkcs8_pem(pem)?;
        assert_eq!(from8.public_key().algorithm(), "rsa-pkcs1v15-sha512");
        assert!(from8
            .public_key()
            .to_spki_pem()?
            .starts_with("-----BEGIN PUBLIC KEY-----\n"));
        Ok(())
    }
}
