//! The hybrid envelope of Sealed Secrets, and the only file that touches cryptographic primitives.
//!
//! One sealed item is `u16be(L) ‖ RSA-OAEP-SHA256(session_key, label) ‖ AES-256-GCM(zero nonce)(plaintext) ‖ tag`,
//! where `L` is the RSA modulus size in bytes (spec section 1.2). Everything here is AWS-LC through `aws-lc-rs`:
//! its RSA is constant-time with blinding and a single constant-time OAEP padding check, which matters because
//! the controller is a decryption oracle for anyone who can create a SealedSecret (spec 1.11, `notes/crates.md`).

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{
    self, KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey,
};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use zeroize::Zeroizing;

/// RSA private-key operations done by this process (every [`PrivateKey::open`] that reached the RSA step).
///
/// The controller exports it as a metric: it is the expensive step, and the one a resync must not repeat.
static RSA_PRIVATE_OPERATIONS: AtomicU64 = AtomicU64::new(0);

/// How many RSA private-key operations this process has done so far.
pub fn rsa_private_operations() -> u64 {
    RSA_PRIVATE_OPERATIONS.load(Ordering::Relaxed)
}

/// Length of the per-item AES-256 session key.
pub const SESSION_KEY_LEN: usize = 32;
/// Length of the GCM tag appended to every AES ciphertext.
pub const TAG_LEN: usize = 16;
/// Size of the big-endian length prefix in front of the RSA block.
const PREFIX_LEN: usize = 2;

/// Failure to open one sealed item.
///
/// Deliberately carries no detail: a too-short blob, a bad OAEP padding, a wrong label and a bad GCM tag all
/// look the same to the caller, so a decryption service built on this cannot be used as a padding oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no key could decrypt secret")]
pub struct OpenError;

/// A key or cryptographic operation the backend refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// An RSA public key that seals items.
#[derive(Clone)]
pub struct PublicKey {
    oaep: std::sync::Arc<OaepPublicEncryptingKey>,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey").field("bits", &self.bits()).finish()
    }
}

impl PublicKey {
    /// Reads an RSA key from an X.509 `SubjectPublicKeyInfo` (DER).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let key =
            PublicEncryptingKey::from_der(der).map_err(|e| KeyError(format!("not a usable RSA public key: {e}")))?;
        let oaep = OaepPublicEncryptingKey::new(key).map_err(|_| KeyError("RSA key cannot be used for OAEP".into()))?;
        Ok(Self {
            oaep: std::sync::Arc::new(oaep),
            spki_der: der.to_vec(),
        })
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.oaep.key_size_bits()
    }

    /// The size of one RSA block (the `L` of the envelope) in bytes.
    pub fn block_len(&self) -> usize {
        self.oaep.ciphertext_size()
    }

    /// The OpenSSH-style fingerprint `SHA256:<base64, no padding>` of this key, as `ssh-keygen -l -E sha256`
    /// prints it and as upstream names its keys (spec 1.7).
    pub fn fingerprint(&self) -> Result<String, KeyError> {
        let parsed = rsa::PublicKey::from_der(&self.spki_der)
            .map_err(|e| KeyError(format!("cannot read RSA public key: {e}")))?;
        let mut wire = Vec::with_capacity(self.block_len() + 32);
        ssh_string(&mut wire, b"ssh-rsa");
        ssh_mpint(&mut wire, parsed.exponent().big_endian_without_leading_zero());
        ssh_mpint(&mut wire, parsed.modulus().big_endian_without_leading_zero());
        let hash = digest::digest(&digest::SHA256, &wire);
        Ok(format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(hash.as_ref())
        ))
    }

    /// Seals one item: a fresh random session key per call, so the fixed zero GCM nonce is never reused with
    /// the same key (the only reason upstream's zero nonce is safe, spec 1.1).
    pub fn seal(&self, label: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut session_key = Zeroizing::new([0u8; SESSION_KEY_LEN]);
        SystemRandom::new()
            .fill(session_key.as_mut())
            .map_err(|_| KeyError("the system random number generator failed".into()))?;
        let mut wrapped = vec![0u8; self.block_len()];
        let wrapped_len = self
            .oaep
            .encrypt(&OAEP_SHA256_MGF1SHA256, session_key.as_ref(), &mut wrapped, Some(label))
            .map_err(|_| KeyError("RSA-OAEP encryption failed".into()))?
            .len();
        wrapped.truncate(wrapped_len);
        assemble(&wrapped, &session_key, plaintext)
    }
}

