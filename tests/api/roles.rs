//! The roles function's read endpoints against DynamoDB Local.

use http::StatusCode;
use serde_json::{json, Value};
use shared::auth::{authenticate, Jwks, TokenVerifier};
use shared::keys;
use shared::permissions::admin_permissions;
use shared::records::RoleRecord;
use shared::store::{Condition, TenantScope};
use std::sync::Arc;
use tests::{auth_app, get, post_json, registration, send, unique, AuthApp};
use uuid::Uuid;

struct Setup {
    auth: AuthApp,
    roles: axum::Router,
    verifier: Arc<TokenVerifier>,
}

async fn setup() -> Setup {
    let auth = auth_app().await;
    let verifier = Arc::new(TokenVerifier::new(&Jwks { keys: vec![auth.key.public_jwk()] }, &auth.settings).unwrap());
    let roles = roles::router(
        roles::AppState { store: auth.store.clone(), verifier: verifier.clone() },
        &shared::http::HttpConfig::default(),
    );
    Setup { auth, roles, verifier }
}

/// Registers a tenant; returns its admin's access token.
async fn tenant(s: &Setup, prefix: &str) -> String {
    let (slug, email) = unique(prefix);
    let res = post_json(&s.auth.app, "/api/auth/register/", &registration(&slug, &email), None).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()["tokens"]["access"].as_str().unwrap().to_owned()
}

fn scope(s: &Setup, token: &str) -> TenantScope {
    authenticate(&s.verifier, Some(&format!("Bearer {token}"))).unwrap().scope().clone()
}

async fn get_as(s: &Setup, uri: &str, token: &str) -> tests::TestResponse {
    let req = http::Request::builder().uri(uri).header("authorization", format!("Bearer {token}")).header("host", "api.test");
    send(&s.roles, req.body(axum::body::Body::empty()).unwrap()).await
}

/// The path and query of an absolute link.
fn path_of(link: &Value) -> String {
    let url = link.as_str().expect("a link");
    url.strip_prefix("http://api.test").or_else(|| url.strip_prefix("https://api.test")).unwrap().to_owned()
}

#[tokio::test]
async fn a_new_tenant_lists_its_system_admin_role() {
    let s = setup().await;
    let token = tenant(&s, "rolelist").await;
    s.auth.calls.reset();
    let res = get_as(&s, "/api/roles/", &token).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(s.auth.calls.calls(), vec!["Query"], "a list page is one query");
    let body = res.json();
    assert_eq!(body["next"], Value::Null);
    assert_eq!(body["previous"], Value::Null);
    let roles = body["results"].as_array().unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["name"], "Admin");
    assert_eq!(roles[0]["is_system"], true);
    assert_eq!(roles[0]["member_count"], 1);
    assert_eq!(roles[0]["permissions"], serde_json::to_value(admin_permissions()).unwrap());

    let id = roles[0]["id"].as_str().unwrap();
    s.auth.calls.reset();
    let res = get_as(&s, &format!("/api/roles/{id}"), &token).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["id"], id);
    assert_eq!(s.auth.calls.calls(), vec!["GetItem"], "a retrieve is one call");
}

#[tokio::test]
async fn another_tenants_role_is_not_found_and_anonymous_callers_are_refused() {
    let s = setup().await;
    let a = tenant(&s, "tenanta").await;
    let b = tenant(&s, "tenantb").await;
    let a_roles = get_as(&s, "/api/roles/", &a).await.json();
    let a_admin = a_roles["results"][0]["id"].as_str().unwrap().to_owned();

    let res = get_as(&s, &format!("/api/roles/{a_admin}/"), &b).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.json(), json!({"detail": "Not found.", "code": "not_found"}));
    let b_roles = get_as(&s, "/api/roles/", &b).await.json();
    assert!(b_roles["results"].as_array().unwrap().iter().all(|r| r["id"] != a_admin.as_str()));

    assert_eq!(get_as(&s, "/api/roles/not-a-uuid/", &a).await.status, StatusCode::NOT_FOUND);
    for uri in ["/api/roles/", "/api/roles/permissions_schema/", "/api/roles/templates/"] {
        let res = get(&s.roles, uri).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(res.json()["code"], "not_authenticated");
    }
}

#[tokio::test]
async fn serves_the_catalog_and_templates() {
    let s = setup().await;
    let token = tenant(&s, "catalog").await;
    let catalog = get_as(&s, "/api/roles/permissions_schema/", &token).await;
    assert_eq!(catalog.status, StatusCode::OK);
    let catalog = catalog.json();
    assert_eq!(catalog["version"], 1);
    let crm = catalog["modules"].as_array().unwrap().iter().find(|m| m["key"] == "crm").unwrap().clone();
    let leads = crm["resources"].as_array().unwrap().iter().find(|r| r["key"] == "leads").unwrap().clone();
    let view = leads["actions"].as_array().unwrap().iter().find(|a| a["key"] == "view").unwrap().clone();
    assert_eq!(view["kind"], "scope");
    assert_eq!(view["options"], json!(["own", "team", "all"]));

    let templates = get_as(&s, "/api/roles/templates/", &token).await.json();
    let names: Vec<&str> = templates.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Admin", "Manager", "Member", "Viewer"]);
}

#[tokio::test]
async fn pages_forward_and_back_and_refuses_foreign_or_tampered_cursors() {
    let s = setup().await;
    let a = tenant(&s, "pagesa").await;
    let b = tenant(&s, "pagesb").await;
    let scope_a = scope(&s, &a);
    let now = time::OffsetDateTime::now_utc();
    for i in 0..4 {
        let role = RoleRecord {
            id: Uuid::new_v4(),
            tenant_id: scope_a.tenant_id(),
            name: format!("Role {i}"),
            description: String::new(),
            permissions: Default::default(),
            is_active: true,
            is_system: false,
            member_count: 0,
            created_by: None,
            created_by_email: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        s.auth.store.tenant(&scope_a).put(&keys::role(role.id), &role, Condition::NotExists).await.unwrap();
    }

    let first = get_as(&s, "/api/roles/?page_size=2", &a).await.json();
    assert_eq!(first["results"].as_array().unwrap().len(), 2);
    assert_eq!(first["previous"], Value::Null);
    let next = path_of(&first["next"]);
    assert!(next.contains("page_size=2"), "{next}");
    let second = get_as(&s, &next, &a).await.json();
    let third = get_as(&s, &path_of(&second["next"]), &a).await.json();
    assert_eq!(third["results"].as_array().unwrap().len(), 1);
    assert_eq!(third["next"], Value::Null);
    let mut seen: Vec<Value> = [&first, &second, &third]
        .iter()
        .flat_map(|p| p["results"].as_array().unwrap().iter().map(|r| r["id"].clone()))
        .collect();
    seen.sort_by_key(|v| v.to_string());
    seen.dedup();
    assert_eq!(seen.len(), 5, "every role exactly once");

    let back = get_as(&s, &path_of(&third["previous"]), &a).await.json();
    assert_eq!(back["results"], second["results"]);

    // Tenant b cannot use a's cursor, and altered cursors are refused.
    let res = get_as(&s, &next, &b).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["cursor"].is_array());
    let tampered = next.replace("cursor=", "cursor=x");
    assert_eq!(get_as(&s, &tampered, &a).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(get_as(&s, "/api/roles/?page_size=500", &a).await.status, StatusCode::BAD_REQUEST);
}
