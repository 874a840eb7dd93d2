//! The roles function's read endpoints against DynamoDB Local.

use http::StatusCode;
use serde_json::{json, Value};
use shared::keys;
use shared::permissions::admin_permissions;
use shared::records::RoleRecord;
use shared::store::{Condition, TenantScope};
use tests::app::{
    assert_field_error, get_as, path_of, race_creates, request, scope, send_json, setup, tenant,
    token_for, token_granted, Setup,
};
use tests::{get, send};
use uuid::Uuid;

#[tokio::test]
async fn a_new_tenant_lists_its_system_admin_role() {
    let s = setup().await;
    let token = tenant(&s, "rolelist").await;
    s.auth.calls.reset();
    let res = get_as(&s.roles, "/api/roles/", &token).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // First: the caller's tenant's revocation state (its first request).
    assert_eq!(
        s.auth.calls.calls(),
        vec!["BatchGetItem", "Query"],
        "a list page is one query"
    );
    let body = res.json();
    assert_eq!(body["next"], Value::Null);
    assert_eq!(body["previous"], Value::Null);
    let roles = body["results"].as_array().unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["name"], "Admin");
    assert_eq!(roles[0]["is_system"], true);
    assert_eq!(roles[0]["member_count"], 1);
    assert_eq!(
        roles[0]["permissions"],
        serde_json::to_value(admin_permissions()).unwrap()
    );

    let id = roles[0]["id"].as_str().unwrap();
    s.auth.calls.reset();
    let res = get_as(&s.roles, &format!("/api/roles/{id}"), &token).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["id"], id);
    assert_eq!(
        s.auth.calls.calls(),
        vec!["GetItem"],
        "a retrieve is one call"
    );
}