/// Builds the envelope from an already RSA-wrapped session key.
///
/// Public so that the known-answer tests can feed an RSA block made with a fixed OAEP seed (AWS-LC takes no
/// caller RNG); production code always goes through [`PublicKey::seal`], which draws the session key itself.
#[doc(hidden)]
pub fn assemble(
    wrapped_session_key: &[u8],
    session_key: &[u8; SESSION_KEY_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, KeyError> {
    let rsa_len =
        u16::try_from(wrapped_session_key.len()).map_err(|_| KeyError("RSA block longer than 65535 bytes".into()))?;
    let key = aead_key(session_key).map_err(|_| KeyError("bad AES session key".into()))?;
    let mut out = Vec::with_capacity(PREFIX_LEN + wrapped_session_key.len() + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&rsa_len.to_be_bytes());
    out.extend_from_slice(wrapped_session_key);
    let body_start = out.len();
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(zero_nonce(), Aad::empty(), &mut out[body_start..])
        .map_err(|_| KeyError("AES-GCM encryption failed".into()))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// An RSA private key that opens items.
pub struct PrivateKey {
    oaep: OaepPrivateDecryptingKey,
    raw: PrivateDecryptingKey,
    public: PublicKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Why: never print key material, even in debug output.
        f.debug_struct("PrivateKey")
            .field("bits", &self.public.bits())
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Reads a PKCS#8 `PrivateKeyInfo` (DER) holding an RSA key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let key = PrivateDecryptingKey::from_pkcs8(der)
            .map_err(|e| KeyError(format!("not a usable RSA private key: {e}")))?;
        Self::from_decrypting_key(key)
    }

    /// Reads a PKCS#1 `RSAPrivateKey` (DER), the form upstream writes into `tls.key`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair = rsa::KeyPair::from_der(der).map_err(|e| KeyError(format!("not a usable RSA private key: {e}")))?;
        let pkcs8: Pkcs8V1Der<'static> = pair
            .as_der()
            .map_err(|_| KeyError("cannot re-encode RSA private key".into()))?;
        Self::from_pkcs8_der(pkcs8.as_ref())
    }

    /// Generates a new RSA key of 2048, 3072, 4096 or 8192 bits.
    pub fn generate(bits: usize) -> Result<Self, KeyError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            8192 => KeySize::Rsa8192,
            other => return Err(KeyError(format!("unsupported RSA key size {other}"))),
        };
        let key = PrivateDecryptingKey::generate(size).map_err(|_| KeyError("RSA key generation failed".into()))?;
        Self::from_decrypting_key(key)
    }

    fn from_decrypting_key(key: PrivateDecryptingKey) -> Result<Self, KeyError> {
        let spki: PublicKeyX509Der<'static> = key
            .public_key()
            .as_der()
            .map_err(|_| KeyError("cannot encode RSA public key".into()))?;
        let public = PublicKey::from_spki_der(spki.as_ref())?;
        let oaep = OaepPrivateDecryptingKey::new(key.clone())
            .map_err(|_| KeyError("RSA key cannot be used for OAEP".into()))?;
        Ok(Self { oaep, raw: key, public })
    }

    /// The matching public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The key as PKCS#8 DER, in a buffer that is wiped when dropped.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let der: Pkcs8V1Der<'static> = self
            .raw
            .as_der()
            .map_err(|_| KeyError("cannot encode RSA private key".into()))?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }

    /// Opens one sealed item, or fails with the uniform [`OpenError`].
    pub fn open(&self, label: &[u8], blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        if blob.len() < PREFIX_LEN {
            return Err(OpenError);
        }
        let rsa_len = usize::from(u16::from_be_bytes([blob[0], blob[1]]));
        let rest = &blob[PREFIX_LEN..];
        if rest.len() < rsa_len {
            return Err(OpenError);
        }
        let (wrapped, sealed) = rest.split_at(rsa_len);
        let mut session_key = Zeroizing::new(vec![0u8; self.oaep.min_output_size()]);
        RSA_PRIVATE_OPERATIONS.fetch_add(1, Ordering::Relaxed);
        let len = self
            .oaep
            .decrypt(&OAEP_SHA256_MGF1SHA256, wrapped, &mut session_key, Some(label))
            .map_err(|_| OpenError)?
            .len();
        let session_key: &[u8; SESSION_KEY_LEN] = session_key[..len].try_into().map_err(|_| OpenError)?;
        let key = aead_key(session_key).map_err(|_| OpenError)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let plain_len = key
            .open_in_place(zero_nonce(), Aad::empty(), &mut buf)
            .map_err(|_| OpenError)?
            .len();
        buf.truncate(plain_len);
        Ok(buf)
    }
}

