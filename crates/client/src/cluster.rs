//! A kube client for one cluster (a kubeconfig and a context in it, or the usual defaults), and the small
//! runtime the CLI drives it with.

use std::path::PathBuf;

use crate::{Error, Result};

/// A current-thread runtime for the commands that talk to the API server.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// How to reach one cluster's API server: a kubeconfig file (else `KUBECONFIG`, `~/.kube/config`, or the
/// in-cluster service account) and a context in it (else its current context).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// The kubeconfig file.
    pub kubeconfig: Option<PathBuf>,
    /// The context in it.
    pub context: Option<String>,
}

impl Access {
    /// The kubeconfig `file` (if any) and its context `context` (if any).
    pub fn new(kubeconfig: Option<PathBuf>, context: Option<String>) -> Self {
        Self { kubeconfig, context }
    }

    /// The kubeconfig this access reads, as parsed (`None` when there is none, e.g. in a cluster).
    pub fn kubeconfig_file(&self) -> Option<kube::config::Kubeconfig> {
        match &self.kubeconfig {
            Some(path) => kube::config::Kubeconfig::read_from(path).ok(),
            None => kube::config::Kubeconfig::read().ok(),
        }
    }

    /// The namespace of the context used (`default` when it names none); `None` without a kubeconfig or with a
    /// context it does not have.
    pub fn namespace(&self) -> Option<String> {
        let config = self.kubeconfig_file()?;
        let name = self.context.as_deref().or(config.current_context.as_deref())?;
        let context = config.contexts.iter().find(|c| c.name == name)?.context.as_ref()?;
        Some(context.namespace.clone().unwrap_or_else(|| "default".into()))
    }

    /// Where this access points, for messages: `context prod in FILE`, or the defaults.
    pub fn describe(&self) -> String {
        let file = self
            .kubeconfig
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the default kubeconfig".into());
        match &self.context {
            Some(context) => format!("context {context} of {file}"),
            None => format!("the current context of {file}"),
        }
    }

    /// A client for this cluster.
    pub async fn client(&self) -> Result<kube::Client> {
        let options = kube::config::KubeConfigOptions {
            context: self.context.clone(),
            ..kube::config::KubeConfigOptions::default()
        };
        let config = match (&self.kubeconfig, &self.context) {
            (Some(path), _) => {
                let shown = path.display().to_string();
                let file = kube::config::Kubeconfig::read_from(path).map_err(|source| Error::Kubeconfig {
                    path: shown.clone(),
                    source,
                })?;
                kube::Config::from_custom_kubeconfig(file, &options)
                    .await
                    .map_err(|source| Error::Kubeconfig { path: shown, source })?
            }
            // A named context lives in a kubeconfig, never in the in-cluster configuration.
            (None, Some(_)) => kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|source| Error::Kubeconfig {
                    path: "KUBECONFIG or ~/.kube/config".into(),
                    source,
                })?,
            (None, None) => kube::Config::infer().await.map_err(Error::Infer)?,
        };
        kube::Client::try_from(config).map_err(Error::Config)
    }
}
