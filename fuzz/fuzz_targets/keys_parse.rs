//! Certificate and private-key parsing on hostile PEM/DER text: an error or a key, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = sealant_core::Certificate::from_pem(data) {
        // A parsed certificate has a usable RSA key and a fingerprint.
        assert!(cert.public_key().bits() >= 1024);
        assert!(cert.fingerprint().starts_with("SHA256:"));
    }
    let _ = sealant_core::keys::load_private_keys(data);
});
