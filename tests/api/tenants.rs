//! The tenants function against DynamoDB Local.

use http::StatusCode;
use serde_json::{json, Value};
use shared::keys;
use shared::records::AuditRecord;
use shared::store::PageRequest;
use tests::app::{call_as, path_of, scope, setup, token_for, token_granted, Setup};
use tests::{post_json, registration, send, unique};
use uuid::Uuid;

async fn register(s: &Setup, prefix: &str) -> (String, String, String) {
    let r = tests::app::register(&s.auth, prefix).await;
    (r.access, r.refresh, r.email)
}

async fn login(s: &Setup, email: &str) -> StatusCode {
    tests::app::login(&s.auth, email, "correct-horse-battery")
        .await
        .status
}

#[tokio::test]
async fn an_admin_reads_and_changes_their_organisation() {
    let s = setup().await;
    let (admin, refresh, _) = register(&s, "meadmin").await;
    let res = call_as(&s.tenants, "GET", "/api/tenants/me/", &admin, None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.json()["enabled_modules"],
        json!(["crm", "whatsapp", "meetings"])
    );

    let res = call_as(&s.tenants, "PATCH", "/api/tenants/me/", &admin, Some(json!({"name": "Renamed", "domain": "CRM.Example.com", "settings": {"theme": "dark", "empty": ""},
                    "enabled_modules": ["crm"]})))
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let t = res.json();
    assert_eq!(t["name"], "Renamed");
    assert_eq!(t["domain"], "crm.example.com");
    assert_eq!(t["settings"], json!({"theme": "dark", "empty": ""}));
    assert_eq!(t["enabled_modules"], json!(["crm"]));

    // The next refresh carries only the enabled module.
    let res = post_json(
        &s.auth.app,
        "/api/auth/token/refresh/",
        &json!({"refresh": refresh}),
        None,
    )
    .await;
    let claims = shared::auth::authenticate(
        &shared::auth::TokenVerifier::new(
            &shared::auth::Jwks {
                keys: vec![s.auth.key.public_jwk()],
            },
            &s.auth.settings,
        )
        .unwrap(),
        Some(&format!(
            "Bearer {}",
            res.json()["access"].as_str().unwrap()
        )),
    )
    .unwrap()
    .claims()
    .clone();
    assert_eq!(claims.enabled_modules, vec!["crm"]);

    let log = s
        .auth
        .store
        .tenant(&scope(&s, &admin))
        .query::<AuditRecord>(&keys::audit_log(), &PageRequest::new(10, None, "audit"))
        .await
        .unwrap()
        .items;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, "tenant.update");
    assert_eq!(log[0].changes["name"]["after"], "Renamed");
    // The settings document shows as a document, not as its stored text.
    assert_eq!(
        log[0].changes["settings"],
        json!({"before": {}, "after": {"theme": "dark", "empty": ""}})
    );
}

