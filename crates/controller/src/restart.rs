//! Opt-in rolling restarts (`sealant.dev/rollout-restart`): after a Secret's data changes, the Deployments,
//! StatefulSets and DaemonSets that use it get the pod-template annotation `kubectl rollout restart` sets, so
//! their pods pick up the new value (the security policy's rotation step 3).

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::PodSpec;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt as _};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Annotation on a SealedSecret: `true` (every workload using the Secret) or a list `Deployment/web,StatefulSet/db`.
pub const ROLLOUT_RESTART_ANNOTATION: &str = "sealant.dev/rollout-restart";
/// On a Deployment, StatefulSet or DaemonSet: its owner accepts rolling restarts by sealant (`"true"`).
///
/// Why a second opt-in, on the workload: the SealedSecret's annotation is written by whoever may create
/// SealedSecrets in the namespace; a restart is the workload owner's decision.
pub const ACCEPT_RESTARTS_ANNOTATION: &str = "sealant.dev/accept-restarts";
/// The pod-template annotation `kubectl rollout restart` writes.
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";

/// Which workloads to restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// Every Deployment, StatefulSet and DaemonSet of the namespace whose pods use the Secret.
    Referencing,
    /// These, by `Kind/name`.
    Named(Vec<(String, String)>),
}

impl Targets {
    /// Reads the annotation value; `None` when it asks for nothing (`false`, empty, or no valid entry).
    pub fn parse(value: &str) -> Option<Targets> {
        let value = value.trim();
        match value {
            "true" => Some(Targets::Referencing),
            "" | "false" => None,
            list => {
                let named: Vec<(String, String)> = list
                    .split(',')
                    .filter_map(|entry| {
                        let (kind, name) = entry.trim().split_once('/')?;
                        let kind = match kind.to_ascii_lowercase().as_str() {
                            "deployment" | "deployments" | "deploy" => "Deployment",
                            "statefulset" | "statefulsets" | "sts" => "StatefulSet",
                            "daemonset" | "daemonsets" | "ds" => "DaemonSet",
                            _ => return None,
                        };
                        Some((kind.to_string(), name.to_string()))
                    })
                    .collect();
                (!named.is_empty()).then_some(Targets::Named(named))
            }
        }
    }

    fn wants(&self, kind: &str, name: &str, spec: Option<&PodSpec>, secret: &str) -> bool {
        match self {
            Targets::Referencing => spec.is_some_and(|s| uses_secret(s, secret)),
            Targets::Named(list) => list.iter().any(|(k, n)| k == kind && n == name),
        }
    }
}

/// Whether a pod spec uses the Secret: volumes (also projected), `env` `secretKeyRef`, `envFrom` `secretRef`.
pub fn uses_secret(spec: &PodSpec, secret: &str) -> bool {
    let is = |name: Option<&String>| name.is_some_and(|n| n == secret);
    let volumes = spec.volumes.iter().flatten().any(|v| {
        is(v.secret.as_ref().and_then(|s| s.secret_name.as_ref()))
            || v.projected
                .iter()
                .flat_map(|p| p.sources.iter().flatten())
                .any(|src| src.secret.as_ref().is_some_and(|s| s.name == secret))
    });
    let containers = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .any(|c| {
            c.env.iter().flatten().any(|e| {
                e.value_from
                    .as_ref()
                    .and_then(|f| f.secret_key_ref.as_ref())
                    .is_some_and(|r| r.name == secret)
            }) || c
                .env_from
                .iter()
                .flatten()
                .any(|f| f.secret_ref.as_ref().is_some_and(|r| r.name == secret))
        });
    volumes || containers
}

/// Restarts the chosen workloads of `namespace`; returns `Kind/name` of each one restarted.
pub async fn rollout_restart(
    client: &Client,
    namespace: &str,
    secret: &str,
    targets: &Targets,
) -> Result<Vec<String>, kube::Error> {
    let mut done = Vec::new();
    restart_kind::<Deployment>(client, namespace, secret, targets, &mut done).await?;
    restart_kind::<StatefulSet>(client, namespace, secret, targets, &mut done).await?;
    restart_kind::<DaemonSet>(client, namespace, secret, targets, &mut done).await?;
    Ok(done)
}

/// A workload with a pod template.
trait Workload {
    fn pod_spec(&self) -> Option<&PodSpec>;
}

impl Workload for Deployment {
    fn pod_spec(&self) -> Option<&PodSpec> {
        self.spec.as_ref()?.template.spec.as_ref()
    }
}

impl Workload for StatefulSet {
    fn pod_spec(&self) -> Option<&PodSpec> {
        self.spec.as_ref()?.template.spec.as_ref()
    }
}

impl Workload for DaemonSet {
    fn pod_spec(&self) -> Option<&PodSpec> {
        self.spec.as_ref()?.template.spec.as_ref()
    }
}

async fn restart_kind<K>(
    client: &Client,
    namespace: &str,
    secret: &str,
    targets: &Targets,
    done: &mut Vec<String>,
) -> Result<(), kube::Error>
where
    K: Workload
        + Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + Debug,
{
    let kind = K::kind(&()).to_string();
    if let Targets::Named(list) = targets
        && !list.iter().any(|(k, _)| *k == kind)
    {
        return Ok(());
    }
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let now = OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
    let patch = serde_json::json!({
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: now}}}}
    });
    for workload in api.list(&ListParams::default()).await? {
        let name = workload.name_any();
        if !targets.wants(&kind, &name, workload.pod_spec(), secret) {
            continue;
        }
        if workload
            .meta()
            .annotations
            .as_ref()
            .and_then(|a| a.get(ACCEPT_RESTARTS_ANNOTATION))
            .map(String::as_str)
            != Some("true")
        {
            tracing::info!(
                namespace,
                secret,
                "{kind}/{name} uses the changed Secret but does not accept restarts ({ACCEPT_RESTARTS_ANNOTATION}: \"true\"); left alone"
            );
            continue;
        }
        let params = PatchParams {
            field_manager: Some(crate::MANAGER.into()),
            ..PatchParams::default()
        };
        api.patch(&name, &params, &Patch::Merge(&patch)).await?;
        done.push(format!("{kind}/{name}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_values_choose_targets() {
        assert_eq!(Targets::parse("true"), Some(Targets::Referencing));
        assert_eq!(Targets::parse("false"), None);
        assert_eq!(
            Targets::parse("Deployment/web, sts/db,bogus/x"),
            Some(Targets::Named(vec![
                ("Deployment".into(), "web".into()),
                ("StatefulSet".into(), "db".into())
            ]))
        );
        assert_eq!(Targets::parse("nonsense"), None);
    }

    #[test]
    fn a_pod_uses_a_secret_through_volumes_env_and_env_from() {
        let spec: PodSpec = serde_json::from_value(serde_json::json!({
            "containers": [{"name": "app", "envFrom": [{"secretRef": {"name": "from-env"}}],
                "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "from-ref", "key": "k"}}}]}],
            "volumes": [{"name": "v", "secret": {"secretName": "from-volume"}},
                {"name": "p", "projected": {"sources": [{"secret": {"name": "from-projected"}}]}}]
        }))
        .unwrap();
        for name in ["from-env", "from-ref", "from-volume", "from-projected"] {
            assert!(uses_secret(&spec, name), "{name}");
        }
        assert!(!uses_secret(&spec, "other"));
    }
}
