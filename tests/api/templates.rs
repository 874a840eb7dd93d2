//! Each role template's holder gets exactly the administration endpoints its
//! description names: one probe per administration grant, as a user holding
//! only a role made from the template.

use crate::escalation::{call, user};
use http::StatusCode;
use serde_json::{json, Value};
use shared::permissions::{actions as perm, templates, PermissionKey};
use tests::app::{setup, tenant, Setup};
use tests::{unique, TestResponse};

/// One request that needs `key` (and nothing else beyond membership).
async fn probe(s: &Setup, key: PermissionKey, token: &str) -> TestResponse {
    let name = unique("tpl").0;
    let (app, method, uri, body): (&axum::Router, &str, &str, Option<Value>) = match key {
        perm::ADMINISTRATION_USERS_VIEW => (&s.users, "GET", "/api/users/", None),
        perm::ADMINISTRATION_USERS_MANAGE => (
            &s.users,
            "POST",
            "/api/users/",
            Some(
                json!({"email": unique("tplu").1, "password": "a-good-password",
                        "password_confirm": "a-good-password"}),
            ),
        ),
        perm::ADMINISTRATION_ROLES_VIEW => (&s.roles, "GET", "/api/roles/", None),
        perm::ADMINISTRATION_ROLES_MANAGE => {
            (&s.roles, "POST", "/api/roles/", Some(json!({"name": name})))
        }
        perm::ADMINISTRATION_TEAMS_VIEW => (&s.teams, "GET", "/api/teams/", None),
        perm::ADMINISTRATION_TEAMS_MANAGE => {
            (&s.teams, "POST", "/api/teams/", Some(json!({"name": name})))
        }
        perm::ADMINISTRATION_TENANT_VIEW => (&s.tenants, "GET", "/api/tenants/me/", None),
        perm::ADMINISTRATION_TENANT_MANAGE => (
            &s.tenants,
            "PATCH",
            "/api/tenants/me/",
            Some(json!({"name": "Renamed"})),
        ),
        perm::ADMINISTRATION_BILLING_VIEW => {
            (&s.subscriptions, "GET", "/api/subscriptions/usage/", None)
        }
        perm::ADMINISTRATION_BILLING_MANAGE => {
            (&s.subscriptions, "POST", "/api/subscriptions/cancel/", None)
        }
        perm::ADMINISTRATION_AUDIT_VIEW => (&s.audit, "GET", "/api/audit/", None),
        other => panic!("no probe for {other}"),
    };
    call(app, method, uri, token, None, body).await
}

/// Whether the probe for `key` let the caller through.
fn opened(key: PermissionKey, res: &TestResponse) -> bool {
    if key == perm::ADMINISTRATION_TENANT_VIEW {
        // Any member reads the tenant; the grant shows settings and domain.
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        return res.json().get("settings").is_some();
    }
    let refused = res.status == StatusCode::FORBIDDEN && res.json()["permission"] == key.as_str();
    assert!(
        refused || res.status.is_success(),
        "{key}: {} {}",
        res.status,
        res.text()
    );
    !refused
}

#[tokio::test]
async fn each_template_opens_exactly_the_administration_endpoints_it_grants() {
    let s = setup().await;
    // The probes add users; the plan's user limit is not what this tests.
    for mut plan in shared::tenancy::default_plans(time::OffsetDateTime::now_utc()) {
        plan.max_users = None;
        s.auth
            .store
            .platform()
            .put(
                &shared::keys::plan(plan.id),
                &plan,
                shared::store::Condition::Always,
            )
            .await
            .unwrap();
    }
    let admin = tenant(&s, "templates").await;
    // No endpoint asks for audit.manage yet (docs/permissions.md).
    let probed: Vec<PermissionKey> = perm::ALL
        .iter()
        .copied()
        .filter(|k| k.module().is_none() && *k != perm::ADMINISTRATION_AUDIT_MANAGE)
        .collect();
    assert_eq!(probed.len(), 11);
    // Admin last: its probes (a cancelled subscription, a renamed tenant)
    // would not change the others' answers anyway.
    for t in templates().into_iter().rev() {
        let res = call(
            &s.roles,
            "POST",
            "/api/roles/",
            &admin,
            None,
            Some(
                json!({"name": format!("Template {}", t.name), "description": t.description,
                        "permissions": t.permissions}),
            ),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        let role = res.json()["id"].as_str().unwrap().to_owned();
        let (_, token) = user(&s, &admin, &[&role]).await;
        for key in &probed {
            let res = probe(&s, *key, &token).await;
            assert_eq!(
                opened(*key, &res),
                t.permissions.allows(*key),
                "{} and {key}: {} {}",
                t.name,
                res.status,
                res.text()
            );
            // The description names what the template grants.
            let named = t.description.contains(key.as_str())
                || t.description.contains("all twelve administration grants");
            assert_eq!(named, t.permissions.allows(*key), "{}: {key}", t.name);
        }
    }
}