#[tokio::test]
async fn tenant_changes_are_validated() {
    let s = setup().await;
    let (a, _, _) = register(&s, "valida").await;
    let (b, _, _) = register(&s, "validb").await;
    let bad = |body: Value| body;
    for (body, field) in [
        (
            bad(json!({"enabled_modules": ["tasks"]})),
            "enabled_modules",
        ),
        (bad(json!({"enabled_modules": ["erp"]})), "enabled_modules"),
        (bad(json!({"settings": [1, 2]})), "settings"),
        (
            bad(json!({"settings": {"blob": "x".repeat(20_000)}})),
            "settings",
        ),
        (bad(json!({"domain": "not a domain"})), "domain"),
        (bad(json!({"name": ""})), "name"),
        (bad(json!({"is_active": false})), "is_active"),
    ] {
        let res = call_as(
            &s.tenants,
            "PATCH",
            "/api/tenants/me/",
            &a,
            Some(body.clone()),
        )
        .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(res.json()[field].is_array(), "{body} -> {}", res.text());
    }
    // Domains are unique platform-wide, and released when removed.
    assert_eq!(
        call_as(
            &s.tenants,
            "PATCH",
            "/api/tenants/me/",
            &a,
            Some(json!({"domain": "shared.example.com"}))
        )
        .await
        .status,
        StatusCode::OK
    );
    let res = call_as(
        &s.tenants,
        "PATCH",
        "/api/tenants/me/",
        &b,
        Some(json!({"domain": "shared.example.com"})),
    )
    .await;
    assert_eq!(
        res.json(),
        json!({"domain": ["This domain is already in use."]})
    );
    assert_eq!(
        call_as(
            &s.tenants,
            "PATCH",
            "/api/tenants/me/",
            &a,
            Some(json!({"domain": null}))
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        call_as(
            &s.tenants,
            "PATCH",
            "/api/tenants/me/",
            &b,
            Some(json!({"domain": "shared.example.com"}))
        )
        .await
        .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn members_and_other_tenants_cannot_touch_an_organisation() {
    let s = setup().await;
    let (a, _, _) = register(&s, "guarda").await;
    let member = token_for(&s, scope(&s, &a).tenant_id(), false, Default::default());
    // Any member reads the organisation, without its settings and domain.
    let res = call_as(&s.tenants, "GET", "/api/tenants/me/", &member, None).await;
    assert_eq!(res.status, StatusCode::OK);
    let body = res.json();
    assert!(
        body.get("settings").is_none() && body.get("domain").is_none(),
        "{body}"
    );
    assert!(body["name"].is_string() && body["enabled_modules"].is_array());
    // administration.tenant.view shows them.
    let viewer = token_granted(
        &s,
        scope(&s, &a).tenant_id(),
        shared::permissions::actions::ADMINISTRATION_TENANT_VIEW,
    );
    let body = call_as(&s.tenants, "GET", "/api/tenants/me/", &viewer, None)
        .await
        .json();
    assert!(body["settings"].is_object(), "{body}");
    assert!(body.get("domain").is_some(), "{body}");
    let res = call_as(
        &s.tenants,
        "PATCH",
        "/api/tenants/me/",
        &viewer,
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["permission"], "administration.tenant.manage");
    assert_eq!(
        call_as(
            &s.tenants,
            "PATCH",
            "/api/tenants/me/",
            &member,
            Some(json!({"name": "x"}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    // The registry is for super admins only.
    let a_id = scope(&s, &a).tenant_id();
    for (method, uri) in [
        ("GET", "/api/tenants/".to_owned()),
        ("GET", format!("/api/tenants/{a_id}/")),
        ("POST", format!("/api/tenants/{a_id}/suspend/")),
        ("DELETE", format!("/api/tenants/{a_id}/")),
    ] {
        assert_eq!(
            call_as(&s.tenants, method, &uri, &a, None).await.status,
            StatusCode::FORBIDDEN,
            "{method} {uri}"
        );
    }
    let res = send(
        &s.tenants,
        http::Request::builder()
            .uri("/api/tenants/me/")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn super_admins_run_the_registry() {
    let s = setup().await;
    let root = token_for(&s, Uuid::new_v4(), true, Default::default());
    let (a, a_refresh, a_email) = register(&s, "registrya").await;
    let a_id = scope(&s, &a).tenant_id();

    // Create a tenant with the registration body.
    let (slug, email) = unique("created");
    let res = call_as(
        &s.tenants,
        "POST",
        "/api/tenants/",
        &root,
        Some(registration(&slug, &email)),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.json()["slug"], slug);
    assert_eq!(
        login(&s, &email).await,
        StatusCode::OK,
        "its admin can log in"
    );
    let res = call_as(
        &s.tenants,
        "POST",
        "/api/tenants/",
        &root,
        Some(registration(&slug, &unique("x").1)),
    )
    .await;
    assert_eq!(
        res.json(),
        json!({"tenant_slug": ["A tenant with this slug already exists."]})
    );

    // List, following pages.
    let mut seen = Vec::new();
    let mut uri = "/api/tenants/?page_size=1".to_owned();
    loop {
        let page = call_as(&s.tenants, "GET", &uri, &root, None).await.json();
        seen.extend(
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["slug"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(_) => uri = path_of(&page["next"]),
            None => break,
        }
        assert!(seen.len() < 1000);
    }
    assert!(seen.contains(&slug));
    assert_eq!(seen.len(), 2);

    let res = call_as(
        &s.tenants,
        "GET",
        &format!("/api/tenants/{a_id}/"),
        &root,
        None,
    )
    .await;
    assert_eq!(res.json()["id"], a_id.to_string());
    assert_eq!(
        call_as(
            &s.tenants,
            "GET",
            &format!("/api/tenants/{}/", Uuid::new_v4()),
            &root,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let res = call_as(
        &s.tenants,
        "PATCH",
        &format!("/api/tenants/{a_id}/"),
        &root,
        Some(json!({"name": "By ops"})),
    )
    .await;
    assert_eq!(res.json()["name"], "By ops");

    // Suspension stops logins and refreshes; activation restores them.
    let res = call_as(
        &s.tenants,
        "POST",
        &format!("/api/tenants/{a_id}/suspend/"),
        &root,
        None,
    )
    .await;
    assert_eq!(res.json()["is_active"], false);
    assert_eq!(login(&s, &a_email).await, StatusCode::FORBIDDEN);
    let res = post_json(
        &s.auth.app,
        "/api/auth/token/refresh/",
        &json!({"refresh": a_refresh}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = call_as(
        &s.tenants,
        "POST",
        &format!("/api/tenants/{a_id}/activate/"),
        &root,
        None,
    )
    .await;
    assert_eq!(res.json()["is_active"], true);
    assert_eq!(login(&s, &a_email).await, StatusCode::OK);
    assert_eq!(
        call_as(
            &s.tenants,
            "DELETE",
            &format!("/api/tenants/{a_id}/"),
            &root,
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(login(&s, &a_email).await, StatusCode::FORBIDDEN);

    // Every super-admin change is in the tenant's own log, marked as such.
    let log = s
        .auth
        .store
        .tenant(&scope(&s, &a))
        .query::<AuditRecord>(&keys::audit_log(), &PageRequest::new(20, None, "audit"))
        .await
        .unwrap()
        .items;
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "tenant.update",
            "tenant.suspend",
            "tenant.activate",
            "tenant.suspend"
        ]
    );
    assert!(log.iter().all(|e| e.via_super_admin));
}

#[test]
fn the_tenant_me_schema_documents_both_shapes() {
    let api = tenants::document();
    let doc = serde_json::to_value(&api).unwrap();
    let ok = &doc["paths"]["/api/tenants/me/"]["get"]["responses"]["200"];
    assert!(ok.to_string().contains("TenantMeView"), "{ok}");
    let shapes = &doc["components"]["schemas"]["TenantMeView"]["oneOf"];
    let refs = shapes.to_string();
    assert!(
        refs.contains("TenantView") && refs.contains("TenantSummaryView"),
        "{shapes}"
    );
    let summary = &doc["components"]["schemas"]["TenantSummaryView"]["properties"];
    assert!(summary.get("settings").is_none() && summary.get("domain").is_none());
}
