//! Property tests: sealing then unsealing returns every value for any name, namespace, scope and binary
//! value (up to 1 MiB); a moved strict object never unseals; layout edits change only what they set.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use proptest::prelude::*;
use sealant_core::keys::{self, Certificate, Keyring};
use sealant_core::layout::{self, Editor};
use sealant_core::manifest::{self, Format, Object};
use sealant_core::seal::{SealOptions, seal_secret};
use sealant_core::types::secret_value;
use sealant_core::unseal::{UnsealOptions, unseal};
use sealant_core::{Scope, Secret};
use secrecy::ExposeSecret as _;

fn key() -> &'static (Keyring, Certificate) {
    static KEY: OnceLock<(Keyring, Certificate)> = OnceLock::new();
    KEY.get_or_init(|| {
        let (key, cert) =
            keys::generate_key_and_cert(2048, time::OffsetDateTime::now_utc(), keys::DEFAULT_CERT_VALIDITY).unwrap();
        let mut ring = Keyring::new();
        ring.add(key).unwrap();
        (ring, cert)
    })
}

fn dns_label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?"
}

fn scope() -> impl Strategy<Value = Scope> {
    prop::sample::select(Scope::ALL.to_vec())
}

fn items() -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
    let small = prop::collection::vec(any::<u8>(), 0..256);
    let large = prop::collection::vec(any::<u8>(), 0..(1 << 20));
    let value = prop_oneof![9 => small, 1 => large];
    prop::collection::btree_map("[A-Za-z0-9_-][A-Za-z0-9._-]{0,29}", value, 1..4)
}

fn secret(name: &str, ns: &str, items: &BTreeMap<String, Vec<u8>>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        immutable: None,
        data: items
            .iter()
            .map(|(k, v)| (k.clone(), secret_value(v.clone())))
            .collect(),
    }
}

