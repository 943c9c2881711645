//! Certificates (the public sealing keys), private keys in every shape upstream stores them, and
//! controller-shaped key generation (the keyring that tries the keys is [`crate::keyring`]).

use pkcs8::der::Decode as _;
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, IsCa, KeyUsagePurpose, SerialNumber};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::envelope::{self, PrivateKey, PublicKey};
pub use crate::keyring::Keyring;

/// Upstream's default validity of a generated certificate: 87600h, ten 365-day years.
pub const DEFAULT_CERT_VALIDITY: time::Duration = time::Duration::hours(87_600);
/// Upstream's default key size.
pub const DEFAULT_KEY_BITS: usize = 4096;

/// Why a certificate cannot be used for sealing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// No `CERTIFICATE` PEM block in the input.
    #[error("data does not contain any valid RSA or ECDSA certificates{hint}")]
    NoCertificate {
        /// What the input holds instead, if recognisable.
        hint: String,
    },
    /// The certificate does not parse as X.509.
    #[error("certificate does not parse as X.509: {0}")]
    Malformed(String),
    /// The certificate's key is not RSA.
    #[error("expected RSA public key but found {0}")]
    NotRsa(String),
    /// The RSA key is not usable (size, exponent).
    #[error("the certificate's RSA key is not usable: {0}")]
    Unusable(String),
    /// The certificate expired.
    #[error("failed to encrypt using an expired certificate on {}", go_date(.0))]
    Expired(OffsetDateTime),
}

/// A sealing certificate: an X.509 certificate carrying an RSA key.
#[derive(Clone, Debug)]
pub struct Certificate {
    public_key: PublicKey,
    self_signed: bool,
    fingerprint: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    pem: String,
}

impl Certificate {
    /// Reads the first `CERTIFICATE` block of a PEM file, like kubeseal (spec 1.8). A bare public key is not
    /// accepted: without a certificate there is no expiry to check.
    pub fn from_pem(data: &[u8]) -> Result<Self, CertError> {
        let blocks = pem::parse_many(data).unwrap_or_default();
        let Some(block) = blocks.iter().find(|b| b.tag() == "CERTIFICATE") else {
            return Err(CertError::NoCertificate {
                hint: pem_hint(&blocks, data),
            });
        };
        let (_, cert) =
            x509_parser::parse_x509_certificate(block.contents()).map_err(|e| CertError::Malformed(e.to_string()))?;
        let spki = cert.public_key();
        match spki.parsed() {
            // Why: the controller makes 65537 keys; a smaller exponent is a sign of a hand-made or hostile
            // certificate (NIST SP 800-56B wants at least 65537), and sealing to it gains nothing.
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => match rsa.try_exponent() {
                Ok(e) if e >= 65537 => {}
                Ok(e) => return Err(CertError::Unusable(format!("public exponent {e} is below 65537"))),
                Err(e) => return Err(CertError::Malformed(e.to_string())),
            },
            Ok(other) => return Err(CertError::NotRsa(public_key_kind(&other).to_string())),
            Err(e) => return Err(CertError::Malformed(e.to_string())),
        }
        let public_key = PublicKey::from_spki_der(spki.raw).map_err(|e| CertError::Unusable(e.to_string()))?;
        let fingerprint = public_key
            .fingerprint()
            .map_err(|e| CertError::Unusable(e.to_string()))?;
        // Signed with its own key (sha256WithRSAEncryption), as the controller makes every certificate: only the
        // holder of the private key can date one.
        let self_signed = cert.signature_algorithm.algorithm.to_id_string() == "1.2.840.113549.1.1.11"
            && envelope::rsa_pkcs1_sha256_valid(
                &spki.subject_public_key.data,
                cert.tbs_certificate.as_ref(),
                &cert.signature_value.data,
            );
        let validity = cert.validity();
        Ok(Self {
            self_signed,
            public_key,
            fingerprint,
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            pem: pem::encode(block),
        })
    }

    /// Fails if the certificate has expired at `now` (upstream checks only the end of validity).
    pub fn ensure_valid_at(&self, now: OffsetDateTime) -> Result<(), CertError> {
        if now > self.not_after {
            Err(CertError::Expired(self.not_after))
        } else {
            Ok(())
        }
    }

    /// Whether the certificate is signed by its own key (sha256WithRSA), as every controller certificate is.
    pub fn is_self_signed(&self) -> bool {
        self.self_signed
    }

    /// The RSA public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// `SHA256:…` fingerprint of the public key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Start of validity.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// The certificate re-encoded as one PEM block.
    pub fn pem(&self) -> &str {
        &self.pem
    }
}

