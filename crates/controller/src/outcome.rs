//! What one reconcile did, or why it failed: the outcome, the error, and how each maps to metrics, conditions
//! and retries.

/// Why one reconcile failed. Messages name objects and items, never values.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The object does not parse as a SealedSecret.
    #[error("invalid SealedSecret: {0}")]
    Invalid(String),
    /// Decryption or templating failed (upstream text, e.g. `no key could decrypt secret (a, b)`).
    #[error("{0}")]
    Unseal(String),
    /// A Secret of the same name exists and is not ours.
    #[error("Resource \"{0}\" already exists and is not managed by SealedSecret")]
    Unmanaged(String),
    /// The Secret is immutable and its data would change.
    #[error(
        "Error updating {0}: the target Secret is immutable. Once a Secret is marked as immutable, it is not possible to revert this change nor to mutate the contents of the data field. You can only delete and recreate the Secret."
    )]
    Immutable(String),
    /// Reading the Secret failed.
    #[error("{0}")]
    Fetch(kube::Error),
    /// Writing the Secret failed.
    #[error("{0}")]
    Update(kube::Error),
    /// The audit log cannot be written and `--audit-fail-closed` is set: nothing is decrypted.
    #[error("the audit log cannot be written: decryption stopped (--audit-fail-closed)")]
    Audit,
}

impl ReconcileError {
    /// The metric `reason` (upstream's values, plus `invalid`).
    pub fn reason(&self) -> &'static str {
        match self {
            ReconcileError::Invalid(_) => "invalid",
            ReconcileError::Unseal(_) => "unseal",
            ReconcileError::Unmanaged(_) => "unmanaged",
            ReconcileError::Immutable(_) | ReconcileError::Update(_) => "update",
            ReconcileError::Fetch(_) => "fetch",
            ReconcileError::Audit => "audit",
        }
    }

    /// The status condition `reason` (upstream leaves it empty; sealant names the failure).
    pub(crate) fn condition_reason(&self) -> &'static str {
        match self {
            ReconcileError::Invalid(_) => "Invalid",
            ReconcileError::Unseal(_) => "UnsealFailed",
            ReconcileError::Unmanaged(_) => "Unmanaged",
            ReconcileError::Immutable(_) => "Immutable",
            ReconcileError::Fetch(_) | ReconcileError::Update(_) => "UpdateFailed",
            ReconcileError::Audit => "AuditUnavailable",
        }
    }

    /// Whether trying again later can help. Decryption failures are not retried on a timer: the same keys
    /// give the same answer, and each try costs RSA work an attacker chose. They are retried when the keys
    /// change or the object does.
    pub(crate) fn retryable(&self) -> bool {
        matches!(
            self,
            ReconcileError::Fetch(_) | ReconcileError::Update(_) | ReconcileError::Unmanaged(_) | ReconcileError::Audit
        )
    }
}

/// What a successful reconcile did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The Secret already holds this sealed input: nothing decrypted.
    Skipped,
    /// Decrypted; the Secret was already right.
    Unchanged,
    /// Created the Secret.
    Created,
    /// Updated the Secret; `data_changed` says whether its data changed.
    Updated {
        /// Whether `data` changed (restarts are only for that).
        data_changed: bool,
    },
}