#[test]
fn sealing_many_secrets_in_parallel_keeps_every_one_in_order() {
    let (ring, cert) = key();
    let items = BTreeMap::from([("k".to_string(), b"v".to_vec())]);
    let secrets: Vec<Secret> = (0..37).map(|i| secret(&format!("s{i}"), "ns", &items)).collect();
    let refs: Vec<&Secret> = secrets.iter().collect();
    let sealed = sealant_core::seal::seal_all(&refs, cert, &SealOptions::default());
    assert_eq!(sealed.len(), 37);
    for (i, result) in sealed.into_iter().enumerate() {
        let ss = result.unwrap();
        assert_eq!(ss.name(), format!("s{i}"));
        assert!(unseal(&ss, ring, UnsealOptions::default()).is_ok());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn sealed_values_unseal_to_the_same_bytes(name in dns_label(), ns in dns_label(), scope in scope(), items in items()) {
        let (ring, cert) = key();
        let opts = SealOptions { scope: Some(scope), ..SealOptions::default() };
        let sealed = seal_secret(&secret(&name, &ns, &items), cert, &opts).unwrap();
        // Through the text form too: what is written is what is read.
        let text = manifest::write_sealed(std::slice::from_ref(&sealed), Format::Yaml);
        let (_, mut objs) = manifest::read(&text).unwrap();
        let Some(Object::SealedSecret(read_back)) = objs.pop().map(|o| o.object) else { panic!("not a SealedSecret") };
        prop_assert_eq!(&*read_back, &sealed);
        let got = unseal(&read_back, ring, UnsealOptions::default()).unwrap().secret;
        let got: BTreeMap<String, Vec<u8>> = got.data.iter().map(|(k, v)| (k.clone(), v.expose_secret().to_vec())).collect();
        prop_assert_eq!(got, items);
    }

    #[test]
    fn a_strict_object_under_another_name_never_unseals(name in dns_label(), other in dns_label(), ns in dns_label()) {
        prop_assume!(name != other);
        let (ring, cert) = key();
        let items = BTreeMap::from([("k".to_string(), b"v".to_vec())]);
        let mut sealed = seal_secret(&secret(&name, &ns, &items), cert, &SealOptions::default()).unwrap();
        sealed.metadata.name = Some(other);
        prop_assert!(unseal(&sealed, ring, UnsealOptions::default()).is_err());
    }

    #[test]
    fn layout_edits_change_only_the_value_they_set(
        keys in prop::collection::btree_set("[a-z]{1,8}", 1..6),
        value in "[A-Za-z0-9+/=]{1,64}|[ -~]{0,20}",
        comment in "[a-z ]{0,10}",
    ) {
        let keys: Vec<String> = keys.into_iter().collect();
        let mut src = format!("# {comment}\nspec:\n  encryptedData:\n");
        for k in &keys {
            src.push_str(&format!("    {k}: old-{k}  # {comment}\n"));
        }
        src.push_str("  other: 1\n");
        let docs = layout::index(&src).unwrap();
        let mut editor = Editor::new(&src, &docs[0]).unwrap();
        editor.set(&["spec", "encryptedData", &keys[0]], &value).unwrap();
        let out = editor.finish().unwrap();
        // Exactly one line differs, and it reads back as the new value.
        let changed: Vec<_> = src.lines().zip(out.lines()).filter(|(a, b)| a != b).collect();
        prop_assert!(changed.len() <= 1);
        prop_assert_eq!(src.lines().count(), out.lines().count());
        #[derive(serde::Deserialize)]
        struct Doc { spec: Spec }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Spec { encrypted_data: BTreeMap<String, String> }
        let doc: Doc = serde_saphyr::from_str(&out).unwrap();
        prop_assert_eq!(&doc.spec.encrypted_data[&keys[0]], &value);
        for k in &keys[1..] {
            prop_assert_eq!(&doc.spec.encrypted_data[k], &format!("old-{k}"));
        }
    }
}

fn seal_with(scope: Scope) -> sealant_core::SealedSecret {
    let (_, cert) = key();
    let items = BTreeMap::from([("k".to_string(), b"v".to_vec())]);
    let opts = SealOptions {
        scope: Some(scope),
        ..SealOptions::default()
    };
    seal_secret(&secret("app", "prod", &items), cert, &opts).unwrap()
}

#[test]
fn the_scope_comes_from_the_ciphertext_whatever_the_annotations_say() {
    let (ring, _) = key();
    for (sealed_as, annotated_as) in [
        (Scope::ClusterWide, Scope::Strict),
        (Scope::Strict, Scope::ClusterWide),
        (Scope::NamespaceWide, Scope::Strict),
    ] {
        let mut ss = seal_with(sealed_as);
        let annotations = ss.metadata.annotations.get_or_insert_with(BTreeMap::new);
        annotated_as.apply_to(annotations);
        let unsealed = unseal(&ss, ring, UnsealOptions::default()).unwrap();
        assert_eq!(unsealed.scope, sealed_as, "annotated {annotated_as}");
        assert_eq!(unsealed.secret.data["k"].expose_secret(), b"v");
    }
}

#[test]
fn editing_the_scope_annotation_never_lets_a_strict_item_open_elsewhere() {
    let (ring, _) = key();
    let mut ss = seal_with(Scope::Strict);
    ss.metadata.name = Some("other".into());
    let annotations = ss.metadata.annotations.get_or_insert_with(BTreeMap::new);
    Scope::ClusterWide.apply_to(annotations);
    let err = unseal(&ss, ring, UnsealOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), "no key could decrypt secret (k)");
}

#[test]
fn a_reseal_keeps_the_scope_the_ciphertext_opened_under_whatever_the_annotations_claim() {
    let (ring, cert) = key();
    let items = BTreeMap::from([("password".to_string(), b"victim-value".to_vec())]);
    let strict = seal_secret(&secret("db", "victim", &items), cert, &SealOptions::default()).unwrap();
    let mut claimed = strict.clone();
    for annotations in [
        claimed.metadata.annotations.get_or_insert_with(Default::default),
        claimed
            .spec
            .template
            .get_or_insert_with(Default::default)
            .metadata
            .get_or_insert_with(Default::default)
            .annotations
            .get_or_insert_with(Default::default),
    ] {
        annotations.insert("sealedsecrets.bitnami.com/cluster-wide".into(), "true".into());
    }
    let resealed = sealant_core::seal::reseal(&claimed, ring, cert, None, UnsealOptions::default()).unwrap();
    assert_eq!(resealed.scope, Scope::Strict);
    assert_eq!(resealed.warnings.len(), 1, "the template's claim is reported");
    assert!(
        resealed
            .sealed
            .metadata
            .annotations
            .as_ref()
            .unwrap()
            .get("sealedsecrets.bitnami.com/cluster-wide")
            .is_none()
    );
    let mut moved = resealed.sealed.clone();
    moved.metadata.name = Some("loot".into());
    moved.metadata.namespace = Some("mallory".into());
    assert!(unseal(&moved, ring, UnsealOptions::default()).is_err(), "widened");
    let opened = unseal(&resealed.sealed, ring, UnsealOptions::default()).unwrap();
    assert_eq!(opened.secret.data["password"].expose_secret(), b"victim-value");
}