fn public_key_kind(key: &x509_parser::public_key::PublicKey<'_>) -> &'static str {
    use x509_parser::public_key::PublicKey as K;
    match key {
        K::RSA(_) => "RSA",
        K::EC(_) => "ECDSA",
        K::DSA(_) => "DSA",
        K::GostR3410(_) | K::GostR3410_2012(_) => "GOST",
        _ => "an unknown key type",
    }
}

fn pem_hint(blocks: &[pem::Pem], data: &[u8]) -> String {
    if blocks.iter().any(|b| b.tag().ends_with("PRIVATE KEY")) {
        " (this is a private key: seal with the certificate, keep the key out of reach)".into()
    } else if blocks.iter().any(|b| b.tag().ends_with("PUBLIC KEY")) {
        " (this is a bare public key: sealing needs the certificate, e.g. the controller's /v1/cert.pem)".into()
    } else if data.is_empty() {
        " (the input is empty)".into()
    } else {
        String::new()
    }
}

/// Go's `January 2, 2006` layout, as upstream prints expiry dates.
fn go_date(t: &OffsetDateTime) -> String {
    format!("{} {}, {}", t.month(), t.day(), t.year())
}

/// Why a private key file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrivateKeyError {
    /// The PEM block is a public key or a certificate.
    #[error("it holds a {0}, not a private key: unsealing needs the controller's private key (tls.key)")]
    PublicOnly(String),
    /// A password-protected PKCS#8 key.
    #[error("encrypted private keys are not supported: decrypt it first (openssl pkcs8 -in KEY -out PLAIN)")]
    Encrypted,
    /// Not a key upstream can use.
    #[error("unexpected private key type {0}")]
    Unsupported(String),
    /// The key bytes are not a usable RSA key.
    #[error("{0}")]
    Invalid(String),
    /// No PEM block at all.
    #[error("no private key found (expected PEM, a key Secret with tls.key, or a v1 List of them)")]
    NoPem,
}

/// Reads every private key in a PEM file (`RSA PRIVATE KEY` PKCS#1 or `PRIVATE KEY` PKCS#8).
pub fn private_keys_from_pem(data: &[u8]) -> Result<Vec<PrivateKey>, PrivateKeyError> {
    let blocks = pem::parse_many(data).map_err(|e| PrivateKeyError::Invalid(e.to_string()))?;
    let mut keys = Vec::new();
    let mut public_only = None;
    for block in &blocks {
        // Why: the decoded DER is key material; wipe our copy when done.
        let der = Zeroizing::new(block.contents().to_vec());
        let key = match block.tag() {
            "RSA PRIVATE KEY" => PrivateKey::from_pkcs1_der(&der),
            "PRIVATE KEY" => PrivateKey::from_pkcs8_der(&der),
            "ENCRYPTED PRIVATE KEY" => return Err(PrivateKeyError::Encrypted),
            "EC PRIVATE KEY" | "DSA PRIVATE KEY" | "OPENSSH PRIVATE KEY" => {
                return Err(PrivateKeyError::Unsupported(block.tag().to_string()));
            }
            tag @ ("CERTIFICATE" | "PUBLIC KEY" | "RSA PUBLIC KEY") => {
                public_only.get_or_insert_with(|| tag.to_lowercase());
                continue;
            }
            _ => continue,
        };
        keys.push(key.map_err(|e| PrivateKeyError::Invalid(e.to_string()))?);
    }
    match (keys.is_empty(), public_only) {
        (false, _) => Ok(keys),
        (true, Some(kind)) => Err(PrivateKeyError::PublicOnly(kind)),
        (true, None) => Err(PrivateKeyError::NoPem),
    }
}

/// Reads private keys from any file upstream accepts for recovery (spec 4.12): PEM keys, controller key Secrets
/// (`data["tls.key"]`, YAML or JSON, one or many), or a `v1 List` of them (`kubectl get secret -o yaml` backup).
pub fn load_private_keys(data: &[u8]) -> Result<Vec<PrivateKey>, PrivateKeyError> {
    if data.windows(11).any(|w| w == b"-----BEGIN ") {
        return private_keys_from_pem(data);
    }
    let text = std::str::from_utf8(data).map_err(|_| PrivateKeyError::Invalid("not PEM, YAML or JSON".into()))?;
    let objects = match crate::manifest::read(text) {
        Ok((_, objects)) => objects,
        Err(e) => return untyped_key_list(text).ok_or_else(|| PrivateKeyError::Invalid(e.to_string()))?,
    };
    let mut keys = Vec::new();
    for located in objects {
        let crate::manifest::Object::Secret(secret) = located.object else {
            continue;
        };
        let Some(pem) = secret.data.get("tls.key") else {
            return Err(PrivateKeyError::Invalid(format!(
                "document {}: secret must contain a 'tls.key' item",
                located.document
            )));
        };
        use secrecy::ExposeSecret as _;
        keys.extend(private_keys_from_pem(pem.expose_secret())?);
    }
    if keys.is_empty() {
        return untyped_key_list(text).unwrap_or(Err(PrivateKeyError::NoPem));
    }
    Ok(keys)
}

