//! The teams function against DynamoDB Local.

use http::StatusCode;
use serde_json::{json, Value};
use shared::keys;
use shared::permissions::FlatPermissions;
use shared::records::{AuditRecord, TeamNameClaim, TeamRecord, UserRecord};
use shared::store::{Add, Condition, Label, PageRequest, TenantScope};
use tests::app::{
    assert_field_error, call, path_of, race_creates, scope, setup, tenant, token_for,
    token_granted, Setup,
};
use tests::{send, unique};
use uuid::Uuid;

async fn as_admin(
    s: &Setup,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> tests::TestResponse {
    call(&s.teams, method, uri, Some(token), body, None).await
}

/// [`as_admin`], answered 200 (else the body shows in the failure).
async fn as_admin_ok(
    s: &Setup,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> tests::TestResponse {
    let res = as_admin(s, method, uri, token, body).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res
}

/// A PATCH of `uri` as `token`, answered 200.
async fn patch_ok(s: &Setup, uri: &str, token: &str, body: Value) -> tests::TestResponse {
    as_admin_ok(s, "PATCH", uri, token, Some(body)).await
}

/// Creates a team; returns its view.
async fn create_team(s: &Setup, token: &str, body: Value) -> Value {
    let res = as_admin(s, "POST", "/api/teams/", token, Some(body)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()
}

fn id_of(v: &Value) -> Uuid {
    v["id"].as_str().expect("an id").parse().expect("a uuid")
}

/// The tenant's audit entries about teams, oldest first.
async fn team_audit(s: &Setup, scope: &TenantScope) -> Vec<AuditRecord> {
    let req = PageRequest::new(100, None, "audit");
    let all = s
        .auth
        .store
        .tenant(scope)
        .query::<AuditRecord>(&keys::audit_log(), &req)
        .await
        .unwrap()
        .items;
    all.into_iter()
        .filter(|e| e.entity_type == "team")
        .collect()
}

fn actions(log: &[AuditRecord]) -> Vec<&str> {
    log.iter().map(|e| e.action.as_str()).collect()
}

/// Adds a user to the tenant through the users API.
async fn new_user(s: &Setup, admin: &str) -> Uuid {
    let (_, email) = unique("teamuser");
    let body = json!({"email": email, "password": "a-good-password", "password_confirm": "a-good-password",
                      "first_name": "Tam"});
    let req = http::Request::builder()
        .method("POST")
        .uri("/api/users/")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let res = send(&s.users, req).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    id_of(&res.json())
}

/// Puts a user into (`delta` 1) or out of (`delta` -1) a team the way the
/// users function does: the user's `team_ids` and the team's
/// `member_count` change in one transaction.
async fn membership(s: &Setup, scope: &TenantScope, user_id: Uuid, team_id: Uuid, delta: i64) {
    let store = s.auth.store.tenant(scope);
    let mut user: UserRecord = store.get(&keys::user(user_id)).await.unwrap().unwrap();
    let version = user.version;
    if delta > 0 {
        user.team_ids.push(team_id);
    } else {
        user.team_ids.retain(|t| *t != team_id);
    }
    user.version += 1;
    let mut tx = s.auth.store.transaction();
    tx.tenant(scope)
        .put(
            &keys::user(user_id),
            &user,
            Condition::VersionIs(version),
            Label::User,
        )
        .add(
            &keys::team(team_id),
            Add::new("member_count", delta),
            Label::Team,
        );
    tx.execute().await.unwrap();
}

async fn stored_team(s: &Setup, scope: &TenantScope, id: Uuid) -> Option<TeamRecord> {
    s.auth
        .store
        .tenant(scope)
        .get(&keys::team(id))
        .await
        .unwrap()
}

async fn name_claim(s: &Setup, scope: &TenantScope, name: &str) -> Option<TeamNameClaim> {
    s.auth
        .store
        .tenant(scope)
        .get(&keys::team_name(name))
        .await
        .unwrap()
}

#[tokio::test]
async fn admins_create_list_get_change_and_delete_teams_with_one_audit_entry_each() {
    let s = setup().await;
    let admin = tenant(&s, "teamcrud").await;
    let sc = scope(&s, &admin);
    let lead = new_user(&s, &admin).await;

    s.auth.calls.reset();
    let team = create_team(
        &s,
        &admin,
        json!({"name": "North", "description": "Northern region", "lead_id": lead}),
    )
    .await;
    assert_eq!(
        s.auth.calls.calls(),
        ["GetItem", "TransactWriteItems"],
        "lead check, then one transaction"
    );
    let mut fields: Vec<&str> = team
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "created_at",
            "created_by",
            "description",
            "id",
            "lead_id",
            "member_count",
            "name",
            "tenant",
            "updated_at"
        ]
    );
    assert_eq!(team["name"], "North");
    assert_eq!(team["description"], "Northern region");
    assert_eq!(team["lead_id"], lead.to_string());
    assert_eq!(team["member_count"], 0);
    assert_eq!(team["tenant"], sc.tenant_id().to_string());
    assert!(team["created_by"].is_string());
    let id = id_of(&team);
    let uri = format!("/api/teams/{id}/");
    let log = team_audit(&s, &sc).await;
    assert_eq!(actions(&log), ["team.create"]);
    assert_eq!(log[0].entity_id, id.to_string());
    assert_eq!(
        name_claim(&s, &sc, "north").await.map(|c| c.team_id),
        Some(id)
    );

    s.auth.calls.reset();
    let res = as_admin_ok(&s, "GET", "/api/teams", &admin, None).await;
    assert_eq!(s.auth.calls.calls(), ["Query"], "a list page is one query");
    let page = res.json();
    assert_eq!(
        (page["next"].clone(), page["previous"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(page["results"], json!([team.clone()]));

    s.auth.calls.reset();
    let res = as_admin(&s, "GET", &format!("/api/teams/{id}"), &admin, None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json(), team);
    assert_eq!(s.auth.calls.calls(), ["GetItem"], "a retrieve is one call");

    // PUT replaces every field: absent description and lead are cleared.
    let res = as_admin_ok(&s, "PUT", &uri, &admin, Some(json!({"name": "North"}))).await;
    let put = res.json();
    assert_eq!(
        (put["description"].clone(), put["lead_id"].clone()),
        (json!(""), Value::Null)
    );
    let log = team_audit(&s, &sc).await;
    assert_eq!(actions(&log), ["team.create", "team.update"]);
    assert_eq!(
        log[1].changes["lead_id"],
        json!({"before": lead.to_string(), "after": null})
    );
    // An empty description is stored as absent.
    assert_eq!(
        log[1].changes["description"],
        json!({"before": "Northern region", "after": null})
    );
    assert!(log[1].changes.get("version").is_none());

    // PATCH sets the lead (read together with the team) ...
    s.auth.calls.reset();
    let res = patch_ok(
        &s,
        &format!("/api/teams/{id}"),
        &admin,
        json!({"lead_id": lead}),
    )
    .await;
    assert_eq!(res.json()["lead_id"], lead.to_string());
    assert_eq!(res.json()["name"], "North", "absent fields are kept");
    assert_eq!(s.auth.calls.calls(), ["BatchGetItem", "TransactWriteItems"]);
    // ... renames (moving the name claim) ...
    s.auth.calls.reset();
    let res = patch_ok(&s, &uri, &admin, json!({"name": "North-East"})).await;
    assert_eq!(res.json()["name"], "North-East");
    assert_eq!(res.json()["lead_id"], lead.to_string());
    assert_eq!(s.auth.calls.calls(), ["GetItem", "TransactWriteItems"]);
    assert!(
        name_claim(&s, &sc, "north").await.is_none(),
        "the old claim is released"
    );
    assert_eq!(
        name_claim(&s, &sc, "north-east").await.map(|c| c.team_id),
        Some(id)
    );
    // ... and clears the lead with an explicit null.
    let res = patch_ok(&s, &uri, &admin, json!({"lead_id": null})).await;
    assert_eq!(res.json()["lead_id"], Value::Null);
    assert_eq!(team_audit(&s, &sc).await.len(), 5);

    // A change that changes nothing writes nothing.
    s.auth.calls.reset();
    patch_ok(
        &s,
        &uri,
        &admin,
        json!({"name": "North-East", "lead_id": null}),
    )
    .await;
    assert_eq!(s.auth.calls.calls(), ["GetItem"]);
    assert_eq!(team_audit(&s, &sc).await.len(), 5);
    assert_eq!(stored_team(&s, &sc, id).await.unwrap().version, 5);

    // The renamed team's old name is free again.
    let other = create_team(&s, &admin, json!({"name": "north"})).await;

    s.auth.calls.reset();
    let res = as_admin(&s, "DELETE", &uri, &admin, None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert_eq!(s.auth.calls.calls(), ["GetItem", "TransactWriteItems"]);
    assert_eq!(
        as_admin(&s, "GET", &uri, &admin, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        as_admin(&s, "DELETE", &uri, &admin, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        name_claim(&s, &sc, "north-east").await.is_none(),
        "deleting releases the name"
    );
    let listed = as_admin(&s, "GET", "/api/teams/", &admin, None)
        .await
        .json();
    assert_eq!(listed["results"], json!([other]));

    // Its name can be taken again.
    create_team(&s, &admin, json!({"name": "NORTH-EAST"})).await;
    let log = team_audit(&s, &sc).await;
    assert_eq!(
        actions(&log),
        [
            "team.create",
            "team.update",
            "team.update",
            "team.update",
            "team.update",
            "team.create",
            "team.delete",
            "team.create"
        ]
    );
    assert_eq!(log[6].entity_id, id.to_string());
    assert_eq!(
        log[6].changes["name"],
        json!({"before": "North-East", "after": null})
    );
}

#[tokio::test]
async fn team_names_are_unique_per_tenant_case_insensitively() {
    let s = setup().await;
    let a = tenant(&s, "teamnamea").await;
    let b = tenant(&s, "teamnameb").await;
    let sales = id_of(&create_team(&s, &a, json!({"name": "Sales"})).await);
    let support = id_of(&create_team(&s, &a, json!({"name": "Support"})).await);

    let res = as_admin(
        &s,
        "POST",
        "/api/teams/",
        &a,
        Some(json!({"name": "  SALES "})),
    )
    .await;
    assert_field_error(&res, "name", "A team with this name already exists.");
    // Names are unique within a tenant only.
    create_team(&s, &b, json!({"name": "sales"})).await;

    // Renaming onto a taken name is refused, by PATCH and by PUT.
    let res = as_admin(
        &s,
        "PATCH",
        &format!("/api/teams/{support}/"),
        &a,
        Some(json!({"name": "sAlEs"})),
    )
    .await;
    assert_field_error(&res, "name", "A team with this name already exists.");
    let res = as_admin(
        &s,
        "PUT",
        &format!("/api/teams/{support}/"),
        &a,
        Some(json!({"name": "sales"})),
    )
    .await;
    assert_eq!(
        res.json(),
        json!({"name": ["A team with this name already exists."]})
    );
    // A change of case only keeps the claim.
    patch_ok(
        &s,
        &format!("/api/teams/{sales}/"),
        &a,
        json!({"name": "SALES"}),
    )
    .await;
    assert_eq!(
        name_claim(&s, &scope(&s, &a), "sales")
            .await
            .map(|c| c.team_id),
        Some(sales)
    );

    assert_eq!(
        actions(&team_audit(&s, &scope(&s, &a)).await),
        ["team.create", "team.create", "team.update"]
    );
}

#[tokio::test]
async fn twenty_concurrent_creates_of_one_name_make_one_team() {
    let s = setup().await;
    let admin = tenant(&s, "teamrace").await;
    let created = race_creates(&s.teams, "/api/teams/", &admin).await;
    assert_eq!(created, 1);
    let listed = as_admin(&s, "GET", "/api/teams/?page_size=100", &admin, None)
        .await
        .json();
    assert_eq!(listed["results"].as_array().unwrap().len(), 1);
    assert_eq!(
        team_audit(&s, &scope(&s, &admin)).await.len(),
        1,
        "one audit entry for the one change"
    );
}

#[tokio::test]
async fn team_input_is_validated_and_leads_must_be_active_users_of_the_tenant() {
    let s = setup().await;
    let a = tenant(&s, "teamvala").await;
    let b = tenant(&s, "teamvalb").await;
    let sc = scope(&s, &a);
    let team = id_of(&create_team(&s, &a, json!({"name": "Ops"})).await);
    let uri = format!("/api/teams/{team}/");

    let cases = [
        (
            json!({"name": "X", "colour": "red"}),
            json!({"colour": ["Unknown field."]}),
        ),
        (
            json!({"name": "X", "member_count": 5}),
            json!({"member_count": ["Unknown field."]}),
        ),
        (
            json!({"description": "no name"}),
            json!({"name": ["This field is required."]}),
        ),
        (
            json!({"name": "   "}),
            json!({"name": ["This field may not be blank."]}),
        ),
        (
            json!({"name": "x".repeat(101)}),
            json!({"name": ["Ensure this field has no more than 100 characters."]}),
        ),
        (
            json!({"name": "X", "description": "d".repeat(501)}),
            json!({"description": ["Ensure this field has no more than 500 characters."]}),
        ),
    ];
    for (body, expected) in cases {
        let res = as_admin(&s, "POST", "/api/teams/", &a, Some(body.clone())).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(res.json(), expected, "{body}");
    }
    let res = as_admin(
        &s,
        "PATCH",
        &uri,
        &a,
        Some(json!({"tenant": Uuid::new_v4()})),
    )
    .await;
    assert_eq!(res.json(), json!({"tenant": ["Unknown field."]}));
    let res = as_admin(&s, "PUT", &uri, &a, Some(json!({"description": "no name"}))).await;
    assert_eq!(res.json(), json!({"name": ["This field is required."]}));
    assert!(as_admin(
        &s,
        "POST",
        "/api/teams/",
        &a,
        Some(json!({"name": "X", "lead_id": "nope"}))
    )
    .await
    .json()["lead_id"]
        .is_array());
    // A 100-character name is fine.
    create_team(&s, &a, json!({"name": "y".repeat(100)})).await;

    // The lead must be an active user of this tenant.
    let unknown = Uuid::new_v4();
    let foreign = new_user(&s, &b).await;
    let inactive = new_user(&s, &a).await;
    let store = s.auth.store.tenant(&sc);
    let mut user: UserRecord = store.get(&keys::user(inactive)).await.unwrap().unwrap();
    user.is_active = false;
    store
        .put(&keys::user(inactive), &user, Condition::Exists)
        .await
        .unwrap();
    for lead in [unknown, foreign, inactive] {
        let res = as_admin(
            &s,
            "POST",
            "/api/teams/",
            &a,
            Some(json!({"name": "Led", "lead_id": lead})),
        )
        .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{lead}");
        assert_eq!(
            res.json(),
            json!({"lead_id": [format!("Unknown or inactive user {lead}.")]})
        );
        let res = as_admin(&s, "PATCH", &uri, &a, Some(json!({"lead_id": lead}))).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{lead}");
        assert!(res.json()["lead_id"].is_array());
        let res = as_admin(
            &s,
            "PUT",
            &uri,
            &a,
            Some(json!({"name": "Ops", "lead_id": lead})),
        )
        .await;
        assert!(res.json()["lead_id"].is_array());
    }
    assert_eq!(
        stored_team(&s, &sc, team).await.unwrap().version,
        1,
        "nothing changed"
    );
    assert_eq!(
        actions(&team_audit(&s, &sc).await),
        ["team.create", "team.create"],
        "only the valid creations"
    );
    assert!(name_claim(&s, &sc, "led").await.is_none());
}

#[tokio::test]
async fn team_viewers_read_admins_write_and_anonymous_callers_are_refused() {
    let s = setup().await;
    let admin = tenant(&s, "teamperm").await;
    let sc = scope(&s, &admin);
    let team = create_team(&s, &admin, json!({"name": "Field"})).await;
    let uri = format!("/api/teams/{}/", id_of(&team));
    let members_uri = format!("{uri}members/");
    // A holder of teams.view only: reads teams, writes nothing.
    let member = token_granted(
        &s,
        sc.tenant_id(),
        shared::permissions::actions::ADMINISTRATION_TEAMS_VIEW,
    );
    let nobody = token_for(&s, sc.tenant_id(), false, FlatPermissions::default());

    let res = call(&s.teams, "GET", "/api/teams/", Some(&member), None, None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["results"], json!([team.clone()]));
    let res = call(&s.teams, "GET", &uri, Some(&member), None, None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json(), team);
    for path in ["/api/teams/", uri.as_str()] {
        let res = call(&s.teams, "GET", path, Some(&nobody), None, None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(res.json()["permission"], "administration.teams.view");
    }

    let writes = [
        (
            "POST",
            "/api/teams/".to_owned(),
            Some(json!({"name": "Mine"})),
        ),
        ("PUT", uri.clone(), Some(json!({"name": "Mine"}))),
        ("PATCH", uri.clone(), Some(json!({"name": "Mine"}))),
        ("DELETE", uri.clone(), None),
        ("GET", members_uri.clone(), None),
    ];
    for (method, path, body) in &writes {
        let res = call(&s.teams, method, path, Some(&member), body.clone(), None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(res.json()["code"], "permission_denied");
    }
    let reads = [
        ("GET", "/api/teams/".to_owned(), None),
        ("GET", uri.clone(), None),
    ];
    for (method, path, body) in writes.iter().chain(reads.iter()) {
        let res = call(&s.teams, method, path, None, body.clone(), None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(res.json()["code"], "not_authenticated");
    }
    assert_eq!(stored_team(&s, &sc, id_of(&team)).await.unwrap().version, 1);
    assert_eq!(team_audit(&s, &sc).await.len(), 1);
}

#[tokio::test]
async fn another_tenants_team_is_not_found() {
    let s = setup().await;
    let a = tenant(&s, "teamisoa").await;
    let b = tenant(&s, "teamisob").await;
    let sc = scope(&s, &a);
    let team = create_team(&s, &a, json!({"name": "Private"})).await;
    let uri = format!("/api/teams/{}/", id_of(&team));

    for (method, path, body) in [
        ("GET", uri.clone(), None),
        ("PUT", uri.clone(), Some(json!({"name": "Taken over"}))),
        ("PATCH", uri.clone(), Some(json!({"name": "Taken over"}))),
        ("DELETE", uri.clone(), None),
        ("GET", format!("{uri}members/"), None),
    ] {
        let res = as_admin(&s, method, &path, &b, body).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(
            res.json(),
            json!({"detail": "Not found.", "code": "not_found"})
        );
    }
    assert!(
        as_admin(&s, "GET", "/api/teams/", &b, None).await.json()["results"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Naming tenant a in X-Tenant-Id does not help a normal admin.
    let res = call(
        &s.teams,
        "GET",
        "/api/teams/",
        Some(&b),
        None,
        Some(sc.tenant_id()),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(
        as_admin(&s, "GET", "/api/teams/not-a-uuid/", &a, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The team is untouched.
    assert_eq!(as_admin(&s, "GET", &uri, &a, None).await.json(), team);
    assert_eq!(team_audit(&s, &sc).await.len(), 1);

    // A super admin acts inside tenant a with X-Tenant-Id, and is audited.
    let root = token_for(&s, Uuid::new_v4(), true, FlatPermissions::default());
    let res = call(
        &s.teams,
        "PATCH",
        &uri,
        Some(&root),
        Some(json!({"description": "set by ops"})),
        Some(sc.tenant_id()),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let log = team_audit(&s, &sc).await;
    assert_eq!(actions(&log), ["team.create", "team.update"]);
    assert!(log[1].via_super_admin);
    let res = call(
        &s.teams,
        "GET",
        "/api/teams/",
        Some(&root),
        None,
        Some(sc.tenant_id()),
    )
    .await;
    assert_eq!(res.json()["results"].as_array().unwrap().len(), 1);
    // Without the header the super admin is in its own tenant: no such team.
    assert_eq!(
        call(&s.teams, "GET", &uri, Some(&root), None, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_team_with_members_lists_them_and_cannot_be_deleted() {
    let s = setup().await;
    let admin = tenant(&s, "teammembers").await;
    let sc = scope(&s, &admin);
    let team = id_of(&create_team(&s, &admin, json!({"name": "Crew"})).await);
    let empty = id_of(&create_team(&s, &admin, json!({"name": "Empty"})).await);
    let uri = format!("/api/teams/{team}/");
    let (u1, u2, u3) = (
        new_user(&s, &admin).await,
        new_user(&s, &admin).await,
        new_user(&s, &admin).await,
    );
    membership(&s, &sc, u1, team, 1).await;
    membership(&s, &sc, u2, team, 1).await;
    membership(&s, &sc, u3, empty, 1).await;
    membership(&s, &sc, u3, empty, -1).await;

    let res = as_admin(&s, "GET", &uri, &admin, None).await;
    assert_eq!(res.json()["member_count"], 2);

    s.auth.calls.reset();
    let res = as_admin_ok(
        &s,
        "GET",
        &format!("{uri}members/?page_size=100"),
        &admin,
        None,
    )
    .await;
    let mut calls = s.auth.calls.calls();
    calls.sort();
    assert_eq!(
        calls,
        ["GetItem", "Query", "Query"],
        "the users, the team, the tenant with its roles"
    );
    assert_eq!(s.auth.calls.depth(), 1, "all at once");
    let page = res.json();
    let mut members: Vec<Uuid> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    members.sort();
    let mut expected = vec![u1, u2];
    expected.sort();
    assert_eq!(members, expected);
    assert!(page["results"][0]["roles"].is_array());
    assert_eq!(page["results"][0]["tenant"], sc.tenant_id().to_string());
    let res = as_admin(
        &s,
        "GET",
        &format!("/api/teams/{empty}/members/"),
        &admin,
        None,
    )
    .await;
    assert_eq!(res.json()["results"], json!([]));
    // Pages of members link onward with the team's own query.
    let first = as_admin(
        &s,
        "GET",
        &format!("{uri}members/?page_size=1"),
        &admin,
        None,
    )
    .await
    .json();
    assert_eq!(first["results"].as_array().unwrap().len(), 1);
    let second = as_admin(&s, "GET", &path_of(&first["next"]), &admin, None)
        .await
        .json();
    assert_eq!(second["results"].as_array().unwrap().len(), 1);
    assert_ne!(first["results"][0]["id"], second["results"][0]["id"]);
    // A cursor of one team's members is refused for another team.
    let stolen = path_of(&first["next"]).replace(&team.to_string(), &empty.to_string());
    let res = as_admin(&s, "GET", &stolen, &admin, None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.json()["detail"], "Invalid cursor");

    let res = as_admin(&s, "DELETE", &uri, &admin, None).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["code"], "team_has_members");
    assert!(stored_team(&s, &sc, team).await.is_some());
    // A team with members can still be changed (the count is kept).
    let res = patch_ok(&s, &uri, &admin, json!({"description": "busy"})).await;
    assert_eq!(res.json()["member_count"], 2);

    membership(&s, &sc, u1, team, -1).await;
    membership(&s, &sc, u2, team, -1).await;
    let res = as_admin(&s, "DELETE", &uri, &admin, None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert_eq!(
        as_admin(&s, "DELETE", &format!("/api/teams/{empty}/"), &admin, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        actions(&team_audit(&s, &sc).await),
        [
            "team.create",
            "team.create",
            "team.update",
            "team.delete",
            "team.delete"
        ]
    );
}

#[tokio::test]
async fn a_membership_change_invalidates_an_earlier_read_of_the_team() {
    let s = setup().await;
    let admin = tenant(&s, "teamstale").await;
    let sc = scope(&s, &admin);
    let team = id_of(&create_team(&s, &admin, json!({"name": "Stale"})).await);
    let user = new_user(&s, &admin).await;
    // The version condition is what the handlers rely on: a membership
    // change bumps the team's version, so a write based on the earlier read
    // fails instead of overwriting member_count.
    let before = stored_team(&s, &sc, team).await.unwrap();
    membership(&s, &sc, user, team, 1).await;
    let mut stale = before.clone();
    stale.description = "late".into();
    let res = s
        .auth
        .store
        .tenant(&sc)
        .put(
            &keys::team(team),
            &stale,
            Condition::VersionIs(before.version),
        )
        .await;
    assert!(res.is_err());
    let now = stored_team(&s, &sc, team).await.unwrap();
    assert_eq!((now.member_count, now.version), (1, before.version + 1));
}

#[tokio::test]
async fn pages_forward_and_back_through_teams() {
    let s = setup().await;
    let a = tenant(&s, "teampagesa").await;
    let b = tenant(&s, "teampagesb").await;
    for i in 0..5 {
        create_team(&s, &a, json!({"name": format!("Team {i}")})).await;
    }
    let first = as_admin(&s, "GET", "/api/teams/?page_size=2", &a, None)
        .await
        .json();
    assert_eq!(first["results"].as_array().unwrap().len(), 2);
    assert_eq!(first["previous"], Value::Null);
    let next = path_of(&first["next"]);
    assert!(next.contains("page_size=2"), "{next}");
    let second = as_admin(&s, "GET", &next, &a, None).await.json();
    let third = as_admin(&s, "GET", &path_of(&second["next"]), &a, None)
        .await
        .json();
    assert_eq!(third["results"].as_array().unwrap().len(), 1);
    assert_eq!(third["next"], Value::Null);
    let mut seen: Vec<String> = [&first, &second, &third]
        .iter()
        .flat_map(|p| {
            p["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_owned())
        })
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5, "every team exactly once");
    let back = as_admin(&s, "GET", &path_of(&third["previous"]), &a, None)
        .await
        .json();
    assert_eq!(back["results"], second["results"]);

    let res = as_admin(&s, "GET", &next, &b, None).await;
    assert_eq!(
        res.status,
        StatusCode::NOT_FOUND,
        "another tenant cannot use the cursor"
    );
    assert_eq!(
        res.json(),
        serde_json::json!({"detail": "Invalid cursor", "code": "not_found"})
    );
    assert_eq!(
        as_admin(&s, "GET", "/api/teams/?page_size=0", &a, None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    // Search: a case-insensitive name prefix; unknown parameters are refused.
    create_team(&s, &a, json!({"name": "Northern Lights"})).await;
    let found = as_admin(&s, "GET", "/api/teams/?search=NORTH", &a, None)
        .await
        .json();
    let names: Vec<&str> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Northern Lights"]);
    let found = as_admin(&s, "GET", "/api/teams/?search=team", &a, None)
        .await
        .json();
    assert_eq!(found["results"].as_array().unwrap().len(), 5);
    assert_eq!(
        as_admin(&s, "GET", "/api/teams/?search=north", &b, None)
            .await
            .json()["results"],
        json!([])
    );
    assert_eq!(
        as_admin(&s, "GET", "/api/teams/?colour=red", &a, None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}
