//! `devctl superadmin` (its logic, `shared::superadmins`) against DynamoDB
//! Local, and the platform tenant's protection in the tenants API.

use http::StatusCode;
use serde_json::{json, Value};
use shared::keys;
use shared::records::{AuditRecord, TenantRecord, UsageRecord};
use shared::store::PageRequest;
use shared::superadmins::{self, Added, SuperAdminError};
use tests::app::{setup, token_for, Setup};
use tests::{post_json, registration, send, unique};
use uuid::Uuid;

const PASSWORD: &str = "a-long-passphrase";

async fn login(s: &Setup, email: &str, password: &str) -> StatusCode {
    post_json(
        &s.auth.app,
        "/api/auth/login/",
        &json!({"email": email, "password": password}),
        None,
    )
    .await
    .status
}

async fn emails(s: &Setup) -> Vec<String> {
    let mut emails: Vec<_> = superadmins::list(&s.auth.store)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    emails.sort();
    emails
}

async fn platform_log(s: &Setup) -> Vec<String> {
    let scope = superadmins::platform_scope(&s.auth.store)
        .await
        .unwrap()
        .unwrap();
    s.auth
        .store
        .tenant(&scope)
        .query::<AuditRecord>(&keys::audit_log(), &PageRequest::new(100, None, "audit"))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn several_super_admins_can_be_added_listed_and_removed_but_never_the_last() {
    let s = setup().await;
    let store = &s.auth.store;
    assert!(emails(&s).await.is_empty());
    let (_, first) = unique("root-a");
    let (_, second) = unique("root-b");

    assert_eq!(
        superadmins::add(store, &first, PASSWORD).await.unwrap(),
        Added::CreatedPlatform
    );
    // The second one succeeds too (it used to fail: the platform existed).
    assert_eq!(
        superadmins::add(store, &second.to_uppercase(), PASSWORD)
            .await
            .unwrap(),
        Added::Created
    );
    assert_eq!(
        superadmins::add(store, &second, PASSWORD).await.unwrap(),
        Added::Unchanged
    );
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(emails(&s).await, both);
    assert_eq!(login(&s, &second, PASSWORD).await, StatusCode::OK);
    let scope = superadmins::platform_scope(store).await.unwrap().unwrap();
    let usage: UsageRecord = store
        .tenant(&scope)
        .get(&keys::usage())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((usage.users, usage.admins), (2, 2));

    // Removing deactivates: no more login, off the list.
    let removed = superadmins::remove(store, &second).await.unwrap();
    assert!(!removed.is_active && !removed.is_super_admin);
    assert_eq!(emails(&s).await, vec![first.clone()]);
    assert_ne!(login(&s, &second, PASSWORD).await, StatusCode::OK);

    // Never the last one; unknown emails are named.
    let err = superadmins::remove(store, &first).await.unwrap_err();
    assert!(matches!(err, SuperAdminError::LastSuperAdmin(_)), "{err:?}");
    assert!(err.to_string().contains("last super admin"), "{err}");
    assert_eq!(emails(&s).await, vec![first.clone()]);
    let err = superadmins::remove(store, "nobody@example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, SuperAdminError::NotSuperAdmin(_)), "{err:?}");
    assert!(matches!(
        superadmins::remove(store, &second).await,
        Err(SuperAdminError::NotSuperAdmin(_))
    ));

    // Adding a removed one again reactivates it, with the new password.
    assert_eq!(
        superadmins::add(store, &second, "another-long-pass")
            .await
            .unwrap(),
        Added::Promoted
    );
    assert_eq!(emails(&s).await, both);
    assert_eq!(
        login(&s, &second, "another-long-pass").await,
        StatusCode::OK
    );
    let usage: UsageRecord = store
        .tenant(&scope)
        .get(&keys::usage())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((usage.users, usage.admins), (2, 2));

    // Refusals.
    assert!(matches!(
        superadmins::add(store, &unique("weak").1, "short").await,
        Err(SuperAdminError::WeakPassword)
    ));
    let (slug, tenant_email) = unique("customer");
    post_json(
        &s.auth.app,
        "/api/auth/register/",
        &registration(&slug, &tenant_email),
        None,
    )
    .await;
    assert!(matches!(
        superadmins::add(store, &tenant_email, PASSWORD).await,
        Err(SuperAdminError::OtherTenant(_))
    ));

    // Every change is in the platform tenant's audit log.
    let mut log = platform_log(&s).await;
    log.sort();
    assert_eq!(
        log,
        [
            "superadmin.add",
            "superadmin.add",
            "superadmin.add",
            "superadmin.remove"
        ]
    );
}

async fn call(s: &Setup, method: &str, uri: &str, token: &str) -> tests::TestResponse {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("host", "api.test");
    send(&s.tenants, req.body(axum::body::Body::empty()).unwrap()).await
}

#[tokio::test]
async fn the_platform_tenant_cannot_be_suspended() {
    let s = setup().await;
    superadmins::add(&s.auth.store, &unique("root").1, PASSWORD)
        .await
        .unwrap();
    let scope = superadmins::platform_scope(&s.auth.store)
        .await
        .unwrap()
        .unwrap();
    let id = scope.tenant_id();
    let root = token_for(&s, Uuid::new_v4(), true, Default::default());
    for (method, uri) in [
        ("POST", format!("/api/tenants/{id}/suspend/")),
        ("DELETE", format!("/api/tenants/{id}/")),
    ] {
        let res = call(&s, method, &uri, &root).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{method} {uri}");
        let body: Value = res.json();
        assert_eq!(body["code"], "platform_tenant");
        assert!(
            body["detail"].as_str().unwrap().contains("platform tenant"),
            "{body}"
        );
    }
    let tenant: TenantRecord = s
        .auth
        .store
        .tenant(&scope)
        .get(&keys::tenant_profile())
        .await
        .unwrap()
        .unwrap();
    assert!(tenant.is_active);
    // Activating it (a no-op) is still fine.
    let res = call(&s, "POST", &format!("/api/tenants/{id}/activate/"), &root).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn the_users_api_does_not_deactivate_super_admins() {
    let s = setup().await;
    let (_, email) = unique("root");
    superadmins::add(&s.auth.store, &email, PASSWORD)
        .await
        .unwrap();
    let scope = superadmins::platform_scope(&s.auth.store)
        .await
        .unwrap()
        .unwrap();
    let admin = superadmins::list(&s.auth.store).await.unwrap()[0].clone();
    let root = token_for(&s, scope.tenant_id(), true, Default::default());
    let req = http::Request::builder()
        .method("DELETE")
        .uri(format!("/api/users/{}/", admin.id))
        .header("authorization", format!("Bearer {root}"))
        .header("x-tenant-id", scope.tenant_id().to_string())
        .header("host", "api.test");
    let res = send(&s.users, req.body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert_eq!(res.json()["code"], "super_admin");
    assert_eq!(
        superadmins::list(&s.auth.store).await.unwrap().len(),
        1,
        "still there"
    );
}
