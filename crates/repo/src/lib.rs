//! sealant-repo: the one model of a GitOps repository. [`config`] is `.sealant.yaml`; [`store`] and [`escrow`]
//! are the `keys/` directory (committed public certificates per cluster, which one is current, which are retired
//! or compromised, and the private keys age-encrypted for break-glass recovery); [`repofs`] reads repository
//! files as untrusted input. With the `git` feature (default): `walk` is the one walk of a repository's files
//! and `worktree` the git side (tracked files, and the ages of values from first-parent history).
//!
//! ```text
//! keys/<cluster>/<stem>.crt        public certificate (stem = the fingerprint, file-name safe)
//! keys/<cluster>/<stem>.key.age    the private key (PKCS#1 PEM), age-encrypted and armored
//! keys/<cluster>/current           the fingerprint new secrets are sealed to
//! keys/<cluster>/state.yaml        retired / compromised keys, with when and why
//! ```

pub mod config;
pub mod escrow;
pub mod files;
pub mod keyring;
pub mod locate;
pub mod renewal;
pub mod repofs;
pub mod restore;
pub mod state;
pub mod store;
pub mod target;
#[cfg(feature = "git")]
pub mod usage;
#[cfg(feature = "git")]
pub mod walk;
#[cfg(feature = "git")]
pub mod worktree;

pub use config::{ConfigError, RepoConfig};
pub use escrow::{EscrowError, Identities, Recipients};
pub use keyring::{KeySources, KeyringError};
pub use store::{ClusterKeys, KeyRecord, KeyState, KeysDir, StoreError, file_stem};
pub use target::TargetError;
#[cfg(feature = "git")]
pub use usage::usage;
