//! sealant-rotate: the rotation job. Find every SealedSecret of a GitOps repository, plan per item what is due
//! (regenerate, re-seal, report), produce the new files in memory, commit them on a branch without touching the
//! work tree, push, and open or update one pull request on GitHub, GitLab or Gitea.
//!
//! [`pipeline`] is the run (`plan`, then `propose`); its stages are separate so each can be tested alone:
//! [`scan`] reads (the walk and ages are sealant-repo's), [`plan`] is pure, [`trust`] says which certificates may be sealed to,
//! [`apply`] computes new file contents with a [`resealer`], [`git`] commits and pushes, [`forge`] talks to the
//! forge, [`report`] renders the plan. Nothing here prints: progress is `tracing` events, and the CLI decides
//! what to show.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

/// The libgit2 binding this crate uses, so callers name the same types.
pub use git2;

pub mod apply;
pub mod forge;
/// Value generators (in sealant-core, which `seal --generate` shares).
pub use sealant_core::generate;
pub mod git;
pub mod pipeline;
pub mod plan;
pub mod report;
pub mod resealer;
pub mod scan;
pub mod setup;
pub mod trust;

/// The prefix of every rotation branch: `sealant/rotate-<date>`.
pub const BRANCH_PREFIX: &str = "sealant/rotate-";
/// The annotation that names an item's generator: `sealant.dev/generate.<item>`.
pub use sealant_core::types::GENERATE_ANNOTATION_PREFIX;
/// When one item was last regenerated (`sealant.dev/rotated-at.<item>`), written when other items of the same
/// SealedSecret are still due, so the regenerated one is not regenerated again on the next run.
pub const ROTATED_AT_ANNOTATION_PREFIX: &str = "sealant.dev/rotated-at.";
/// The per-secret rotation period.
pub use sealant_core::types::ROTATE_EVERY_ANNOTATION;
/// Workloads to restart after the Secret changes (`true` or a list of `kind/name`).
pub const ROLLOUT_RESTART_ANNOTATION: &str = "sealant.dev/rollout-restart";
