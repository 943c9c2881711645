//! The one test of this binary, so that the process-wide count of RSA private-key operations is its own: a
//! re-seal decrypts each item exactly once.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sealant_core::keys::{self, Keyring};
use sealant_core::seal::{SealOptions, reseal, seal_secret};
use sealant_core::types::secret_value;
use sealant_core::unseal::UnsealOptions;
use sealant_core::{Scope, Secret};

#[test]
fn a_reseal_costs_one_private_key_operation_per_item() {
    let now = time::OffsetDateTime::now_utc();
    let (key, cert) = keys::generate_key_and_cert(2048, now, keys::DEFAULT_CERT_VALIDITY).unwrap();
    let mut ring = Keyring::new();
    ring.add(key).unwrap();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("db".into()),
            namespace: Some("prod".into()),
            ..Default::default()
        },
        type_: None,
        immutable: None,
        data: (0..5)
            .map(|i| (format!("k{i}"), secret_value(vec![b'v'; 10])))
            .collect(),
    };
    let opts = SealOptions {
        scope: Some(Scope::NamespaceWide),
        ..SealOptions::default()
    };
    let sealed = seal_secret(&secret, &cert, &opts).unwrap();
    let before = sealant_core::envelope::rsa_private_operations();
    let resealed = reseal(&sealed, &ring, &cert, None, UnsealOptions::default()).unwrap();
    assert_eq!(resealed.items.len(), 5);
    assert_eq!(resealed.scope, Scope::NamespaceWide);
    assert_eq!(sealant_core::envelope::rsa_private_operations() - before, 5);
}
