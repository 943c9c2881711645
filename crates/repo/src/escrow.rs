//! Key escrow with age: a sealing private key, encrypted and armored to break-glass recipients, so it can be
//! committed next to its certificate and recovered with an age identity (the `age`/`rage` file format).

use std::io::{BufReader, Read as _, Write as _};
use std::str::FromStr as _;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use zeroize::Zeroizing;

/// Why escrow failed. Never carries key material, only what was wrong and where.
#[derive(Debug, thiserror::Error)]
pub enum EscrowError {
    /// A recipient string is not an age X25519 public key.
    #[error("{origin}: `{recipient}` is not an age recipient (age1…): {reason}")]
    BadRecipient {
        /// Where it came from (flag, file:line).
        origin: String,
        /// The recipient as given (a public key, safe to show).
        recipient: String,
        /// The parser's reason.
        reason: String,
    },
    /// No recipient was given: encrypting to nobody would lose the key.
    #[error("no age recipients: give at least one public key (age1…)")]
    NoRecipients,
    /// The identity file cannot be read as age identities.
    #[error("{origin}: not an age identity file: {reason}")]
    BadIdentity {
        /// The identity file's name.
        origin: String,
        /// Why (never the identity itself).
        reason: String,
    },
    /// The escrow file is not an age file, is truncated or was tampered with, or no identity opens it.
    #[error("{origin}: cannot decrypt: {reason}")]
    Decrypt {
        /// The escrow file's name.
        origin: String,
        /// age's reason (wrong identity, bad header, failed MAC, truncated stream).
        reason: String,
    },
    /// The file is a valid age file, but for other recipients: none of the identities opens it.
    #[error("{origin}: not encrypted to any of the given age identities")]
    NotForTheseIdentities {
        /// The escrow file's name.
        origin: String,
    },
    /// Encryption failed (an I/O error on an in-memory buffer, or a recipient refused the file key).
    #[error("cannot encrypt: {0}")]
    Encrypt(String),
    /// The escrow file cannot be read.
    #[error("cannot read {origin}: {cause}")]
    Read {
        /// The escrow file's name.
        origin: String,
        /// Why (printed in the message).
        cause: std::io::Error,
    },
    /// Decrypted, the file does not hold a private key.
    #[error("{origin}: decrypted, but not a private key: {cause}")]
    NotAKey {
        /// The escrow file's name.
        origin: String,
        /// Why (printed in the message).
        cause: sealant_core::keys::PrivateKeyError,
    },
    /// An escrow bundle (the controller's `GET /v1/escrow` or its ConfigMap) that cannot be used.
    #[error("{origin}: {reason}")]
    Bundle {
        /// Where the bundle came from.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A restore that would bring back a key it must not.
    #[error("{0}")]
    Restore(String),
    /// Decrypted, the key is not the one its certificate names.
    #[error("{origin}: the key inside does not belong to {fingerprint}")]
    Mismatch {
        /// The escrow file's name.
        origin: String,
        /// The certificate's fingerprint.
        fingerprint: String,
    },
}

/// The most keys a bundle may hold: a key renewed every 30 days for 80 years. More is not a controller's bundle.
const MAX_BUNDLE_KEYS: usize = 1024;
/// The largest escrow file taken: an armored age file of an RSA-8192 private key is under 10 KiB.
const MAX_ESCROW_FILE_BYTES: usize = 64 * 1024;

/// Whether `armored` is one whole age file in ASCII armor (the armor decodes to its end and the age header
/// parses): what a bundle brings is committed as it is, so it must be what it claims.
fn is_age_file(armored: &str) -> bool {
    if armored.len() > MAX_ESCROW_FILE_BYTES {
        return false;
    }
    let mut decoded = Vec::new();
    if std::io::Read::read_to_end(&mut ArmoredReader::new(armored.as_bytes()), &mut decoded).is_err() {
        return false;
    }
    // The text after the armor's end line must be nothing but whitespace.
    let end = "-----END AGE ENCRYPTED FILE-----";
    let tail_ok = armored
        .find(end)
        .is_some_and(|at| armored[at + end.len()..].trim().is_empty());
    tail_ok && age::Decryptor::new_buffered(decoded.as_slice()).is_ok()
}

/// The escrowed keys of a bundle (file name to text), each with its certificate: `<stem>.crt` + `<stem>.key.age`.
///
/// Why the names are checked against the certificates: the bundle is not authenticated, so a key is only taken
/// under the fingerprint its own certificate has.
pub fn bundle_keys(
    bundle: &std::collections::BTreeMap<String, String>,
    origin: &str,
) -> Result<Vec<(sealant_core::Certificate, String)>, EscrowError> {
    let bad = |reason: String| EscrowError::Bundle {
        origin: origin.to_string(),
        reason,
    };
    let mut keys = Vec::new();
    for (name, pem) in bundle {
        let Some(stem) = name.strip_suffix(".crt") else {
            continue;
        };
        let Some(armored) = bundle.get(&format!("{stem}.key.age")) else {
            continue;
        };
        let cert = sealant_core::Certificate::from_pem(pem.as_bytes()).map_err(|e| bad(format!("{name}: {e}")))?;
        if crate::file_stem(cert.fingerprint()) != stem {
            return Err(bad(format!(
                "{name} holds the certificate of {}, not {stem}",
                cert.fingerprint()
            )));
        }
        if !armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----") || !is_age_file(armored) {
            return Err(bad(format!("{stem}.key.age is not an armored age file")));
        }
        keys.push((cert, armored.clone()));
        if keys.len() > MAX_BUNDLE_KEYS {
            return Err(bad(format!("more than {MAX_BUNDLE_KEYS} keys")));
        }
    }
    if keys.is_empty() {
        return Err(bad("the escrow bundle holds no key".into()));
    }
    Ok(keys)
}

