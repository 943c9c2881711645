//! The documents of a command's input, each handled with its place kept so a failure names the document, line
//! and object: `seal` takes v1 Secrets only; `unseal` and `verify` take SealedSecrets.

use crate::keys::{Certificate, Keyring};
use crate::manifest::{Located, Object};
use crate::seal::{self, SealError, SealOptions};
use crate::types::{SealedSecret, Secret};
use crate::unseal::{self, UnsealError, UnsealOptions, Unsealed};

/// An input that holds something other than Secrets to seal.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A document is already sealed.
    #[error(
        "document {document} (line {line}): this is already a SealedSecret; seal takes v1 Secrets (use `sealant verify` to check it)"
    )]
    AlreadySealed {
        /// Its document.
        document: String,
        /// Its line.
        line: usize,
    },
    /// A document is not a Secret.
    #[error("document {document} (line {line}): expected a v1 Secret, found kind {kind:?}; only Secrets can be sealed")]
    NotASecret {
        /// Its document.
        document: String,
        /// Its line.
        line: usize,
        /// Its kind.
        kind: String,
    },
    /// No document at all.
    #[error("no secrets found. Ensure the input is valid and UTF-8 encoded")]
    Empty,
}

/// An input Secret that could not be sealed, and where it is in the input.
#[derive(Debug, thiserror::Error)]
#[error("document {document} (line {line}){id}: {cause}", id = qualified(.namespace, .name))]
pub struct SealFailure {
    /// Its document in the input.
    pub document: String,
    /// Its line in the input.
    pub line: usize,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Why (printed in the message).
    pub cause: SealError,
}

impl SealFailure {
    /// The failure of `secret`, found at `located`.
    pub fn new(located: &Located, secret: &Secret, cause: SealError) -> Self {
        Self {
            document: located.document.clone(),
            line: located.line,
            namespace: secret.namespace().to_string(),
            name: secret.name().to_string(),
            cause,
        }
    }
}

fn qualified(namespace: &str, name: &str) -> String {
    match (namespace, name) {
        (_, "") => String::new(),
        ("", name) => format!(" ({name})"),
        (ns, name) => format!(" ({ns}/{name})"),
    }
}

/// The Secrets of an input, each with its place; any other kind of document is an error.
pub fn secrets(objects: &[Located]) -> Result<Vec<(&Located, &Secret)>, InputError> {
    let mut secrets = Vec::new();
    for located in objects {
        match &located.object {
            Object::Secret(s) => secrets.push((located, s.as_ref())),
            Object::SealedSecret(_) => {
                return Err(InputError::AlreadySealed {
                    document: located.document.clone(),
                    line: located.line,
                });
            }
            other => {
                return Err(InputError::NotASecret {
                    document: located.document.clone(),
                    line: located.line,
                    kind: other.kind().to_string(),
                });
            }
        }
    }
    if secrets.is_empty() {
        return Err(InputError::Empty);
    }
    Ok(secrets)
}

/// Seals every input Secret to `cert` (in parallel, see [`seal::seal_all`]); the first failure names its place.
pub fn seal_located(
    secrets: &[(&Located, &Secret)],
    cert: &Certificate,
    opts: &SealOptions,
) -> Result<Vec<SealedSecret>, Box<SealFailure>> {
    let plain: Vec<&Secret> = secrets.iter().map(|(_, s)| *s).collect();
    secrets
        .iter()
        .zip(seal::seal_all(&plain, cert, opts))
        .map(|((located, secret), result)| result.map_err(|e| Box::new(SealFailure::new(located, secret, e))))
        .collect()
}

/// Why an input does not unseal.
#[derive(Debug, thiserror::Error)]
pub enum UnsealFailure {
    /// A document is not a SealedSecret.
    #[error("document {document} (line {line}): expected a SealedSecret, found kind {kind:?}")]
    NotSealed {
        /// Its document.
        document: String,
        /// Its line.
        line: usize,
        /// Its kind.
        kind: String,
    },
    /// A SealedSecret does not open.
    #[error("document {document} (line {line}) ({id}): {cause}")]
    Unseal {
        /// Its document.
        document: String,
        /// Its line.
        line: usize,
        /// `namespace/name`.
        id: String,
        /// Why (printed in the message).
        cause: UnsealError,
    },
    /// No SealedSecret at all.
    #[error("no SealedSecret found")]
    Empty,
}

/// The Secrets the controller would write for every SealedSecret of an input; any other document is an error.
pub fn unseal_located(objects: &[Located], keyring: &Keyring) -> Result<Vec<Secret>, Box<UnsealFailure>> {
    let mut secrets = Vec::new();
    for located in objects {
        let Object::SealedSecret(ss) = &located.object else {
            return Err(Box::new(UnsealFailure::NotSealed {
                document: located.document.clone(),
                line: located.line,
                kind: located.object.kind().to_string(),
            }));
        };
        let unsealed = unseal::unseal(ss, keyring, UnsealOptions::default()).map_err(|cause| {
            Box::new(UnsealFailure::Unseal {
                document: located.document.clone(),
                line: located.line,
                id: ss.id(),
                cause,
            })
        })?;
        secrets.push(unsealed.secret);
    }
    if secrets.is_empty() {
        return Err(Box::new(UnsealFailure::Empty));
    }
    Ok(secrets)
}

/// Each SealedSecret of an input (other documents are skipped), with what unsealing it gave.
pub fn verify_located<'a>(
    objects: &'a [Located],
    keyring: &Keyring,
) -> Vec<(&'a Located, &'a SealedSecret, Result<Unsealed, UnsealError>)> {
    objects
        .iter()
        .filter_map(|located| match &located.object {
            Object::SealedSecret(ss) => Some((
                located,
                ss.as_ref(),
                unseal::unseal(ss, keyring, UnsealOptions::default()),
            )),
            _ => None,
        })
        .collect()
}
