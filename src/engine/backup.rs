//! Online backup (SPEC §11.6).

use std::path::Path;

use super::Engine;
use crate::error::Error;

impl Engine {
    /// Copies the registry to the new directory `dest`, while it keeps serving: the copy holds
    /// exactly what the registry held at one instant during the call — every write
    /// acknowledged before the call, nothing never written — and opens with the same secret
    /// (restore = open the copy; it must not be open elsewhere). Reads go on throughout;
    /// writes wait while the files are copied (a sequential read of the database directory).
    ///
    /// # Errors
    /// [`Error::Config`] when `dest` (or `<dest>.partial`, left by an interrupted backup)
    /// already exists or the registry is temporary; [`Error::Storage`] when a copy fails (the
    /// partial copy is removed).
    pub fn backup(&self, dest: impl AsRef<Path>) -> Result<(), Error> {
        self.inner.store.backup(dest.as_ref())
    }
}
