//! One document of a JSON stream replaced, every other kept byte for byte.

use serde::de::IgnoredAny;

use super::json_reason;

/// Replaces the top-level JSON document `number` (1-based) of a JSON stream with `replacement`, keeping every
/// other document byte for byte. Nothing in a file is ever dropped by a rewrite: a document that is not there
/// is an error, not an append.
pub fn replace_json_document(text: &str, number: usize, replacement: &str) -> Result<String, JsonDocumentError> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<IgnoredAny>();
    for n in 1.. {
        let before = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Err(e)) => {
                return Err(JsonDocumentError::Invalid {
                    document: n,
                    reason: json_reason(&e),
                });
            }
            Some(Ok(_)) => {}
        }
        if n == number {
            let start = before + (text[before..].len() - text[before..].trim_start().len());
            let end = stream.byte_offset();
            return Ok(format!("{}{}{}", &text[..start], replacement.trim_end(), &text[end..]));
        }
    }
    Err(JsonDocumentError::Missing(number))
}

/// Why one document of a JSON stream could not be replaced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonDocumentError {
    /// A document before it does not parse.
    #[error("document {document}: not valid JSON: {reason}")]
    Invalid {
        /// 1-based document number.
        document: usize,
        /// Why (never a copy of the input).
        reason: String,
    },
    /// There is no such document.
    #[error("document {0} is not in the file")]
    Missing(usize),
}