/// The keys of a JSON Secret list without `kind`/`apiVersion` (what Go's `json.Marshal` of a `SecretList`, e.g.
/// a backup made with client-go, writes): every item's `data["tls.key"]`. `None` when the text is not that shape.
fn untyped_key_list(text: &str) -> Option<Result<Vec<PrivateKey>, PrivateKeyError>> {
    use base64::Engine as _;
    #[derive(serde::Deserialize)]
    struct List {
        items: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        data: Data,
    }
    #[derive(serde::Deserialize, Default)]
    struct Data {
        #[serde(rename = "tls.key")]
        key: Option<String>,
    }
    let list: List = serde_json::from_str(text).ok()?;
    let mut keys = Vec::new();
    for (n, item) in list.items.into_iter().enumerate() {
        // Why wiped: the base64 text is the private key.
        let Some(encoded) = item.data.key.map(zeroize::Zeroizing::new) else {
            return Some(Err(PrivateKeyError::Invalid(format!(
                "item {}: secret must contain a 'tls.key' item",
                n + 1
            ))));
        };
        let Ok(pem) = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map(zeroize::Zeroizing::new)
        else {
            return Some(Err(PrivateKeyError::Invalid(format!(
                "item {}: tls.key is not base64",
                n + 1
            ))));
        };
        match private_keys_from_pem(&pem) {
            Ok(found) => keys.extend(found),
            Err(e) => return Some(Err(e)),
        }
    }
    Some(if keys.is_empty() {
        Err(PrivateKeyError::NoPem)
    } else {
        Ok(keys)
    })
}

/// The private key as PKCS#1 `RSA PRIVATE KEY` PEM, the form upstream stores in `tls.key`.
pub fn private_key_pkcs1_pem(key: &PrivateKey) -> Result<Zeroizing<String>, envelope::KeyError> {
    let pkcs8 = key.to_pkcs8_der()?;
    let info = pkcs8::PrivateKeyInfoRef::from_der(&pkcs8)
        .map_err(|e| envelope::KeyError(format!("cannot re-encode RSA private key: {e}")))?;
    let block = pem::Pem::new("RSA PRIVATE KEY", info.private_key.as_bytes().to_vec());
    Ok(Zeroizing::new(pem::encode(&block)))
}

/// A new key and a certificate shaped like the upstream controller's (spec 1.8): empty subject and issuer,
/// random 128-bit serial, KeyUsage critical encipherOnly, BasicConstraints critical CA:TRUE, self-signed
/// sha256WithRSA, valid from `now` for `validity`.
pub fn generate_key_and_cert(
    bits: usize,
    now: OffsetDateTime,
    validity: time::Duration,
) -> Result<(PrivateKey, Certificate), envelope::KeyError> {
    generate_named(bits, now, validity, None)
}

/// As [`generate_key_and_cert`], with `common_name` as the certificate's subject and issuer CN (upstream's
/// `--my-cn`); none leaves the subject empty, as upstream does by default.
pub fn generate_named(
    bits: usize,
    now: OffsetDateTime,
    validity: time::Duration,
    common_name: Option<&str>,
) -> Result<(PrivateKey, Certificate), envelope::KeyError> {
    let key = PrivateKey::generate(bits)?;
    let cert_pem = self_signed_cert_pem(&key, now, validity, common_name)?;
    let cert = Certificate::from_pem(cert_pem.as_bytes())
        .map_err(|e| envelope::KeyError(format!("generated certificate is unusable: {e}")))?;
    Ok((key, cert))
}

