//! The manifest reader (YAML streams, JSON streams, v1 Lists) on hostile text: objects or a located error, never
//! a panic, whatever the nesting, aliases or encoding tricks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok((_, objects)) = sealant_core::manifest::read(text) {
        for object in objects {
            assert!(!object.document.is_empty(), "an object without its document number");
        }
    }
});