/// The escrowed keys of a cluster that a restore may bring back: those `pins` name (all of them when `pins` is
/// empty: the caller asks for that explicitly), each signed by its own key and none dated after `now`. Checked
/// before anything is decrypted.
///
/// Why: the break-glass recipients are public, so anyone who can commit to `keys/` can escrow a key of their own.
/// Dated in the future it would be the newest key once restored, and every new secret would be sealed to it; a
/// pin says which keys the operator expects back.
pub fn restorable<'r>(
    records: &'r [crate::KeyRecord],
    pins: &[String],
    now: time::OffsetDateTime,
) -> Result<Vec<&'r crate::KeyRecord>, EscrowError> {
    let refuse = |reason: String| EscrowError::Restore(reason);
    let escrowed: Vec<&crate::KeyRecord> = records.iter().filter(|r| r.escrow_path.is_some()).collect();
    for pin in pins {
        if !escrowed.iter().any(|r| &r.fingerprint == pin) {
            return Err(refuse(format!(
                "{pin}: no escrowed key of the cluster has that fingerprint"
            )));
        }
    }
    let chosen: Vec<&crate::KeyRecord> = escrowed
        .into_iter()
        .filter(|r| pins.is_empty() || pins.contains(&r.fingerprint))
        .collect();
    // Why the signature: the pin names a public key, and the date is in the certificate; a certificate its own
    // key did not sign (anyone can write one for a public key) could re-date a pinned old key into the newest.
    if let Some(forged) = chosen.iter().find(|r| !r.cert.is_self_signed()) {
        return Err(refuse(format!(
            "{} ({}) is not signed by its own key, as every controller certificate is; refusing to restore",
            forged.fingerprint,
            forged.cert_path.display()
        )));
    }
    // A few minutes of clock skew between the machine that made the key and this one are not an attack.
    let skew = time::Duration::minutes(5);
    if let Some(future) = chosen.iter().find(|r| r.cert.not_before() > now + skew) {
        return Err(refuse(format!(
            "{} ({}) is not valid before {}: a key dated in the future would become the sealing key once restored; refusing to restore",
            future.fingerprint,
            future.cert_path.display(),
            future.cert.not_before().date()
        )));
    }
    Ok(chosen)
}

