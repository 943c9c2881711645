//! The envelope decryptor on hostile blobs: any input, raw or as a change to a valid ciphertext, must either be
//! refused or be exactly the original ciphertext; never a panic, never a "successful" open of a changed blob.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sealant_core::PrivateKey;

const LABEL: &[u8] = b"fuzz/web-db-password-prod";

static KEY: LazyLock<PrivateKey> = LazyLock::new(|| {
    let pem = include_bytes!("../../crates/core/tests/data/vectors/keys/key2048.key.pem");
    sealant_core::keys::load_private_keys(pem)
        .expect("the test key")
        .remove(0)
});

static SEALED: LazyLock<Vec<u8>> =
    LazyLock::new(|| KEY.public_key().seal(LABEL, b"fuzz-plaintext").expect("sealing works"));

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let blob = if mode & 1 == 0 {
        // Raw: length prefix, RSA block and AEAD part all from the input.
        rest.to_vec()
    } else {
        // Structured: XOR the input into the valid ciphertext at an offset, then maybe truncate or extend it.
        let mut blob = SEALED.clone();
        let offset = usize::from(mode >> 1) * blob.len() / 128;
        for (i, b) in rest.iter().enumerate() {
            if let Some(at) = blob.get_mut(offset + i) {
                *at ^= b;
            }
        }
        match mode >> 7 {
            0 => blob.truncate(blob.len().saturating_sub(rest.len() % 17)),
            _ => blob.extend_from_slice(&rest[..rest.len().min(5)]),
        }
        blob
    };
    if let Ok(plain) = KEY.open(LABEL, &blob) {
        assert!(blob == *SEALED, "a changed ciphertext opened");
        assert_eq!(&plain[..], b"fuzz-plaintext");
    }
});
