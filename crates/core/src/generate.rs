//! New values for items that carry `sealant.dev/generate.<item>`: `base64:N`, `hex:N` (N random bytes),
//! `alnum:N` (N characters), `uuid` (version 4). Every byte comes from AWS-LC's CSPRNG. Also what `seal
//! --generate` needs: item specs, generated items added to input Secrets, the annotation on the SealedSecrets,
//! and the estimate that flags a weak hand-typed value.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use zeroize::Zeroizing;

/// The largest N accepted: a typo such as `hex:3200000` must not allocate megabytes of secret.
const MAX_LEN: usize = 4096;
/// The smallest N accepted: fewer than 16 random bytes (or alphanumerics) is below what a credential needs.
const MIN_LEN: usize = 16;

const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// How to make a new value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    /// N random bytes, standard base64 (padded).
    Base64(usize),
    /// N random bytes, lower-case hex.
    Hex(usize),
    /// N characters from `[A-Za-z0-9]`, uniformly.
    Alnum(usize),
    /// A random (version 4) UUID.
    Uuid,
}

/// A generator annotation that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("generator {spec:?}: {message}")]
pub struct GeneratorError {
    /// The annotation's value.
    pub spec: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl FromStr for Generator {
    type Err = GeneratorError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = |message: String| GeneratorError {
            spec: spec.to_string(),
            message,
        };
        if spec.trim() == "uuid" {
            return Ok(Generator::Uuid);
        }
        let (kind, len) = spec
            .trim()
            .split_once(':')
            .ok_or_else(|| err("want base64:N, hex:N, alnum:N or uuid".into()))?;
        let len: usize = len.parse().map_err(|_| err(format!("{len:?} is not a length")))?;
        if !(MIN_LEN..=MAX_LEN).contains(&len) {
            return Err(err(format!("length must be between {MIN_LEN} and {MAX_LEN}")));
        }
        match kind {
            "base64" => Ok(Generator::Base64(len)),
            "hex" => Ok(Generator::Hex(len)),
            "alnum" => Ok(Generator::Alnum(len)),
            other => Err(err(format!("unknown kind {other:?}: want base64, hex, alnum or uuid"))),
        }
    }
}

impl fmt::Display for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Generator::Base64(n) => write!(f, "base64:{n}"),
            Generator::Hex(n) => write!(f, "hex:{n}"),
            Generator::Alnum(n) => write!(f, "alnum:{n}"),
            Generator::Uuid => f.write_str("uuid"),
        }
    }
}

/// The random source failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RandomError(String);

fn random(len: usize) -> Result<Zeroizing<Vec<u8>>, RandomError> {
    let mut buf = Zeroizing::new(vec![0u8; len]);
    crate::envelope::random_bytes(&mut buf).map_err(|e| RandomError(e.0))?;
    Ok(buf)
}

impl Generator {
    /// The entropy of one value, in bits.
    pub fn entropy_bits(&self) -> f64 {
        match *self {
            Generator::Base64(n) | Generator::Hex(n) => 8.0 * n as f64,
            Generator::Alnum(n) => n as f64 * 62f64.log2(),
            Generator::Uuid => 122.0,
        }
    }

    /// A new value.
    pub fn generate(&self) -> Result<Zeroizing<Vec<u8>>, RandomError> {
        Ok(match *self {
            Generator::Base64(n) => Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .encode(&*random(n)?)
                    .into_bytes(),
            ),
            Generator::Hex(n) => {
                let bytes = random(n)?;
                let mut out = Zeroizing::new(Vec::with_capacity(2 * n));
                for b in bytes.iter() {
                    out.push(b"0123456789abcdef"[usize::from(b >> 4)]);
                    out.push(b"0123456789abcdef"[usize::from(b & 15)]);
                }
                out
            }
            Generator::Alnum(n) => {
                let mut out = Zeroizing::new(Vec::with_capacity(n));
                while out.len() < n {
                    // Why rejection sampling: 256 is not a multiple of 62; bytes ≥ 248 would skew the alphabet.
                    for b in random(n)?.iter() {
                        if *b < 248 && out.len() < n {
                            out.push(ALNUM[usize::from(b % 62)]);
                        }
                    }
                }
                out
            }
            Generator::Uuid => {
                let bytes = random(16)?;
                let mut raw = [0u8; 16];
                raw.copy_from_slice(&bytes);
                let id = uuid::Builder::from_random_bytes(raw).into_uuid();
                raw.fill(0);
                Zeroizing::new(id.hyphenated().to_string().into_bytes())
            }
        })
    }
}