/// Escrowed keys opened: each with its record, and how many files were for other recipients.
pub struct Opened<'r> {
    /// The keys, each with the record of its certificate.
    pub keys: Vec<(&'r crate::KeyRecord, sealant_core::PrivateKey)>,
    /// Files skipped because they are for other recipients.
    pub foreign: usize,
}

/// Opens the escrow files of `records` with `identities`, each key checked against its certificate. A record
/// without an escrow file is skipped; so is a file for other recipients when `skip_foreign` (a team may escrow to
/// several groups).
///
/// Why the check: the file name and the certificate are not authenticated by age; only a key that matches its
/// certificate is that certificate's key.
pub fn open_escrowed<'r>(
    records: impl IntoIterator<Item = &'r crate::KeyRecord>,
    identities: &Identities,
    skip_foreign: bool,
) -> Result<Opened<'r>, EscrowError> {
    let (mut keys, mut foreign) = (Vec::new(), 0);
    for record in records {
        let Some(path) = &record.escrow_path else {
            continue;
        };
        let origin = path.display().to_string();
        let ciphertext =
            crate::repofs::read(path, crate::repofs::MAX_SMALL_FILE).map_err(|cause| EscrowError::Read {
                origin: origin.clone(),
                cause,
            })?;
        let plain = match identities.decrypt(&ciphertext, &origin) {
            Ok(plain) => plain,
            Err(EscrowError::NotForTheseIdentities { .. }) if skip_foreign => {
                foreign += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        let key = sealant_core::keys::private_keys_from_pem(&plain)
            .map_err(|cause| EscrowError::NotAKey {
                origin: origin.clone(),
                cause,
            })?
            .into_iter()
            .next()
            .ok_or_else(|| EscrowError::NotAKey {
                origin: origin.clone(),
                cause: sealant_core::keys::PrivateKeyError::NoPem,
            })?;
        if key.public_key().fingerprint().ok().as_deref() != Some(record.fingerprint.as_str()) {
            return Err(EscrowError::Mismatch {
                origin,
                fingerprint: record.fingerprint.clone(),
            });
        }
        keys.push((record, key));
    }
    Ok(Opened { keys, foreign })
}

/// The public keys a private key is escrowed to.
#[derive(Debug, Clone)]
pub struct Recipients(Vec<age::x25519::Recipient>);

impl Recipients {
    /// Parses recipients from text: one `age1…` key per line or separated by commas; `#` starts a comment.
    /// `origin` names the flag or file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, EscrowError> {
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default();
            for item in line.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let recipient = age::x25519::Recipient::from_str(item).map_err(|reason| EscrowError::BadRecipient {
                    origin: format!("{origin}:{}", n + 1),
                    // Why: a private identity pasted by mistake must not be echoed into logs or CI output.
                    recipient: if item.starts_with("age1") {
                        item.to_string()
                    } else {
                        format!("<{} characters, not shown>", item.len())
                    },
                    reason: reason.to_string(),
                })?;
                out.push(recipient);
            }
        }
        if out.is_empty() {
            return Err(EscrowError::NoRecipients);
        }
        Ok(Self(out))
    }

    /// How many recipients there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a parsed set (parsing refuses an empty one).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Encrypts `plaintext` to every recipient as an armored age file (`-----BEGIN AGE ENCRYPTED FILE-----`).
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String, EscrowError> {
        let fail = |e: &dyn std::fmt::Display| EscrowError::Encrypt(e.to_string());
        let encryptor =
            age::Encryptor::with_recipients(self.0.iter().map(|r| r as &dyn age::Recipient)).map_err(|e| fail(&e))?;
        let mut out = Vec::new();
        let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(|e| fail(&e))?;
        let mut writer = encryptor.wrap_output(armor).map_err(|e| fail(&e))?;
        writer.write_all(plaintext).map_err(|e| fail(&e))?;
        writer.finish().and_then(ArmoredWriter::finish).map_err(|e| fail(&e))?;
        String::from_utf8(out).map_err(|e| fail(&e))
    }
}

/// Age identities (private keys) that open escrow files. Dropped identities are zeroized by age.
pub struct Identities(Vec<Box<dyn age::Identity + Send + Sync>>);

