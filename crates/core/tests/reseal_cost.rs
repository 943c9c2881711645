//! RSA work per operation, counted with the process-wide counter of private-key operations: this binary holds
//! only these tests, and they take turns (`ONE_AT_A_TIME`) so each count is its own.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sealant_core::keys::{self, Keyring};
use sealant_core::seal::{SealOptions, reseal, seal_secret};
use sealant_core::types::secret_value;
use sealant_core::unseal::UnsealOptions;
use sealant_core::{Scope, Secret};

/// `prod/db` with `items` ten-byte items.
fn secret_with_items(items: usize) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some("db".into()),
            namespace: Some("prod".into()),
            ..Default::default()
        },
        type_: None,
        immutable: None,
        data: (0..items)
            .map(|i| (format!("k{i:02}"), secret_value(vec![b'v'; 10])))
            .collect(),
    }
}

/// Held by each test while it counts.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_reseal_costs_one_private_key_operation_per_item() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let now = time::OffsetDateTime::now_utc();
    let (key, cert) = keys::generate_key_and_cert(2048, now, keys::DEFAULT_CERT_VALIDITY).unwrap();
    let mut ring = Keyring::new();
    ring.add(key).unwrap();
    let secret = secret_with_items(5);
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

#[test]
fn items_without_a_key_annotation_cost_about_one_operation_each_whatever_the_number_of_keys() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let now = time::OffsetDateTime::now_utc();
    let mut ring = Keyring::new();
    let mut last = None;
    for _ in 0..4 {
        let (key, cert) = keys::generate_key_and_cert(2048, now, keys::DEFAULT_CERT_VALIDITY).unwrap();
        ring.add(key).unwrap();
        last = Some(cert);
    }
    let cert = last.unwrap();
    let secret = secret_with_items(20);
    // Cluster-wide and without sealant's key annotation, as kubeseal writes it: nothing hints the key or scope.
    let opts = SealOptions {
        scope: Some(Scope::ClusterWide),
        ..SealOptions::default()
    };
    let mut sealed = seal_secret(&secret, &cert, &opts).unwrap();
    sealed.metadata.annotations = None;
    let before = sealant_core::envelope::rsa_private_operations();
    let opened = sealant_core::unseal::unseal(&sealed, &ring, UnsealOptions::default()).unwrap();
    assert_eq!(opened.secret.data.len(), 20);
    let spent = sealant_core::envelope::rsa_private_operations() - before;
    // The first item may try every key under every label (3 × 4); the other 19 take one each.
    assert!(spent <= 19 + 3 * 4, "{spent} operations for 20 items and 4 keys");
}