/// The generator `seal --generate ITEM` uses without one: 32 random bytes in base64, as `openssl rand -base64 32`.
pub const DEFAULT: Generator = Generator::Base64(32);

/// The least entropy a credential-like literal value should carry, in bits: what the smallest generator
/// (16 random bytes) gives. A hand-typed value below it gets a warning.
pub const MIN_ENTROPY_BITS: f64 = 128.0;

/// `ITEM` (the [`DEFAULT`] generator) or `ITEM=GENERATOR`.
pub fn parse_item(spec: &str) -> Result<(String, Generator), GeneratorError> {
    let (item, generator) = match spec.split_once('=') {
        Some((item, generator)) => (item.trim(), generator.parse()?),
        None => (spec.trim(), DEFAULT),
    };
    // The same rule as the API server's for a Secret's keys.
    let valid = !item.is_empty()
        && item.len() <= 253
        && item
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !valid {
        return Err(GeneratorError {
            spec: spec.to_string(),
            message: "the item name must be letters, digits, '-', '_' or '.'".into(),
        });
    }
    Ok((item.to_string(), generator))
}

/// Why generated items could not be added to the input.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// The Secret already has an item of that name.
    #[error("document {document} (line {line}): the Secret already has item {item}; --generate makes new items only")]
    Exists {
        /// Its document.
        document: String,
        /// Its line.
        line: usize,
        /// The item.
        item: String,
    },
    /// The random source failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Adds a new value for each of `items` to every Secret of `objects`.
pub fn add_to_secrets(objects: &mut [crate::manifest::Located], items: &[(String, Generator)]) -> Result<(), AddError> {
    for located in objects {
        let crate::manifest::Object::Secret(secret) = &mut located.object else {
            continue;
        };
        for (item, generator) in items {
            if secret.data.contains_key(item) {
                return Err(AddError::Exists {
                    document: located.document.clone(),
                    line: located.line,
                    item: item.clone(),
                });
            }
            let mut value = generator.generate()?;
            // Moved out of the wiping wrapper, not copied: the secret type wipes it from here on.
            secret
                .data
                .insert(item.clone(), crate::types::secret_value(std::mem::take(&mut *value)));
        }
    }
    Ok(())
}

/// Marks each of `items` on every SealedSecret of `sealed` with `sealant.dev/generate.<item>`, so rotation makes
/// a new value when it is due.
pub fn annotate(sealed: &mut [crate::types::SealedSecret], items: &[(String, Generator)]) {
    for ss in sealed {
        let annotations = ss.metadata.annotations.get_or_insert_with(Default::default);
        for (item, generator) in items {
            annotations.insert(
                format!("{}{item}", crate::types::GENERATE_ANNOTATION_PREFIX),
                generator.to_string(),
            );
        }
    }
}

