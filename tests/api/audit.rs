//! The audit function against DynamoDB Local.

use crate::roles::call;
use http::StatusCode;
use serde_json::{json, Value};
use shared::permissions::{actions as perm, flatten, Grant, PermissionSet};
use tests::app::{get_for, path_of, scope, setup, tenant, token_for};
use uuid::Uuid;

fn actions(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn lists_changes_newest_first_with_filters() {
    let s = setup().await;
    let admin = tenant(&s, "auditlog").await;
    let a = call(
        &s,
        "POST",
        "/api/roles/",
        &admin,
        Some(json!({"name": "A"})),
        None,
    )
    .await
    .json();
    call(
        &s,
        "POST",
        "/api/roles/",
        &admin,
        Some(json!({"name": "B"})),
        None,
    )
    .await;
    let uri = format!("/api/roles/{}/", a["id"].as_str().unwrap());
    call(
        &s,
        "PATCH",
        &uri,
        &admin,
        Some(json!({"description": "first"})),
        None,
    )
    .await;

    let res = get_for(&s.audit, "/api/audit/", &admin, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let page = res.json();
    assert_eq!(
        actions(&page),
        ["role.update", "role.create", "role.create"]
    );
    let newest = &page["results"][0];
    assert_eq!(
        newest["changes"]["description"],
        json!({"before": null, "after": "first"})
    );
    assert_eq!(newest["entity_id"], a["id"]);
    assert_eq!(newest["via_super_admin"], false);

    let creates = get_for(&s.audit, "/api/audit/?action=role.create", &admin, None)
        .await
        .json();
    assert_eq!(actions(&creates), ["role.create", "role.create"]);
    let actor = newest["actor_id"].as_str().unwrap();
    let by_actor = get_for(
        &s.audit,
        &format!("/api/audit/?actor={actor}&entity=role"),
        &admin,
        None,
    )
    .await
    .json();
    assert_eq!(by_actor["results"].as_array().unwrap().len(), 3);
    let nobody = get_for(
        &s.audit,
        &format!("/api/audit/?actor={}", Uuid::new_v4()),
        &admin,
        None,
    )
    .await
    .json();
    assert!(nobody["results"].as_array().unwrap().is_empty());

    // Paging keeps the filters and the order.
    let first = get_for(&s.audit, "/api/audit/?page_size=2", &admin, None)
        .await
        .json();
    assert_eq!(actions(&first), ["role.update", "role.create"]);
    let next = path_of(&first["next"]);
    let second = get_for(&s.audit, &next, &admin, None).await.json();
    assert_eq!(actions(&second), ["role.create"]);
    assert!(second["next"].is_null());

    let res = get_for(&s.audit, "/api/audit/?colour=blue", &admin, None).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["colour"].is_array(), "{}", res.text());
}

#[tokio::test]
async fn only_audit_viewers_of_the_tenant_see_its_log() {
    let s = setup().await;
    let a = tenant(&s, "auditorsa").await;
    let b = tenant(&s, "auditorsb").await;
    call(
        &s,
        "POST",
        "/api/roles/",
        &a,
        Some(json!({"name": "Only in a"})),
        None,
    )
    .await;
    let tenant_a = scope(&s, &a).tenant_id();

    let member = token_for(&s, tenant_a, false, Default::default());
    let res = get_for(&s.audit, "/api/audit/", &member, None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["permission"], "administration.audit.view");

    let auditor_grants = PermissionSet::default()
        .with(perm::ADMINISTRATION_AUDIT_VIEW, Grant::Bool(true))
        .unwrap();
    let auditor = token_for(&s, tenant_a, false, flatten(&auditor_grants));
    let res = get_for(&s.audit, "/api/audit/", &auditor, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(actions(&res.json()), ["role.create"]);

    let b_log = get_for(&s.audit, "/api/audit/", &b, None).await.json();
    assert!(
        b_log["results"].as_array().unwrap().is_empty(),
        "b sees nothing of a"
    );
    assert_eq!(
        get_for(&s.audit, "/api/audit/", &b, Some(tenant_a))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let root = token_for(&s, Uuid::new_v4(), true, Default::default());
    let res = get_for(&s.audit, "/api/audit/", &root, Some(tenant_a)).await;
    assert_eq!(actions(&res.json()), ["role.create"]);
}
