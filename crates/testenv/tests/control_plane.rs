//! The harness against the real apiserver: it starts, authenticates an admin and a ServiceAccount by client
//! certificate, and enforces RBAC (a ServiceAccount is denied until a Role allows it, and only for that).

use sealant_testenv::ControlPlane;
use serde_json::json;

#[test]
fn the_real_apiserver_enforces_rbac_for_a_service_account() {
    let plane = ControlPlane::start().unwrap_or_else(|e| panic!("control plane: {e}"));
    let admin = plane.admin();
    let ns = plane.namespace("rbac").unwrap();
    let sa = plane.service_account(&ns, "sealant-controller").unwrap();
    let secrets = format!("/api/v1/namespaces/{ns}/secrets");

    let denied = plane.request_as(&sa, "GET", &secrets, None).unwrap();
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert!(
        denied
            .body
            .contains(&format!("system:serviceaccount:{ns}:sealant-controller")),
        "{}",
        denied.body
    );

    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "read-secrets", "namespace": ns},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]
    });
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "read-secrets", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-secrets"},
        "subjects": [{"kind": "ServiceAccount", "name": "sealant-controller", "namespace": ns}]
    });
    let rbac = format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}");
    assert_eq!(
        plane
            .request_as(admin, "POST", &format!("{rbac}/roles"), Some(&role))
            .unwrap()
            .status,
        201
    );
    assert_eq!(
        plane
            .request_as(admin, "POST", &format!("{rbac}/rolebindings"), Some(&binding))
            .unwrap()
            .status,
        201
    );

    let allowed = plane.request_as(&sa, "GET", &secrets, None).unwrap();
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert_eq!(allowed.json()["kind"], "SecretList");
    // Only what the Role grants: creating a Secret is still forbidden.
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": {}});
    assert_eq!(
        plane.request_as(&sa, "POST", &secrets, Some(&secret)).unwrap().status,
        403
    );
    // And nothing in another namespace.
    assert_eq!(
        plane
            .request_as(&sa, "GET", "/api/v1/namespaces/default/secrets", None)
            .unwrap()
            .status,
        403
    );
}

#[test]
fn kubeconfig_names_the_server_and_carries_the_identity() {
    let plane = ControlPlane::start().unwrap_or_else(|e| panic!("control plane: {e}"));
    let config = plane.kubeconfig(plane.admin());
    assert!(config.contains(&format!("server: {}", plane.url())));
    assert!(config.contains("client-certificate-data: ") && config.contains("certificate-authority-data: "));
    let version = plane.request_as(plane.admin(), "GET", "/version", None).unwrap();
    assert_eq!(version.json()["gitVersion"], "v1.36.3", "{}", version.body);
}
