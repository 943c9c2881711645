//! The layout-preserving writer: a document edited with no changes comes back byte for byte; setting an existing
//! scalar changes that value only and leaves a stream that still indexes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealant_core::layout;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(documents) = layout::index(text) else { return };
    for number in 1..=documents.len() {
        if let Ok(same) = layout::edit_document(text, number, &[]) {
            assert_eq!(same, text, "an edit without changes changed document {number}");
        }
        let path = vec!["metadata".to_string(), "name".to_string()];
        if let Ok(edited) = layout::edit_document(text, number, &[(path, "fuzz-renamed".to_string())]) {
            assert!(
                layout::index(&edited).is_ok(),
                "an edit left a stream that does not index"
            );
        }
    }
});