impl std::fmt::Debug for Identities {
    // Why by hand: an identity is a private key; only how many there are is printable.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({} identities, not shown)", self.0.len())
    }
}

impl Identities {
    /// Reads an age identity file (`AGE-SECRET-KEY-1…` lines, `#` comments), as `age -i` does.
    pub fn parse(data: &[u8], origin: &str) -> Result<Self, EscrowError> {
        let bad = |reason: String| EscrowError::BadIdentity {
            origin: origin.to_string(),
            reason,
        };
        let file = age::IdentityFile::from_buffer(BufReader::new(data)).map_err(|e| bad(e.to_string()))?;
        let identities = file.into_identities().map_err(|e| bad(e.to_string()))?;
        if identities.is_empty() {
            return Err(bad("it holds no identity".into()));
        }
        Ok(Self(identities))
    }

    /// Decrypts an escrow file (armored or binary age). Why the whole plaintext is read before it is
    /// returned: age authenticates each 64 KiB chunk and the last one marks the end, so a truncated or
    /// tampered file fails here and never yields a partial key.
    pub fn decrypt(&self, ciphertext: &[u8], origin: &str) -> Result<Zeroizing<Vec<u8>>, EscrowError> {
        let fail = |reason: String| EscrowError::Decrypt {
            origin: origin.to_string(),
            reason,
        };
        let decryptor =
            age::Decryptor::new_buffered(ArmoredReader::new(ciphertext)).map_err(|e| fail(e.to_string()))?;
        let mut reader = decryptor
            .decrypt(self.0.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => EscrowError::NotForTheseIdentities {
                    origin: origin.to_string(),
                },
                e => fail(e.to_string()),
            })?;
        let mut out = Zeroizing::new(Vec::new());
        reader.read_to_end(&mut out).map_err(|e| fail(e.to_string()))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use age::secrecy::ExposeSecret as _;

    use super::*;

    fn pair() -> (String, String) {
        let id = age::x25519::Identity::generate();
        (id.to_public().to_string(), id.to_string().expose_secret().to_string())
    }

    #[test]
    fn a_bundle_entry_that_is_not_one_whole_age_file_is_refused() {
        let (public, _) = pair();
        let armored = Recipients::parse(&public, "flag").unwrap().encrypt(b"key").unwrap();
        let (_, cert) = sealant_core::keys::generate_key_and_cert(
            2048,
            time::OffsetDateTime::now_utc(),
            sealant_core::keys::DEFAULT_CERT_VALIDITY,
        )
        .unwrap();
        let stem = crate::file_stem(cert.fingerprint());
        let bundle = |age: &str| {
            std::collections::BTreeMap::from([
                (format!("{stem}.crt"), cert.pem().to_string()),
                (format!("{stem}.key.age"), age.to_string()),
            ])
        };
        assert_eq!(bundle_keys(&bundle(&armored), "b").unwrap().len(), 1);
        // What a hostile controller could send to be committed: the header, then anything.
        for bad in [
            "-----BEGIN AGE ENCRYPTED FILE-----\nANY TEXT THE CONTROLLER WANTS\n".to_string(),
            format!("{armored}and more text\n"),
            format!("{}{}", armored, "x".repeat(70_000)),
        ] {
            assert!(
                bundle_keys(&bundle(&bad), "b").is_err(),
                "{}",
                &bad[..60.min(bad.len())]
            );
        }
    }

    #[test]
    fn an_escrowed_key_opens_with_any_recipient_identity_and_is_armored() {
        let (pub_a, sec_a) = pair();
        let (pub_b, sec_b) = pair();
        let recipients = Recipients::parse(&format!("# break-glass\n{pub_a}, {pub_b}\n"), "test").unwrap();
        let armored = recipients.encrypt(b"key material").unwrap();
        assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"), "{armored}");
        for secret in [sec_a, sec_b] {
            let ids = Identities::parse(secret.as_bytes(), "id.txt").unwrap();
            assert_eq!(
                ids.decrypt(armored.as_bytes(), "k.age").unwrap().as_slice(),
                b"key material"
            );
        }
    }