/// An upper bound of a value's entropy in bits: its length times log2 of the alphabet its character classes
/// span (lower case, upper case, digits, other printable ASCII, anything else counted as a byte). A value of
/// repeated or dictionary words scores high here too; a low score is therefore certainly weak.
pub fn entropy_estimate_bits(value: &[u8]) -> f64 {
    type Class = fn(&u8) -> bool;
    let classes: [(Class, u32); 4] = [
        (u8::is_ascii_lowercase, 26),
        (u8::is_ascii_uppercase, 26),
        (u8::is_ascii_digit, 10),
        (u8::is_ascii_punctuation, 32),
    ];
    let mut alphabet = 0u32;
    for (in_class, size) in classes {
        if value.iter().any(in_class) {
            alphabet += size;
        }
    }
    if value.iter().any(|b| !b.is_ascii_graphic()) {
        alphabet = 256;
    }
    if alphabet == 0 {
        return 0.0;
    }
    value.len() as f64 * f64::from(alphabet).log2()
}

/// Whether `item` names a credential (password, token, key, secret…): where a weak value matters.
pub fn is_credential_name(item: &str) -> bool {
    let item = item.to_ascii_lowercase();
    ["pass", "pwd", "token", "secret", "key", "credential", "auth"]
        .iter()
        .any(|w| item.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_specs_take_the_default_generator_and_refuse_bad_names() {
        assert_eq!(
            parse_item("password").unwrap(),
            ("password".into(), Generator::Base64(32))
        );
        assert_eq!(
            parse_item("api-key=hex:24").unwrap(),
            ("api-key".into(), Generator::Hex(24))
        );
        assert_eq!(parse_item("id=uuid").unwrap().1, Generator::Uuid);
        for bad in ["", "a b", "../x", "p=hex:8", "p=words:3"] {
            assert!(parse_item(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn weak_literals_score_below_the_minimum_and_generated_values_above() {
        assert!(entropy_estimate_bits(b"hunter2") < MIN_ENTROPY_BITS);
        assert!(entropy_estimate_bits(b"changeme-please") < MIN_ENTROPY_BITS);
        for g in [Generator::Base64(16), Generator::Hex(16), Generator::Alnum(22)] {
            assert!(entropy_estimate_bits(&g.generate().unwrap()) >= MIN_ENTROPY_BITS, "{g}");
        }
        assert!(is_credential_name("DB_PASSWORD") && is_credential_name("apiKey") && !is_credential_name("host"));
    }

    #[test]
    fn specs_parse_and_print_back() {
        for spec in ["base64:32", "hex:16", "alnum:40", "uuid"] {
            assert_eq!(spec.parse::<Generator>().unwrap().to_string(), spec);
        }
    }

    #[test]
    fn short_huge_and_unknown_specs_are_refused() {
        for spec in ["base64:8", "hex:100000", "alnum", "words:5", "base64:x"] {
            assert!(spec.parse::<Generator>().is_err(), "{spec}");
        }
    }

    #[test]
    fn values_have_the_requested_length_and_alphabet() {
        let v = Generator::Alnum(40).generate().unwrap();
        assert_eq!(v.len(), 40);
        assert!(v.iter().all(u8::is_ascii_alphanumeric));
        let v = Generator::Hex(16).generate().unwrap();
        assert_eq!(v.len(), 32);
        assert!(v.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)));
        let v = Generator::Base64(32).generate().unwrap();
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(&*v).unwrap().len(), 32);
        let v = Generator::Uuid.generate().unwrap();
        let id = uuid::Uuid::parse_str(std::str::from_utf8(&v).unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 4);
    }

    #[test]
    fn alnum_uses_the_whole_alphabet_roughly_evenly() {
        let mut counts = [0usize; 62];
        let v = Generator::Alnum(4096).generate().unwrap();
        for b in v.iter() {
            counts[ALNUM.iter().position(|a| a == b).unwrap()] += 1;
        }
        // 4096 / 62 ≈ 66 per symbol; a skewed or truncated alphabet leaves some near zero.
        assert!(counts.iter().all(|&c| c > 25), "{counts:?}");
    }

    #[test]
    fn two_values_differ() {
        assert_ne!(
            *Generator::Hex(16).generate().unwrap(),
            *Generator::Hex(16).generate().unwrap()
        );
    }
}
