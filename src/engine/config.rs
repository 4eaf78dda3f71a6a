//! Engine configuration: one by-value builder, checked at `Engine::open`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::policy::Policy;
use crate::token::Signer;

/// When an acknowledged write reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Every write call returns once the write is on stable storage (the default): sled's
    /// flush, then `fsync` of every file it touched, one sync shared by concurrent writers
    /// (group commit). What was acknowledged survives a process crash and a power cut.
    #[default]
    Immediate,
    /// Writes are acknowledged once applied in memory; a background sync makes them durable
    /// every 500 ms, and so does [`Engine::flush`](crate::Engine::flush). A process crash may lose
    /// the writes of the last half second — never half of a batch. Meant for bulk loads: call
    /// `flush` at the end.
    Buffered,
}

/// How to open an [`Engine`](crate::Engine).
///
/// ```
/// use cee_eligibility::{Config, Durability, Engine};
/// let dir = tempfile::tempdir()?;
/// let engine = Engine::open(Config::new(dir.path()).secret([7; 32]).durability(Durability::Buffered))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
#[derive(Clone)]
pub struct Config {
    pub(crate) path: Option<PathBuf>,
    pub(crate) secret: Option<[u8; 32]>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policy: Policy,
    pub(crate) durability: Durability,
    pub(crate) signer: Option<Signer>,
    pub(crate) cache_capacity: u64,
    pub(crate) journal_retention: std::time::Duration,
    /// A PostgreSQL conninfo or URL instead of a sled directory.
    #[cfg(feature = "postgres")]
    pub(crate) postgres: Option<String>,
    /// How long a shared registry may go unsynchronised before `simulate` refuses.
    #[cfg(feature = "postgres")]
    pub(crate) staleness: std::time::Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("Config");
        f.field("path", &self.path)
            .field("secret", &self.secret.map(|_| "<secret>"))
            .field("clock", &self.clock)
            .field("policy", &self.policy)
            .field("durability", &self.durability)
            .field("signer", &self.signer)
            .field("cache_capacity", &self.cache_capacity)
            .field("journal_retention", &self.journal_retention);
        // A conninfo may carry a password: never printed.
        #[cfg(feature = "postgres")]
        f.field("postgres", &self.postgres.as_ref().map(|_| "<conninfo>"))
            .field("staleness", &self.staleness);
        f.finish()
    }
}

impl Config {
    fn base(path: Option<PathBuf>, secret: Option<[u8; 32]>) -> Self {
        Config {
            path,
            secret,
            clock: Arc::new(SystemClock),
            policy: Policy::default(),
            durability: Durability::default(),
            signer: None,
            cache_capacity: 64 * 1024 * 1024,
            journal_retention: std::time::Duration::from_secs(400 * 24 * 3600),
            #[cfg(feature = "postgres")]
            postgres: None,
            #[cfg(feature = "postgres")]
            staleness: std::time::Duration::from_secs(5),
        }
    }

    /// A database in the directory `path` (created if absent). A secret is required:
    /// opening without [`Config::secret`] fails with [`Error::MissingSecret`](crate::Error).
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self::base(Some(path.as_ref().to_path_buf()), None)
    }

    /// A registry in a PostgreSQL database (feature `postgres`, SPEC §11.5), shared by every
    /// engine — thread, process or machine — opened on it with the same secret. `conninfo` is
    /// a libpq conninfo (`host=/run/postgresql dbname=cee`) or URL
    /// (`postgresql://cee@db1,db2/cee?target_session_attrs=read-write`). The first engine to
    /// open an empty database creates the tables. A secret is required, as with a directory.
    ///
    /// Each engine keeps its in-memory index in step with the others' writes (within a second;
    /// at once for `register`); when it cannot for longer than [`Config::staleness_bound`],
    /// `simulate` answers [`Error::Unavailable`](crate::Error::Unavailable). Durability maps
    /// to `synchronous_commit` per transaction: `Immediate` = `on`, `Buffered` = `off`.
    #[cfg(feature = "postgres")]
    pub fn postgres(conninfo: &str) -> Self {
        let mut c = Self::base(None, None);
        c.postgres = Some(conninfo.to_owned());
        c
    }

    /// How long a PostgreSQL registry's engine may go without synchronising before `simulate`
    /// answers [`Error::Unavailable`](crate::Error::Unavailable) rather than risk a stale
    /// "eligible" (default 5 s; must be more than 0.5 s, the poll tick).
    #[cfg(feature = "postgres")]
    pub fn staleness_bound(mut self, bound: std::time::Duration) -> Self {
        self.staleness = bound;
        self
    }

    /// A temporary database, deleted when the engine is dropped, with a random secret unless
    /// one is given.
    pub fn temporary() -> Self {
        Self::base(None, None)
    }

    /// The 32-byte secret that keys every pseudonym (never written to the database). A
    /// database must always be opened with the secret it was created with.
    pub fn secret(mut self, secret: [u8; 32]) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Where "now" comes from (default: [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The rules (default: [`Policy::default`], the public registry's last values).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// When writes become durable (default: [`Durability::Immediate`]).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// How tokens are signed (default: Ed25519 with a key derived from the secret).
    pub fn signer(mut self, signer: Signer) -> Self {
        self.signer = Some(signer);
        self
    }

    /// sled's page cache size in bytes (default 64 MiB). The in-memory identity index is
    /// separate and always complete.
    pub fn cache_capacity(mut self, bytes: u64) -> Self {
        self.cache_capacity = bytes;
        self
    }

    /// How long [`Engine::purge`](crate::Engine::purge) keeps error and audit journal entries (default
    /// 400 days): entries older than now minus this go.
    pub fn journal_retention(mut self, retention: std::time::Duration) -> Self {
        self.journal_retention = retention;
        self
    }
}