    #[test]
    fn a_wrong_identity_a_truncated_or_tampered_file_is_refused() {
        let (pub_a, _) = pair();
        let (_, sec_other) = pair();
        let armored = Recipients::parse(&pub_a, "flag")
            .unwrap()
            .encrypt(&[7; 100_000])
            .unwrap();
        let other = Identities::parse(sec_other.as_bytes(), "other.txt").unwrap();
        let err = other.decrypt(armored.as_bytes(), "k.age").unwrap_err();
        assert!(matches!(err, EscrowError::NotForTheseIdentities { .. }), "{err}");

        let (pub_b, sec_b) = pair();
        let armored = Recipients::parse(&pub_b, "flag")
            .unwrap()
            .encrypt(&[7; 100_000])
            .unwrap();
        let ids = Identities::parse(sec_b.as_bytes(), "id").unwrap();
        let truncated = format!("{}\n-----END AGE ENCRYPTED FILE-----\n", &armored[..armored.len() / 2]);
        assert!(ids.decrypt(truncated.as_bytes(), "k.age").is_err());
        let mut tampered = armored.into_bytes();
        let at = tampered.len() / 2;
        tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
        assert!(ids.decrypt(&tampered, "k.age").is_err());
    }

    #[test]
    fn recipients_must_be_age_public_keys_and_at_least_one() {
        let err = Recipients::parse("age1notakey", "--escrow-recipient")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--escrow-recipient:1") && err.contains("age1notakey"),
            "{err}"
        );
        assert!(matches!(
            Recipients::parse("# none\n", "f"),
            Err(EscrowError::NoRecipients)
        ));
        let (_, secret) = pair();
        let err = Recipients::parse(&secret, "f").unwrap_err().to_string();
        assert!(!err.contains(&secret[15..]) && err.contains("not shown"), "{err}");
    }

    #[test]
    fn an_escrow_file_holding_another_key_is_refused_and_foreign_files_are_skipped_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let now = time::OffsetDateTime::now_utc();
        let new_key =
            || sealant_core::keys::generate_key_and_cert(2048, now, sealant_core::keys::DEFAULT_CERT_VALIDITY).unwrap();
        let ((key_a, cert_a), (key_b, _)) = (new_key(), new_key());
        let (public, secret) = pair();
        let mine = Recipients::parse(&public, "r").unwrap();
        let pem = |k: &sealant_core::PrivateKey| sealant_core::keys::private_key_pkcs1_pem(k).unwrap();
        // A writer files key B's escrow under certificate A.
        let swapped = mine.encrypt(pem(&key_b).as_bytes()).unwrap();
        crate::KeysDir::add(&keys, "prod", &cert_a, Some(&swapped), true).unwrap();
        let ids = Identities::parse(secret.as_bytes(), "id").unwrap();
        let dir_a = crate::KeysDir::load(&keys).unwrap();
        let err = open_escrowed(&dir_a.clusters()[0].keys, &ids, true).err().unwrap();
        assert!(matches!(err, EscrowError::Mismatch { .. }), "{err}");
        // The right key opens; a file for somebody else is skipped, or an error when skipping is not asked for.
        let good = mine.encrypt(pem(&key_a).as_bytes()).unwrap();
        crate::KeysDir::add(&keys, "prod", &cert_a, Some(&good), true).unwrap();
        let dir_b = crate::KeysDir::load(&keys).unwrap();
        assert_eq!(
            open_escrowed(&dir_b.clusters()[0].keys, &ids, true).unwrap().keys.len(),
            1
        );
        let (other, _) = pair();
        let foreign = Recipients::parse(&other, "r")
            .unwrap()
            .encrypt(pem(&key_a).as_bytes())
            .unwrap();
        crate::KeysDir::add(&keys, "prod", &cert_a, Some(&foreign), true).unwrap();
        let dir_c = crate::KeysDir::load(&keys).unwrap();
        let opened = open_escrowed(&dir_c.clusters()[0].keys, &ids, true).unwrap();
        assert_eq!((opened.keys.len(), opened.foreign), (0, 1));
        assert!(open_escrowed(&dir_c.clusters()[0].keys, &ids, false).is_err());
    }
}