fn self_signed_cert_pem(
    key: &PrivateKey,
    now: OffsetDateTime,
    validity: time::Duration,
    common_name: Option<&str>,
) -> Result<String, envelope::KeyError> {
    let fail = |e: rcgen::Error| envelope::KeyError(format!("cannot make certificate: {e}"));
    let pkcs8 = key.to_pkcs8_der()?;
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_slice());
    let signer = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA256).map_err(fail)?;
    let mut serial = [0u8; 16];
    envelope::random_bytes(&mut serial)?;
    // Why: a DER INTEGER is signed; clearing the top bit keeps the serial positive and within [0, 2^128).
    serial[0] &= 0x7f;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    if let Some(cn) = common_name {
        params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    }
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::EncipherOnly];
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.not_before = now;
    params.not_after = now + validity;
    let cert = params.self_signed(&signer).map_err(fail)?;
    Ok(cert.pem())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_has_the_upstream_shape() {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let (key, cert) = generate_key_and_cert(2048, now, DEFAULT_CERT_VALIDITY).unwrap();
        assert_eq!(cert.fingerprint(), key.public_key().fingerprint().unwrap());
        assert_eq!(cert.not_before(), now);
        assert_eq!(cert.not_after(), now + DEFAULT_CERT_VALIDITY);
        let der = pem::parse(cert.pem()).unwrap();
        let (_, x509) = x509_parser::parse_x509_certificate(der.contents()).unwrap();
        assert!(x509.subject().iter().next().is_none(), "empty subject");
        let ku = x509.key_usage().unwrap().unwrap();
        assert!(ku.critical && ku.value.encipher_only() && !ku.value.key_encipherment());
        let bc = x509.basic_constraints().unwrap().unwrap();
        assert!(bc.critical && bc.value.ca);
    }

    #[test]
    fn expired_certificate_is_refused_with_the_go_date() {
        let start = time::macros::datetime!(2017-06-20 04:32:45 UTC);
        let (_, cert) = generate_key_and_cert(2048, start, DEFAULT_CERT_VALIDITY).unwrap();
        let err = cert
            .ensure_valid_at(time::macros::datetime!(2030-01-01 00:00 UTC))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to encrypt using an expired certificate on June 18, 2027"
        );
        assert!(cert.ensure_valid_at(start).is_ok());
    }

    #[test]
    fn private_key_pem_round_trips_through_pkcs1() {
        let key = PrivateKey::generate(2048).unwrap();
        let pem = private_key_pkcs1_pem(&key).unwrap();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let back = private_keys_from_pem(pem.as_bytes()).unwrap();
        assert_eq!(
            back[0].public_key().fingerprint().unwrap(),
            key.public_key().fingerprint().unwrap()
        );
    }

    #[test]
    fn a_secret_list_without_kind_as_go_marshals_one_gives_its_keys() {
        use base64::Engine as _;
        let now = OffsetDateTime::now_utc();
        let (key, cert) = generate_key_and_cert(2048, now, DEFAULT_CERT_VALIDITY).unwrap();
        let pem = private_key_pkcs1_pem(&key).unwrap();
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        // What client-go's `json.Marshal(secretList)` writes: no kind or apiVersion anywhere.
        let backup = format!(
            r#"{{"metadata":{{"resourceVersion":"7"}},"items":[{{"metadata":{{"name":"k"}},"data":{{"tls.crt":"{}","tls.key":"{}"}},"type":"kubernetes.io/tls"}}]}}"#,
            b64(cert.pem().as_bytes()),
            b64(pem.as_bytes())
        );
        let keys = load_private_keys(backup.as_bytes()).unwrap();
        assert_eq!(keys[0].public_key().fingerprint().unwrap(), cert.fingerprint());
        let without_key = r#"{"items":[{"data":{"tls.crt":"eA=="}}]}"#;
        assert!(
            load_private_keys(without_key.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("tls.key")
        );
    }

    #[test]
    fn a_certificate_its_own_key_did_not_sign_is_told_apart() {
        let (_, cert) = generate_key_and_cert(2048, OffsetDateTime::now_utc(), DEFAULT_CERT_VALIDITY).unwrap();
        assert!(cert.is_self_signed());
        // The same certificate with one byte of its serial changed: it still parses, with the same public key,
        // but its signature no longer covers it (as with any certificate written for somebody else's key).
        let mut der = pem::parse(cert.pem()).unwrap().into_contents();
        der[16] ^= 0x01;
        let forged = Certificate::from_pem(pem::encode(&pem::Pem::new("CERTIFICATE", der)).as_bytes()).unwrap();
        assert_eq!(forged.fingerprint(), cert.fingerprint());
        assert!(!forged.is_self_signed());
    }

    #[test]
    fn a_certificate_given_as_private_key_is_named_as_such() {
        let (_, cert) = generate_key_and_cert(2048, OffsetDateTime::now_utc(), DEFAULT_CERT_VALIDITY).unwrap();
        let err = private_keys_from_pem(cert.pem().as_bytes()).unwrap_err();
        assert_eq!(err, PrivateKeyError::PublicOnly("certificate".into()));
    }

    #[test]
    fn keyring_tries_the_hinted_key_first_and_falls_back_to_others() {
        let a = PrivateKey::generate(2048).unwrap();
        let b = PrivateKey::generate(2048).unwrap();
        let blob = b.public_key().seal(b"x", b"v").unwrap();
        let mut ring = Keyring::new();
        let fa = ring.add(a).unwrap();
        let fb = ring.add(b).unwrap();
        assert_eq!(ring.open(b"x", &blob, Some(&fa)).unwrap().1, fb);
        assert_eq!(ring.open(b"x", &blob, None).unwrap().0.as_slice(), b"v");
        assert!(ring.open(b"y", &blob, None).is_err());
    }
}
