//! sealant-core: the sans-IO heart of sealant — the Bitnami Sealed Secrets envelope, keys and certificates,
//! SealedSecret and Secret types, manifest reading and writing, and layout-preserving YAML edits.
//!
//! Nothing here touches the network, the filesystem or the terminal; the CLI and the controller do.
//! `envelope` is the only module that calls cryptographic primitives.
//!
//! ```
//! use sealant_core::keys::{self, Keyring, DEFAULT_CERT_VALIDITY};
//! use sealant_core::manifest::{self, Object};
//! use sealant_core::seal::{seal_secret, SealOptions};
//! use sealant_core::unseal::{unseal, UnsealOptions};
//! use secrecy::ExposeSecret as _;
//!
//! let (key, cert) = keys::generate_key_and_cert(2048, time::OffsetDateTime::now_utc(), DEFAULT_CERT_VALIDITY)?;
//! let yaml = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {password: s3cret}\n";
//! let (_, objects) = manifest::read(yaml)?;
//! let Object::Secret(secret) = &objects[0].object else { unreachable!() };
//! let sealed = seal_secret(secret, &cert, &SealOptions::default())?;
//!
//! let mut keyring = Keyring::new();
//! keyring.add(key)?;
//! let unsealed = unseal(&sealed, &keyring, UnsealOptions::default())?;
//! assert_eq!(unsealed.secret.data["password"].expose_secret(), b"s3cret");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// A library never writes to the terminal: the binaries decide what to show.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod budget;
pub mod envelope;
pub mod generate;
pub mod input;
pub mod keyring;
pub mod keys;
pub mod keysecret;
pub mod layout;
pub mod manifest;
pub mod merge;
mod plain;
pub mod rewrite;
pub mod scope;
pub mod seal;
pub mod template;
#[cfg(test)]
mod testutil;
pub mod types;
pub mod unseal;

pub use envelope::{OpenError, PrivateKey, PublicKey};
pub use keys::{Certificate, Keyring};
pub use scope::Scope;
pub use types::{SealedSecret, Secret};