/// SHA-256 of `data`, hex-free (raw 32 bytes).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), KeyError> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| KeyError("the system random number generator failed".into()))
}

fn aead_key(session_key: &[u8; SESSION_KEY_LEN]) -> Result<LessSafeKey, aws_lc_rs::error::Unspecified> {
    Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, session_key)?))
}

/// Why a zero nonce: the format fixes it (spec 1.1); it is safe only because every session key is fresh and
/// used for exactly one message, which [`PublicKey::seal`] guarantees.
fn zero_nonce() -> Nonce {
    Nonce::assume_unique_for_key([0u8; 12])
}

fn ssh_string(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(data);
}

fn ssh_mpint(out: &mut Vec<u8>, magnitude: &[u8]) {
    let start = magnitude.iter().position(|&b| b != 0).unwrap_or(magnitude.len());
    let digits = &magnitude[start..];
    let pad = digits.first().is_some_and(|&b| b & 0x80 != 0);
    let len = digits.len() + usize::from(pad);
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
    if pad {
        out.push(0);
    }
    out.extend_from_slice(digits);
}

/// Whether `signature` is an RSASSA-PKCS1-v1_5 SHA-256 signature of `message` by the RSA key `rsa_public_key`
/// (PKCS#1 `RSAPublicKey` DER): how a certificate's self-signature is checked.
pub fn rsa_pkcs1_sha256_valid(rsa_public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, rsa_public_key)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PrivateKey {
        PrivateKey::generate(2048).unwrap()
    }

    #[test]
    fn sealed_item_opens_with_the_same_label_only() {
        let k = key();
        let blob = k.public_key().seal(b"ns/name", b"hunter2").unwrap();
        assert_eq!(&blob[..2], &256u16.to_be_bytes());
        assert_eq!(blob.len(), 2 + 256 + 7 + TAG_LEN);
        assert_eq!(k.open(b"ns/name", &blob).unwrap().as_slice(), b"hunter2");
        assert_eq!(k.open(b"ns/other", &blob), Err(OpenError));
        assert_eq!(k.open(b"", &blob), Err(OpenError));
    }

    #[test]
    fn truncated_or_tampered_blobs_fail_uniformly() {
        let k = key();
        let blob = k.public_key().seal(b"", b"value").unwrap();
        assert_eq!(k.open(b"", &blob[..1]), Err(OpenError));
        assert_eq!(k.open(b"", &blob[..100]), Err(OpenError));
        let mut tampered = blob.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(k.open(b"", &tampered), Err(OpenError));
    }

    #[test]
    fn two_seals_of_the_same_value_differ() {
        let k = key();
        let a = k.public_key().seal(b"l", b"same").unwrap();
        let b = k.public_key().seal(b"l", b"same").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn mpint_adds_a_zero_byte_when_the_high_bit_is_set() {
        let mut out = Vec::new();
        ssh_mpint(&mut out, &[0, 0x80, 1]);
        assert_eq!(out, vec![0, 0, 0, 3, 0, 0x80, 1]);
        let mut out = Vec::new();
        ssh_mpint(&mut out, &[1, 0, 1]);
        assert_eq!(out, vec![0, 0, 0, 3, 1, 0, 1]);
    }
}
