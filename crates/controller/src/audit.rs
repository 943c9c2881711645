//! The audit log: one JSON line per unseal, Secret write and HTTP API call — who, what, which key, outcome.
//!
//! Records are typed: there is no field that could take a secret value, so none can be logged by mistake.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What happened.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A SealedSecret was decrypted by the controller.
    Unseal,
    /// A Secret was created.
    SecretCreate,
    /// A Secret was updated.
    SecretUpdate,
    /// A workload was restarted because its Secret changed.
    RolloutRestart,
    /// An HTTP API call.
    Http,
}

/// One audit record. Item names and key fingerprints only, never values.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Record {
    /// Namespace of the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name of the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `ok` or `error`.
    pub outcome: &'static str,
    /// The error text, when there is one (errors never carry values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Item names involved.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// Fingerprints of the keys used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// HTTP method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// HTTP path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Who called: `X-Forwarded-For`, else the peer address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// A workload, for restarts (`Deployment/web`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Serialize)]
struct Line<'a> {
    ts: String,
    audit: Action,
    #[serde(flatten)]
    record: &'a Record,
}

/// Where audit lines go.
pub struct Audit {
    out: Mutex<Box<dyn Write + Send>>,
}

impl Audit {
    /// Lines on stdout (logs go to stderr, so the two never mix).
    pub fn stdout() -> Self {
        Self {
            out: Mutex::new(Box::new(io::stdout())),
        }
    }

    /// Lines appended to a file, created 0600.
    pub fn file(path: &Path) -> io::Result<Self> {
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            // Why 0600: names, namespaces and callers are not secret, but they are nobody else's business.
            options.mode(0o600);
        }
        Ok(Self {
            out: Mutex::new(Box::new(options.open(path)?)),
        })
    }

    /// Writes one line. A failing audit sink is reported on stderr and does not stop the controller.
    pub fn record(&self, action: Action, record: &Record) {
        let line = Line {
            ts: OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default(),
            audit: action,
            record,
        };
        let Ok(mut text) = serde_json::to_string(&line) else {
            return;
        };
        text.push('\n');
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            tracing::error!(error = %e, "cannot write the audit log");
        }
    }
}