#[tokio::test]
async fn another_tenants_role_is_not_found_and_anonymous_callers_are_refused() {
    let s = setup().await;
    let a = tenant(&s, "tenanta").await;
    let b = tenant(&s, "tenantb").await;
    let a_roles = get_as(&s.roles, "/api/roles/", &a).await.json();
    let a_admin = a_roles["results"][0]["id"].as_str().unwrap().to_owned();

    let res = get_as(&s.roles, &format!("/api/roles/{a_admin}/"), &b).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(
        res.json(),
        json!({"detail": "Not found.", "code": "not_found"})
    );
    let b_roles = get_as(&s.roles, "/api/roles/", &b).await.json();
    assert!(b_roles["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["id"] != a_admin.as_str()));

    assert_eq!(
        get_as(&s.roles, "/api/roles/not-a-uuid/", &a).await.status,
        StatusCode::NOT_FOUND
    );
    for uri in [
        "/api/roles/",
        "/api/roles/permissions_schema/",
        "/api/roles/templates/",
    ] {
        let res = get(&s.roles, uri).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(res.json()["code"], "not_authenticated");
    }
}

/// The entry of a catalog list (modules, resources, actions) with `key`.
fn by_key(list: &Value, key: &str) -> Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["key"] == key)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn serves_the_catalog_and_templates() {
    let s = setup().await;
    let token = tenant(&s, "catalog").await;
    let catalog = get_as(&s.roles, "/api/roles/permissions_schema/", &token).await;
    assert_eq!(catalog.status, StatusCode::OK);
    let catalog = catalog.json();
    assert_eq!(catalog["version"], 1);
    let crm = by_key(&catalog["modules"], "crm");
    let leads = by_key(&crm["resources"], "leads");
    let view = by_key(&leads["actions"], "view");
    assert_eq!(view["kind"], "scope");
    assert_eq!(view["options"], json!(["own", "team", "all"]));

    let templates = get_as(&s.roles, "/api/roles/templates/", &token)
        .await
        .json();
    let names: Vec<&str> = templates
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
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
        s.auth
            .store
            .tenant(&scope_a)
            .put(&keys::role(role.id), &role, Condition::NotExists)
            .await
            .unwrap();
    }

    let first = get_as(&s.roles, "/api/roles/?page_size=2", &a).await.json();
    assert_eq!(first["results"].as_array().unwrap().len(), 2);
    assert_eq!(first["previous"], Value::Null);
    let next = path_of(&first["next"]);
    assert!(next.contains("page_size=2"), "{next}");
    let second = get_as(&s.roles, &next, &a).await.json();
    let third = get_as(&s.roles, &path_of(&second["next"]), &a).await.json();
    assert_eq!(third["results"].as_array().unwrap().len(), 1);
    assert_eq!(third["next"], Value::Null);
    let mut seen: Vec<Value> = [&first, &second, &third]
        .iter()
        .flat_map(|p| {
            p["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].clone())
        })
        .collect();
    seen.sort_by_key(|v| v.to_string());
    seen.dedup();
    assert_eq!(seen.len(), 5, "every role exactly once");

    let back = get_as(&s.roles, &path_of(&third["previous"]), &a)
        .await
        .json();
    assert_eq!(back["results"], second["results"]);

    // Tenant b cannot use a's cursor, and altered cursors are refused.
    let res = get_as(&s.roles, &next, &b).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.json()["code"], "not_found");
    let tampered = next.replace("cursor=", "cursor=x");
    assert_eq!(
        get_as(&s.roles, &tampered, &a).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_as(&s.roles, "/api/roles/?page_size=500", &a)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

use shared::permissions::FlatPermissions;
use shared::records::AuditRecord;
use shared::store::PageRequest;

pub(crate) async fn call(
    s: &Setup,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
    tenant: Option<Uuid>,
) -> tests::TestResponse {
    let tenant = tenant.map(|t| t.to_string());
    send_json(
        &s.roles,
        request(method, uri, Some(token), tenant.as_deref()),
        body,
    )
    .await
}

async fn audit_log(s: &Setup, scope: &TenantScope) -> Vec<AuditRecord> {
    let req = PageRequest::new(100, None, "audit");
    s.auth
        .store
        .tenant(scope)
        .query::<AuditRecord>(&keys::audit_log(), &req)
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn admins_create_change_and_delete_roles_with_one_audit_entry_each() {
    let s = setup().await;
    let admin = tenant(&s, "rolewrite").await;
    let scope = scope(&s, &admin);
    let perms = json!({"crm": {"leads": {"view": "team", "create": true}}});

    let res = call(
        &s,
        "POST",
        "/api/roles/",
        &admin,
        Some(json!({"name": "Sales", "permissions": perms})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let role = res.json();
    assert_eq!(role["permissions"], perms);
    assert_eq!(role["created_by_email"], res.json()["created_by_email"]);
    assert_eq!(role["is_system"], false);
    let id = role["id"].as_str().unwrap().to_owned();
    let log = audit_log(&s, &scope).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, "role.create");
    assert_eq!(log[0].entity_id, id);

    let res = call(
        &s,
        "POST",
        "/api/roles/",
        &admin,
        Some(json!({"name": "  sales "})),
        None,
    )
    .await;
    assert_field_error(&res, "name", "A role with this name already exists.");

    let res = call(
        &s,
        "PATCH",
        &format!("/api/roles/{id}/"),
        &admin,
        Some(json!({"name": "Field sales"})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["name"], "Field sales");
    let log = audit_log(&s, &scope).await;
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[1].changes,
        json!({"name": {"before": "Sales", "after": "Field sales"},
        "updated_at": log[1].changes["updated_at"].clone()})
    );
    // The old name is free again.
    let res = call(
        &s,
        "POST",
        "/api/roles/",
        &admin,
        Some(json!({"name": "Sales"})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED);

    let res = call(
        &s,
        "DELETE",
        &format!("/api/roles/{id}/"),
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get_as(&s.roles, &format!("/api/roles/{id}/"), &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let log = audit_log(&s, &scope).await;
    assert_eq!(
        log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["role.create", "role.update", "role.create", "role.delete"]
    );
    // Its name can be taken again.
    let res = call(
        &s,
        "POST",
        "/api/roles/",
        &admin,
        Some(json!({"name": "Field Sales"})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED);
}

#[tokio::test]
async fn invalid_permissions_are_refused_with_their_paths() {
    let s = setup().await;
    let admin = tenant(&s, "badperms").await;
    let res = call(
        &s,
        "POST",
        "/api/roles/",
        &admin,
        Some(json!({"name": "Odd", "permissions": {"crm": {"leads": {"view": "everything"}, "leadz": {}}}})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let messages = res.json()["permissions"].to_string();
    assert!(
        messages.contains("crm.leads.view: expected one of own, team, all"),
        "{messages}"
    );
    assert!(messages.contains("crm.leadz"), "{messages}");
    assert!(
        audit_log(&s, &scope(&s, &admin)).await.is_empty(),
        "nothing written"
    );
}

#[tokio::test]
async fn the_system_admin_role_is_protected() {
    let s = setup().await;
    let admin = tenant(&s, "protect").await;
    let id = get_as(&s.roles, "/api/roles/", &admin).await.json()["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("/api/roles/{id}/");
    let res = call(
        &s,
        "PATCH",
        &uri,
        &admin,
        Some(json!({"name": "Boss"})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["name"].is_array());
    let res = call(
        &s,
        "PATCH",
        &uri,
        &admin,
        Some(json!({"permissions": {"crm": {"leads": {"view": "own"}}}})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["permissions"].is_array());
    let res = call(
        &s,
        "PATCH",
        &uri,
        &admin,
        Some(json!({"is_active": false})),
        None,
    )
    .await;
    assert!(res.json()["is_active"].is_array());
    let res = call(&s, "DELETE", &uri, &admin, None, None).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.json()["code"], "protected_role");
    // A description change is allowed.
    let res = call(
        &s,
        "PATCH",
        &uri,
        &admin,
        Some(json!({"description": "Runs the place"})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn permission_classes_and_tenant_isolation_for_role_writes() {
    let s = setup().await;
    let a = tenant(&s, "classa").await;
    let b = tenant(&s, "classb").await;
    let scope_a = scope(&s, &a);
    let id = call(
        &s,
        "POST",
        "/api/roles/",
        &a,
        Some(json!({"name": "Support"})),
        None,
    )
    .await
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("/api/roles/{id}/");
    let member = token_for(&s, scope_a.tenant_id(), false, FlatPermissions::default());

    // A member without administration grants neither reads nor writes; a
    // holder of roles.view reads, and the 403 names the missing grant.
    let res = get_as(&s.roles, &uri, &member).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["permission"], "administration.roles.view");
    let viewer = token_granted(
        &s,
        scope_a.tenant_id(),
        shared::permissions::actions::ADMINISTRATION_ROLES_VIEW,
    );
    assert_eq!(get_as(&s.roles, &uri, &viewer).await.status, StatusCode::OK);
    let res = call(&s, "DELETE", &uri, &viewer, None, None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["permission"], "administration.roles.manage");
    assert_eq!(
        call(
            &s,
            "POST",
            "/api/roles/",
            &member,
            Some(json!({"name": "X"})),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&s, "DELETE", &uri, &member, None, None).await.status,
        StatusCode::FORBIDDEN
    );
    // Another tenant's admin gets 404, also when naming the tenant.
    assert_eq!(
        call(&s, "PATCH", &uri, &b, Some(json!({"name": "Mine"})), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&s, "DELETE", &uri, &b, None, None).await.status,
        StatusCode::NOT_FOUND
    );
    let res = call(
        &s,
        "GET",
        "/api/roles/",
        &b,
        None,
        Some(scope_a.tenant_id()),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // Anonymous callers are refused.
    let res = send(
        &s.roles,
        http::Request::builder()
            .method("DELETE")
            .uri(&uri)
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);

    // A super admin acts inside tenant a with X-Tenant-Id, and is audited.
    let root = token_for(&s, Uuid::new_v4(), true, FlatPermissions::default());
    let res = call(
        &s,
        "PATCH",
        &uri,
        &root,
        Some(json!({"description": "set by ops"})),
        Some(scope_a.tenant_id()),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let log = audit_log(&s, &scope_a).await;
    let last = log.last().unwrap();
    assert_eq!(last.action, "role.update");
    assert!(last.via_super_admin);
    // Without the header the super admin is in its own tenant: no such role.
    assert_eq!(
        call(&s, "GET", &uri, &root, None, None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn twenty_concurrent_creates_of_one_name_make_one_role() {
    let s = setup().await;
    let admin = tenant(&s, "namerace").await;
    let created = race_creates(&s.roles, "/api/roles/", &admin).await;
    assert_eq!(created, 1);
    let listed = get_as(&s.roles, "/api/roles/?page_size=100", &admin)
        .await
        .json();
    let racers = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == "Racers")
        .count();
    assert_eq!(racers, 1);
    assert_eq!(
        audit_log(&s, &scope(&s, &admin)).await.len(),
        1,
        "one audit entry for the one change"
    );
}

#[tokio::test]
async fn the_admin_role_name_is_taken_from_the_start() {
    let s = setup().await;
    let admin = tenant(&s, "adminname").await;
    let res = call(
        &s,
        "POST",
        "/api/roles/",
        &admin,
        Some(json!({"name": "admin"})),
        None,
    )
    .await;
    assert_field_error(&res, "name", "A role with this name already exists.");
}
