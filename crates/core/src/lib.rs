//! sealant-core: the sans-IO heart of sealant — the Bitnami Sealed Secrets envelope, keys and certificates,
//! SealedSecret and Secret types, manifest reading and writing, and layout-preserving YAML edits.
//!
//! Nothing here touches the network, the filesystem or the terminal; the CLI and the controller do.
//! `envelope` is the only module that calls cryptographic primitives.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// A library never writes to the terminal: the binaries decide what to show.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod envelope;
pub mod keys;
pub mod layout;
pub mod manifest;
pub mod scope;
pub mod seal;
pub mod template;
pub mod types;
pub mod unseal;

pub use envelope::{OpenError, PrivateKey, PublicKey};
pub use keys::{Certificate, Keyring};
pub use scope::Scope;
pub use types::{SealedSecret, Secret};
