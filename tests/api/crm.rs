//! The CRM module service against DynamoDB Local: who sees which leads
//! under the `own`, `team` and `all` scopes (list, retrieve, export), what
//! a scoped page costs, refusals and their `required`/`held`, assignment,
//! membership and module changes reaching old tokens, activities, audit
//! and input checks. Plan limits are in `crm_limits.rs`.

use http::StatusCode;
use serde_json::{json, Value};
use shared::auth::{Claims, TokenSigner};
use shared::keys;
use shared::permissions::FlatPermissions;
use shared::store::{Condition, PageRequest};
use std::collections::BTreeSet;
use std::time::Duration;
use tests::app::{call, claims_of, get_as, path_of, scope, setup, setup_on, Setup};
use tests::{auth_app_checking, post_json, TestResponse};
use uuid::Uuid;

pub(crate) const PASSWORD: &str = "a-good-password";

/// A real user of the tenant, logged in.
pub(crate) struct Person {
    pub id: Uuid,
    pub access: String,
    pub refresh: String,
}

pub(crate) async fn req(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> TestResponse {
    call(app, method, uri, Some(token), body, None).await
}

/// Every grant of the CRM's leads and activities at `scope`.
pub(crate) fn crm_grants(scope: &str) -> Value {
    json!({"crm": {
        "leads": {"view": scope, "create": true, "edit": scope, "delete": true, "export": scope},
        "activities": {"view": scope, "create": true, "edit": scope, "delete": true},
    }})
}

pub(crate) async fn create_role(s: &Setup, admin: &str, name: &str, permissions: Value) -> String {
    let res = req(
        &s.roles,
        "POST",
        "/api/roles/",
        admin,
        Some(json!({"name": name, "permissions": permissions})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    res.json()["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn create_team(s: &Setup, admin: &str, name: &str) -> Uuid {
    let res = req(
        &s.teams,
        "POST",
        "/api/teams/",
        admin,
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    id_of(&res.json())
}

async fn login(s: &Setup, email: &str) -> (String, String) {
    let res = post_json(
        &s.auth.app,
        "/api/auth/login/",
        &json!({"email": email, "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let t = &res.json()["tokens"];
    (
        t["access"].as_str().unwrap().to_owned(),
        t["refresh"].as_str().unwrap().to_owned(),
    )
}

/// A user created through the users app with `roles` and `teams`, logged in.
pub(crate) async fn person(s: &Setup, admin: &str, roles: &[&str], teams: &[Uuid]) -> Person {
    let email = tests::unique("crmuser").1;
    let res = req(
        &s.users,
        "POST",
        "/api/users/",
        admin,
        Some(
            json!({"email": email, "password": PASSWORD, "password_confirm": PASSWORD,
                    "first_name": "Cam", "role_ids": roles, "team_ids": teams}),
        ),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let id = id_of(&res.json());
    let (access, refresh) = login(s, &email).await;
    Person {
        id,
        access,
        refresh,
    }
}

/// A fresh access token from a refresh token (the new refresh token, if
/// rotated, replaces it).
pub(crate) async fn refreshed(s: &Setup, refresh: &mut String) -> String {
    let res = post_json(
        &s.auth.app,
        "/api/auth/token/refresh/",
        &json!({"refresh": refresh}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let body = res.json();
    if let Some(r) = body["refresh"].as_str() {
        *refresh = r.to_owned();
    }
    body["access"].as_str().unwrap().to_owned()
}

/// A token like `base` (same user, tenant and modules) with other grants
/// and teams: for callers whose exact grants matter and who need not be
/// anyone's owner.
pub(crate) fn mint(s: &Setup, base: &str, permissions: Value, team_ids: &[Uuid]) -> String {
    let mut claims: Claims = claims_of(s, base);
    claims.permissions = serde_json::from_value::<FlatPermissions>(permissions).unwrap();
    claims.team_ids = team_ids.to_vec();
    claims.roles = vec![];
    claims.jti = Uuid::new_v4();
    TokenSigner::new(s.auth.key.clone(), s.auth.settings.clone())
        .sign(&claims)
        .unwrap()
}

/// Lifts the seeded plans' user limit in this test's table (the fixtures
/// need more users than the trial allows; the limit is not under test).
pub(crate) async fn lift_user_limit(s: &Setup) {
    for mut plan in shared::tenancy::default_plans(time::OffsetDateTime::now_utc()) {
        plan.max_users = None;
        s.auth
            .store
            .platform()
            .put(&keys::plan(plan.id), &plan, Condition::Always)
            .await
            .unwrap();
    }
}

pub(crate) fn id_of(v: &Value) -> Uuid {
    v["id"].as_str().expect("an id").parse().expect("a uuid")
}

pub(crate) async fn create_lead(s: &Setup, token: &str, body: Value) -> Uuid {
    let res = req(&s.crm, "POST", "/api/crm/leads/", token, Some(body)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    id_of(&res.json())
}

fn ids(page: &Value) -> Vec<Uuid> {
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(id_of)
        .collect()
}

/// Every id a list returns, following `next` to the end.
pub(crate) async fn list_all(s: &Setup, token: &str, query: &str) -> Vec<Uuid> {
    let mut uri = format!("/api/crm/leads/?page_size=100{query}");
    let mut out = Vec::new();
    loop {
        let res = get_as(&s.crm, &uri, token).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}: {}", res.text());
        let page = res.json();
        out.extend(ids(&page));
        match page["next"].as_str() {
            Some(_) => uri = path_of(&page["next"]),
            None => return out,
        }
    }
}

/// The ids of an export's rows, in order (the first cell of each row).
fn csv_ids(res: &TestResponse) -> Vec<Uuid> {
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let text = res.text();
    let mut lines = text.split("\r\n");
    assert!(lines.next().unwrap().starts_with("id,name,email,"));
    lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect()
}

/// Tenant A with two teams and four users, one per way of seeing leads.
pub(crate) struct Org {
    pub s: Setup,
    pub admin: String,
    pub admin_id: Uuid,
    pub team_a: Uuid,
    pub team_b: Uuid,
    /// `own` grants, member of team A.
    pub own: Person,
    /// `team` grants (no `crm.leads.delete`), member of team A.
    pub team: Person,
    /// `all` grants, in no team.
    pub all: Person,
    /// `team` grants, member of team B.
    pub b: Person,
}

pub(crate) async fn org_on(s: Setup) -> Org {
    lift_user_limit(&s).await;
    let r = tests::app::register(&s.auth, "crm").await;
    let admin = r.access;
    let admin_id = claims_of(&s, &admin).sub;
    let team_a = create_team(&s, &admin, "Team A").await;
    let team_b = create_team(&s, &admin, "Team B").await;
    let rep = create_role(&s, &admin, "Reps", crm_grants("own")).await;
    let mut lead_grants = crm_grants("team");
    lead_grants["crm"]["leads"]
        .as_object_mut()
        .unwrap()
        .remove("delete");
    let lead = create_role(&s, &admin, "Team leads", lead_grants).await;
    let manager = create_role(&s, &admin, "Managers", crm_grants("all")).await;
    let own = person(&s, &admin, &[&rep], &[team_a]).await;
    let team = person(&s, &admin, &[&lead], &[team_a]).await;
    let all = person(&s, &admin, &[&manager], &[]).await;
    let b = person(&s, &admin, &[&lead], &[team_b]).await;
    assert_eq!(claims_of(&s, &team.access).team_ids, vec![team_a]);
    Org {
        s,
        admin,
        admin_id,
        team_a,
        team_b,
        own,
        team,
        all,
        b,
    }
}

pub(crate) async fn org() -> Org {
    org_on(setup().await).await
}

/// The seven leads of [`Org`], created in this order by their owners.
struct Leads {
    /// own's, team A.
    l1: Uuid,
    /// own's, no team.
    l2: Uuid,
    /// team's, team A.
    l3: Uuid,
    /// team's, no team.
    l4: Uuid,
    /// b's, team B.
    l5: Uuid,
    /// all's, no team.
    l6: Uuid,
    /// the admin's, team A (the admin is in no team).
    l7: Uuid,
}

impl Leads {
    fn all(&self) -> [Uuid; 7] {
        [
            self.l1, self.l2, self.l3, self.l4, self.l5, self.l6, self.l7,
        ]
    }
}

async fn leads(o: &Org) -> Leads {
    let s = &o.s;
    let a = o.team_a;
    Leads {
        l1: create_lead(s, &o.own.access, json!({"name": "L1", "team_id": a})).await,
        l2: create_lead(s, &o.own.access, json!({"name": "L2"})).await,
        l3: create_lead(s, &o.team.access, json!({"name": "L3", "team_id": a})).await,
        l4: create_lead(s, &o.team.access, json!({"name": "L4"})).await,
        l5: create_lead(s, &o.b.access, json!({"name": "L5", "team_id": o.team_b})).await,
        l6: create_lead(s, &o.all.access, json!({"name": "L6"})).await,
        l7: create_lead(s, &o.admin, json!({"name": "L7", "team_id": a})).await,
    }
}

fn rev(v: &[Uuid]) -> Vec<Uuid> {
    v.iter().rev().copied().collect()
}

#[tokio::test]
async fn each_scope_sees_exactly_its_leads_in_list_retrieve_and_export() {
    let o = org().await;
    let s = &o.s;
    let l = leads(&o).await;
    let other = tests::app::tenant(s, "crmother").await;

    // Created order; lists and exports come newest first by default.
    let cases: [(&str, &str, Vec<Uuid>); 6] = [
        ("own", &o.own.access, vec![l.l1, l.l2]),
        ("team", &o.team.access, vec![l.l1, l.l3, l.l4, l.l7]),
        ("all", &o.all.access, l.all().to_vec()),
        ("admin", &o.admin, l.all().to_vec()),
        ("team B", &o.b.access, vec![l.l5]),
        ("other tenant", &other, vec![]),
    ];
    for (who, token, sees) in &cases {
        assert_eq!(&list_all(s, token, "").await, &rev(sees), "{who}: list");
        assert_eq!(
            list_all(s, token, "&ordering=created_at").await,
            *sees,
            "{who}: list oldest first"
        );
        let export = get_as(&s.crm, "/api/crm/leads/export/", token).await;
        assert_eq!(
            export.headers["content-type"], "text/csv; charset=utf-8",
            "{who}"
        );
        assert!(export.headers.get("link").is_none(), "{who}");
        assert_eq!(csv_ids(&export), rev(sees), "{who}: export");
        for id in l.all() {
            let res = get_as(&s.crm, &format!("/api/crm/leads/{id}/"), token).await;
            if sees.contains(&id) {
                assert_eq!(res.status, StatusCode::OK, "{who} GET {id}: {}", res.text());
                assert_eq!(id_of(&res.json()), id);
            } else {
                assert_eq!(res.status, StatusCode::NOT_FOUND, "{who} GET {id}");
                assert_eq!(res.json()["detail"], "Not found.", "{who} GET {id}");
            }
        }
    }
    // Team B's member sees nothing of team A, even filtering for it.
    assert!(list_all(s, &o.b.access, &format!("&team={}", o.team_a))
        .await
        .is_empty());
    assert!(list_all(s, &other, &format!("&owner={}", o.own.id))
        .await
        .is_empty());

    // Filters narrow within the scope, never widen it.
    assert_eq!(
        list_all(s, &o.all.access, &format!("&team={}", o.team_a)).await,
        vec![l.l7, l.l3, l.l1]
    );
    assert_eq!(
        list_all(s, &o.all.access, &format!("&owner={}", o.team.id)).await,
        vec![l.l4, l.l3]
    );
    assert_eq!(
        list_all(s, &o.team.access, &format!("&owner={}", o.own.id)).await,
        vec![l.l1],
        "own's lead outside team A stays hidden from the team lead"
    );
    let view = get_as(&s.crm, &format!("/api/crm/leads/{}/", l.l1), &o.team.access)
        .await
        .json();
    assert_eq!(view["owner_id"], o.own.id.to_string());
    assert_eq!(view["team_id"], o.team_a.to_string());
    assert_eq!(view["created_by"], o.own.id.to_string());
    assert_eq!(
        (
            view["status"].as_str(),
            view["value"].as_str(),
            view["currency"].as_str()
        ),
        (Some("new"), Some("0.00"), Some("INR"))
    );
}

#[tokio::test]
async fn scoped_pages_query_only_their_partitions_and_merge_in_order() {
    let s = setup().await;
    let admin = tests::app::tenant(&s, "crmcost").await;
    let team_a = create_team(&s, &admin, "A").await;
    let team_b = create_team(&s, &admin, "B").await;
    let lead_role = create_role(&s, &admin, "Team leads", crm_grants("team")).await;
    let u = person(&s, &admin, &[&lead_role], &[team_a, team_b]).await;
    let x = person(&s, &admin, &[], &[team_a]).await;
    let y = person(&s, &admin, &[], &[team_b]).await;
    let mut visible = Vec::new();
    for (n, owner, team, seen) in [
        (1, u.id, Some(team_a), true),
        (2, x.id, Some(team_a), true),
        (8, x.id, None, false),
        (3, y.id, Some(team_b), true),
        (4, u.id, None, true),
        (9, y.id, None, false),
        (5, x.id, Some(team_b), true),
        (6, y.id, Some(team_a), true),
        (7, u.id, Some(team_b), true),
    ] {
        let id = create_lead(
            &s,
            &admin,
            json!({"name": format!("Lead {n}"), "owner_id": owner, "team_id": team}),
        )
        .await;
        if seen {
            visible.push(id);
        }
    }
    assert_eq!(visible.len(), 7);
    let token = u.access.as_str();
    // Warm the tenant's revocation state, read once per interval.
    assert_eq!(
        get_as(&s.crm, "/api/crm/leads/", token).await.status,
        StatusCode::OK
    );

    // One round of three queries (owner, team A, team B) per page, merged
    // in created order; lead 1 and 7 (the caller's, in a team) once each.
    let mut uri = "/api/crm/leads/?ordering=created_at&page_size=3".to_owned();
    let mut pages: Vec<Vec<Uuid>> = Vec::new();
    let mut links: Vec<(Value, Value)> = Vec::new();
    loop {
        s.auth.calls.reset();
        let res = get_as(&s.crm, &uri, token).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert_eq!(s.auth.calls.calls(), ["Query", "Query", "Query"], "{uri}");
        let page = res.json();
        pages.push(ids(&page));
        links.push((page["next"].clone(), page["previous"].clone()));
        match page["next"].as_str() {
            Some(_) => uri = path_of(&page["next"]),
            None => break,
        }
        assert!(pages.len() < 5, "{pages:?}");
    }
    assert_eq!(
        pages,
        [
            visible[..3].to_vec(),
            visible[3..6].to_vec(),
            visible[6..].to_vec()
        ]
    );
    assert_eq!(links[0].1, Value::Null, "the first page has no previous");
    // Back from the last page through `previous`, to the first.
    let mut uri = path_of(&links[2].1);
    for expected in [&visible[3..6], &visible[..3]] {
        s.auth.calls.reset();
        let res = get_as(&s.crm, &uri, token).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert_eq!(s.auth.calls.calls(), ["Query", "Query", "Query"]);
        let page = res.json();
        assert_eq!(ids(&page), expected);
        if expected == &visible[..3] {
            assert_eq!(page["previous"], Value::Null, "back at the first page");
        } else {
            uri = path_of(&page["previous"]);
        }
    }

    // Newest first: the same leads, reversed, same cost.
    let mut uri = "/api/crm/leads/?page_size=3".to_owned();
    let mut newest = Vec::new();
    loop {
        s.auth.calls.reset();
        let page = get_as(&s.crm, &uri, token).await.json();
        assert_eq!(s.auth.calls.calls(), ["Query", "Query", "Query"]);
        let got = ids(&page);
        assert!(got.len() <= 3);
        newest.extend(got);
        match page["next"].as_str() {
            Some(_) => uri = path_of(&page["next"]),
            None => break,
        }
    }
    assert_eq!(newest, rev(&visible));

    // Under `own`: the owner partition alone, one query.
    let own = mint(
        &s,
        token,
        json!({"crm.leads.view": "own"}),
        &[team_a, team_b],
    );
    s.auth.calls.reset();
    let page = get_as(&s.crm, "/api/crm/leads/?ordering=created_at", &own)
        .await
        .json();
    assert_eq!(s.auth.calls.calls(), ["Query"]);
    assert_eq!(ids(&page), [visible[0], visible[3], visible[6]]);
    // A cursor is bound to its query: one from the team list does not
    // continue an `own` list.
    let team_page = get_as(&s.crm, "/api/crm/leads/?page_size=3", token)
        .await
        .json();
    let cursor = path_of(&team_page["next"]);
    let res = get_as(&s.crm, &cursor, &own).await;
    assert!(
        res.status == StatusCode::NOT_FOUND || res.status == StatusCode::BAD_REQUEST,
        "{} {}",
        res.status,
        res.text()
    );
}

fn assert_denied(res: &TestResponse, permission: &str, required: &str, held: Value) {
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    let b = res.json();
    assert!(b["detail"].is_string(), "{b}");
    assert_eq!(b["code"], "permission_denied", "{b}");
    assert_eq!(b["permission"], permission, "{b}");
    assert_eq!(b["required"], required, "{b}");
    assert_eq!(b["held"], held, "{b}");
    assert_eq!(b.as_object().unwrap().len(), 5, "{b}");
}

#[tokio::test]
async fn refusals_name_the_scope_required_and_held_and_hidden_leads_are_404() {
    let o = org().await;
    let s = &o.s;
    let l = leads(&o).await;
    let uri = |id: Uuid| format!("/api/crm/leads/{id}/");

    // Sees team A's leads, edits only its own.
    let viewer = mint(
        s,
        &o.team.access,
        json!({"crm.leads.view": "team", "crm.leads.edit": "own", "crm.leads.delete": true}),
        &[o.team_a],
    );
    let res = req(
        &s.crm,
        "PATCH",
        &uri(l.l1),
        &viewer,
        Some(json!({"notes": "x"})),
    )
    .await;
    assert_denied(&res, "crm.leads.edit", "team", json!("own"));
    let res = req(
        &s.crm,
        "PUT",
        &uri(l.l1),
        &viewer,
        Some(json!({"name": "L1"})),
    )
    .await;
    assert_denied(&res, "crm.leads.edit", "team", json!("own"));
    let res = req(
        &s.crm,
        "POST",
        &format!("/api/crm/leads/{}/assign/", l.l1),
        &viewer,
        Some(json!({"owner_id": o.team.id})),
    )
    .await;
    assert_denied(&res, "crm.leads.edit", "team", json!("own"));
    // Its own lead it edits.
    let res = req(
        &s.crm,
        "PATCH",
        &uri(l.l3),
        &viewer,
        Some(json!({"notes": "mine"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    // Sees everything, edits nothing: a lead in no team of theirs needs `all`.
    let reader = mint(s, &o.all.access, json!({"crm.leads.view": "all"}), &[]);
    let res = req(
        &s.crm,
        "PATCH",
        &uri(l.l3),
        &reader,
        Some(json!({"notes": "x"})),
    )
    .await;
    assert_denied(&res, "crm.leads.edit", "all", Value::Null);

    // Delete is a boolean grant: no scope in the refusal.
    let res = req(&s.crm, "DELETE", &uri(l.l3), &o.team.access, None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    let b = res.json();
    assert_eq!(
        (b["code"].as_str(), b["permission"].as_str()),
        (Some("permission_denied"), Some("crm.leads.delete"))
    );
    assert!(b.get("required").is_none(), "{b}");

    // Without any view grant: 403 naming it, before any lookup.
    let nothing = mint(s, &o.all.access, json!({"crm.leads.create": true}), &[]);
    let res = get_as(&s.crm, &uri(l.l1), &nothing).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["permission"], "crm.leads.view");

    // Out of view scope: 404 on every endpoint, as for an unknown id.
    let hidden = [
        (&o.own.access, l.l3),
        (&o.own.access, l.l7),
        (&o.b.access, l.l1),
        (&o.team.access, l.l2),
        (&o.all.access, Uuid::now_v7()),
    ];
    for (token, id) in hidden {
        for (method, path, body) in [
            ("GET", uri(id), None),
            ("PUT", uri(id), Some(json!({"name": "Taken"}))),
            ("PATCH", uri(id), Some(json!({"name": "Taken"}))),
            ("DELETE", uri(id), None),
            (
                "POST",
                format!("/api/crm/leads/{id}/assign/"),
                Some(json!({"owner_id": o.own.id})),
            ),
            ("GET", format!("/api/crm/leads/{id}/activities/"), None),
            (
                "POST",
                format!("/api/crm/leads/{id}/activities/"),
                Some(json!({"type": "call", "summary": "Ring"})),
            ),
        ] {
            let res = req(&s.crm, method, &path, token, body).await;
            assert_eq!(
                res.status,
                StatusCode::NOT_FOUND,
                "{method} {path}: {}",
                res.text()
            );
        }
    }
    // Nothing changed.
    let l3 = get_as(&s.crm, &uri(l.l3), &o.all.access).await.json();
    assert_eq!(l3["name"], "L3");
    assert_eq!(l3["notes"], "mine");
}

#[tokio::test]
async fn assignment_follows_the_edit_scope() {
    let o = org().await;
    let s = &o.s;
    let l = leads(&o).await;
    let assign = |id: Uuid, token: String, body: Value| {
        let app = s.crm.clone();
        async move {
            req(
                &app,
                "POST",
                &format!("/api/crm/leads/{id}/assign/"),
                &token,
                Some(body),
            )
            .await
        }
    };

    // Team scope, within team A to a member of it: done.
    let res = assign(
        l.l4,
        o.team.access.clone(),
        json!({"owner_id": o.own.id, "team_id": o.team_a}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let v = res.json();
    assert_eq!(v["owner_id"], o.own.id.to_string());
    assert_eq!(v["team_id"], o.team_a.to_string());
    let own_email = claims_of(s, &o.own.access).email;
    assert_eq!(v["owner_email"], own_email);
    // The new owner sees it; its old owner still does, through team A.
    assert!(list_all(s, &o.own.access, "").await.contains(&l.l4));
    assert!(list_all(s, &o.team.access, "").await.contains(&l.l4));

    // Team scope, to someone outside team A: 400 on owner_id.
    let res = assign(
        l.l3,
        o.team.access.clone(),
        json!({"owner_id": o.all.id, "team_id": o.team_a}),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    let b = res.json();
    assert!(b["owner_id"].is_array(), "{b}");
    assert_eq!(b.as_object().unwrap().len(), 1, "{b}");

    // Team scope, into a team the caller is not in: needs all.
    let res = assign(
        l.l3,
        o.team.access.clone(),
        json!({"owner_id": o.b.id, "team_id": o.team_b}),
    )
    .await;
    assert_denied(&res, "crm.leads.edit", "all", json!("team"));
    // ... or to another owner outside any team of theirs.
    let res = assign(l.l3, o.team.access.clone(), json!({"owner_id": o.own.id})).await;
    assert_denied(&res, "crm.leads.edit", "all", json!("team"));

    // Own scope: giving a lead away needs team.
    let res = assign(
        l.l2,
        o.own.access.clone(),
        json!({"owner_id": o.team.id, "team_id": o.team_a}),
    )
    .await;
    assert_denied(&res, "crm.leads.edit", "team", json!("own"));
    // Keeping it and putting it in their own team is fine.
    let res = assign(
        l.l2,
        o.own.access.clone(),
        json!({"owner_id": o.own.id, "team_id": o.team_a}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(list_all(s, &o.team.access, "").await.contains(&l.l2));

    // All scope: any active user, any team.
    let res = assign(
        l.l5,
        o.all.access.clone(),
        json!({"owner_id": o.admin_id, "team_id": o.team_a}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["owner_id"], o.admin_id.to_string());
    assert!(
        !list_all(s, &o.b.access, "").await.contains(&l.l5),
        "gone from team B's member"
    );
    let res = assign(
        l.l5,
        o.all.access.clone(),
        json!({"owner_id": Uuid::now_v7(), "team_id": Uuid::now_v7()}),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    let b = res.json();
    assert!(b["owner_id"].is_array() && b["team_id"].is_array(), "{b}");
    // An inactive user owns nothing.
    let res = req(
        &s.users,
        "DELETE",
        &format!("/api/users/{}/", o.b.id),
        &o.admin,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    let res = assign(l.l6, o.all.access.clone(), json!({"owner_id": o.b.id})).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert!(res.json()["owner_id"].is_array());

    // Creating for someone else follows the same rules.
    let res = req(
        &s.crm,
        "POST",
        "/api/crm/leads/",
        &o.own.access,
        Some(json!({"name": "For team", "owner_id": o.team.id, "team_id": o.team_a})),
    )
    .await;
    assert_denied(&res, "crm.leads.edit", "team", json!("own"));
    let res = req(
        &s.crm,
        "POST",
        "/api/crm/leads/",
        &o.team.access,
        Some(json!({"name": "For own", "owner_id": o.own.id, "team_id": o.team_a})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
}

async fn checking_org() -> Org {
    org_on(setup_on(auth_app_checking(Duration::ZERO).await)).await
}

#[tokio::test]
async fn membership_changes_reach_scoped_lists_through_refreshed_tokens() {
    let o = checking_org().await;
    let s = &o.s;
    let in_a = create_lead(s, &o.admin, json!({"name": "In A", "team_id": o.team_a})).await;
    create_lead(s, &o.admin, json!({"name": "Nowhere"})).await;
    let old = o.team.access.clone();
    let mut refresh = o.team.refresh.clone();
    assert_eq!(list_all(s, &old, "").await, [in_a]);

    // Out of team A: the old token is revoked; a refreshed one no longer
    // carries the team, and its lists and reads follow.
    let user_uri = format!("/api/users/{}/", o.team.id);
    let res = req(
        &s.users,
        "PATCH",
        &user_uri,
        &o.admin,
        Some(json!({"team_ids": []})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = get_as(&s.crm, "/api/crm/leads/", &old).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert_eq!(res.json()["code"], "token_not_valid");
    let outside = refreshed(s, &mut refresh).await;
    assert!(claims_of(s, &outside).team_ids.is_empty());
    assert!(list_all(s, &outside, "").await.is_empty());
    assert_eq!(
        get_as(&s.crm, &format!("/api/crm/leads/{in_a}/"), &outside)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let export = get_as(&s.crm, "/api/crm/leads/export/", &outside).await;
    assert!(csv_ids(&export).is_empty());

    // Back into team A: a team gained revokes too (the token's `team_ids`
    // would hide the team's leads until it expired); the refreshed token
    // sees team A again.
    let res = req(
        &s.users,
        "PATCH",
        &user_uri,
        &o.admin,
        Some(json!({"team_ids": [o.team_a]})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = get_as(&s.crm, "/api/crm/leads/", &outside).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert_eq!(res.json()["code"], "token_not_valid");
    let inside = refreshed(s, &mut refresh).await;
    assert_eq!(claims_of(s, &inside).team_ids, [o.team_a]);
    assert_eq!(list_all(s, &inside, "").await, [in_a]);
    assert_eq!(
        get_as(&s.crm, &format!("/api/crm/leads/{in_a}/"), &inside)
            .await
            .status,
        StatusCode::OK
    );
}

/// One request to every CRM endpoint (on `lead` and `activity`).
fn every_endpoint(lead: Uuid, activity: Uuid) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("GET", "/api/crm/leads/".into(), None),
        (
            "POST",
            "/api/crm/leads/".into(),
            Some(json!({"name": "New"})),
        ),
        ("GET", "/api/crm/leads/export/".into(), None),
        ("GET", format!("/api/crm/leads/{lead}/"), None),
        (
            "PUT",
            format!("/api/crm/leads/{lead}/"),
            Some(json!({"name": "Put"})),
        ),
        (
            "PATCH",
            format!("/api/crm/leads/{lead}/"),
            Some(json!({"name": "Patch"})),
        ),
        (
            "POST",
            format!("/api/crm/leads/{lead}/assign/"),
            Some(json!({"owner_id": lead})),
        ),
        ("GET", format!("/api/crm/leads/{lead}/activities/"), None),
        (
            "POST",
            format!("/api/crm/leads/{lead}/activities/"),
            Some(json!({"type": "note", "summary": "S"})),
        ),
        ("GET", format!("/api/crm/activities/{activity}/"), None),
        (
            "PATCH",
            format!("/api/crm/activities/{activity}/"),
            Some(json!({"done": true})),
        ),
        ("DELETE", format!("/api/crm/activities/{activity}/"), None),
        ("DELETE", format!("/api/crm/leads/{lead}/"), None),
    ]
}

async fn assert_module_disabled_everywhere(s: &Setup, token: &str, lead: Uuid, activity: Uuid) {
    for (method, uri, body) in every_endpoint(lead, activity) {
        let res = req(&s.crm, method, &uri, token, body).await;
        assert_eq!(
            res.status,
            StatusCode::FORBIDDEN,
            "{method} {uri}: {}",
            res.text()
        );
        let b = res.json();
        assert_eq!(
            (b["code"].as_str(), b["module"].as_str()),
            (Some("module_disabled"), Some("crm")),
            "{method} {uri}: {b}"
        );
    }
}

#[tokio::test]
async fn a_withdrawn_module_refuses_old_and_new_tokens_on_every_crm_endpoint() {
    let s = setup_on(auth_app_checking(Duration::ZERO).await);
    let r = tests::app::register(&s.auth, "crmoff").await;
    let (admin, mut refresh) = (r.access, r.refresh);
    let lead = create_lead(&s, &admin, json!({"name": "Before"})).await;
    let res = req(
        &s.crm,
        "POST",
        &format!("/api/crm/leads/{lead}/activities/"),
        &admin,
        Some(json!({"type": "call", "summary": "Ring"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let activity = id_of(&res.json());

    let res = req(
        &s.tenants,
        "PATCH",
        "/api/tenants/me/",
        &admin,
        Some(json!({"enabled_modules": ["whatsapp", "meetings"]})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // The token from before still names crm: 403 module_disabled on the
    // CRM, revoked elsewhere.
    assert!(claims_of(&s, &admin)
        .enabled_modules
        .contains(&"crm".to_owned()));
    assert_module_disabled_everywhere(&s, &admin, lead, activity).await;
    let res = req(&s.users, "GET", "/api/users/me/", &admin, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());

    // A fresh token has no crm: the same answers; elsewhere it works.
    let fresh = refreshed(&s, &mut refresh).await;
    assert!(!claims_of(&s, &fresh)
        .enabled_modules
        .contains(&"crm".to_owned()));
    assert_module_disabled_everywhere(&s, &fresh, lead, activity).await;
    let res = req(&s.users, "GET", "/api/users/me/", &fresh, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // Nothing was changed meanwhile.
    let stored: Option<crm::records::LeadRecord> = s
        .auth
        .store
        .tenant(&scope(&s, &admin))
        .get(&crm::records::lead(lead))
        .await
        .unwrap();
    assert_eq!(stored.map(|l| l.name).as_deref(), Some("Before"));

    // Enabled again: a token refreshed after it works.
    let res = req(
        &s.tenants,
        "PATCH",
        "/api/tenants/me/",
        &fresh,
        Some(json!({"enabled_modules": ["crm"]})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let back = refreshed(&s, &mut refresh).await;
    assert_eq!(list_all(&s, &back, "").await, [lead]);
}

/// Modules other than the CRM withdrawn: a token from before keeps its CRM
/// grants on the CRM (the tenant still has it) and is refused elsewhere;
/// the CRM withdrawn with others: `module_disabled` on the CRM all the same.
#[tokio::test]
async fn other_withdrawn_modules_do_not_stop_crm_grants() {
    let s = setup_on(auth_app_checking(Duration::ZERO).await);
    let r = tests::app::register(&s.auth, "crmothers").await;
    let (admin, mut refresh) = (r.access, r.refresh);
    let lead = create_lead(&s, &admin, json!({"name": "Kept"})).await;
    assert!(claims_of(&s, &admin).enabled_modules.len() > 1);
    let mut set_modules = async |modules: Value| {
        let fresh = refreshed(&s, &mut refresh).await;
        let res = req(
            &s.tenants,
            "PATCH",
            "/api/tenants/me/",
            &fresh,
            Some(json!({ "enabled_modules": modules })),
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    };

    set_modules(json!(["crm"])).await;
    assert_eq!(list_all(&s, &admin, "").await, [lead]);
    let res = req(&s.users, "GET", "/api/users/me/", &admin, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());

    set_modules(json!(["meetings"])).await;
    let res = get_as(&s.crm, "/api/crm/leads/", &admin).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert_eq!(res.json()["code"], "module_disabled");
}

#[tokio::test]
async fn activities_follow_their_leads_visibility() {
    let o = org().await;
    let s = &o.s;
    let l = leads(&o).await;
    let acts = |lead: Uuid| format!("/api/crm/leads/{lead}/activities/");
    let one = |id: Uuid| format!("/api/crm/activities/{id}/");

    // The owner logs one on their lead in team A.
    let res = req(
        &s.crm,
        "POST",
        &acts(l.l1),
        &o.own.access,
        Some(json!({"type": "call", "summary": "First call", "due_at": "2030-01-02T09:30:00Z"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let act = res.json();
    let id = id_of(&act);
    assert_eq!(act["lead_id"], l.l1.to_string());
    assert_eq!(act["owner_id"], o.own.id.to_string());
    assert_eq!(act["done"], false);
    assert_eq!(act["type"], "call");
    let second = req(
        &s.crm,
        "POST",
        &acts(l.l1),
        &o.team.access,
        Some(json!({"type": "note", "summary": "Team note"})),
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text());
    let second = id_of(&second.json());

    // Seen by whoever sees the lead under crm.activities.view, oldest first.
    for token in [&o.own.access, &o.team.access, &o.all.access, &o.admin] {
        let page = get_as(&s.crm, &acts(l.l1), token).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        assert_eq!(ids(&page.json()), [id, second]);
        let res = get_as(&s.crm, &one(id), token).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.json(), act);
    }
    // Not by team B's member, on any activity endpoint.
    for (method, uri, body) in [
        ("GET", acts(l.l1), None),
        (
            "POST",
            acts(l.l1),
            Some(json!({"type": "note", "summary": "x"})),
        ),
        ("GET", one(id), None),
        ("PATCH", one(id), Some(json!({"done": true}))),
        ("DELETE", one(id), None),
    ] {
        let res = req(&s.crm, method, &uri, &o.b.access, body).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{method} {uri}");
    }
    // Nor on the own-scoped user's view of someone else's lead.
    let res = req(
        &s.crm,
        "POST",
        &acts(l.l3),
        &o.own.access,
        Some(json!({"type": "note", "summary": "x"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // Editing: team scope reaches team A's lead; edit own on it is refused.
    let res = req(
        &s.crm,
        "PATCH",
        &one(id),
        &o.team.access,
        Some(json!({"done": true, "summary": "Called back"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        (res.json()["done"].as_bool(), res.json()["summary"].as_str()),
        (Some(true), Some("Called back"))
    );
    let narrow = mint(
        s,
        &o.team.access,
        json!({"crm.activities.view": "team", "crm.activities.edit": "own"}),
        &[o.team_a],
    );
    let res = req(
        &s.crm,
        "PATCH",
        &one(id),
        &narrow,
        Some(json!({"done": false})),
    )
    .await;
    assert_denied(&res, "crm.activities.edit", "team", json!("own"));
    let res = req(&s.crm, "DELETE", &one(id), &narrow, None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["permission"], "crm.activities.delete");
    // Bad fields, all named.
    let res = req(
        &s.crm,
        "PATCH",
        &one(id),
        &o.own.access,
        Some(json!({"summary": " ", "due_at": "tomorrow"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let keys: BTreeSet<String> = res.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, BTreeSet::from(["due_at".into(), "summary".into()]));
    let res = req(
        &s.crm,
        "POST",
        &acts(l.l1),
        &o.own.access,
        Some(json!({"type": "fax", "summary": "x"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());

    // The owner deletes it: gone for everyone.
    let res = req(&s.crm, "DELETE", &one(id), &o.own.access, None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert_eq!(
        get_as(&s.crm, &one(id), &o.all.access).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ids(&get_as(&s.crm, &acts(l.l1), &o.all.access).await.json()),
        [second]
    );
}

async fn stored_activities(o: &Org, lead: Uuid) -> Vec<crm::records::ActivityRecord> {
    o.s.auth
        .store
        .tenant(&scope(&o.s, &o.admin))
        .query_alt::<crm::records::ActivityRecord>(
            &crm::records::activities_of(lead),
            &PageRequest::new(100, None, "t"),
        )
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn activities_go_with_their_lead_and_never_outlive_a_concurrent_delete() {
    let o = org().await;
    let s = &o.s;
    let lead = create_lead(s, &o.all.access, json!({"name": "Doomed"})).await;
    let mut made = Vec::new();
    for n in 0..3 {
        let res = req(
            &s.crm,
            "POST",
            &format!("/api/crm/leads/{lead}/activities/"),
            &o.all.access,
            Some(json!({"type": "email", "summary": format!("Mail {n}")})),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED);
        made.push(id_of(&res.json()));
    }
    assert_eq!(stored_activities(&o, lead).await.len(), 3);
    let res = req(
        &s.crm,
        "DELETE",
        &format!("/api/crm/leads/{lead}/"),
        &o.all.access,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    for id in made {
        let res = get_as(&s.crm, &format!("/api/crm/activities/{id}/"), &o.all.access).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let stored: Option<crm::records::ActivityRecord> = s
            .auth
            .store
            .tenant(&scope(s, &o.admin))
            .get(&crm::records::activity(id))
            .await
            .unwrap();
        assert!(stored.is_none(), "activity {id} outlived its lead");
    }
    assert_eq!(
        get_as(
            &s.crm,
            &format!("/api/crm/leads/{lead}/activities/"),
            &o.all.access
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // A create racing the lead's deletion: refused (404 before, 409 in
    // between) or created and then deleted with the lead; never left over.
    for round in 0..8 {
        let lead = create_lead(s, &o.all.access, json!({"name": format!("Race {round}")})).await;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let (app, token, b) = (s.crm.clone(), o.all.access.clone(), barrier.clone());
        let create = tokio::spawn(async move {
            b.wait().await;
            req(
                &app,
                "POST",
                &format!("/api/crm/leads/{lead}/activities/"),
                &token,
                Some(json!({"type": "note", "summary": "Late"})),
            )
            .await
        });
        let (app, token, b) = (s.crm.clone(), o.all.access.clone(), barrier.clone());
        let delete = tokio::spawn(async move {
            b.wait().await;
            req(
                &app,
                "DELETE",
                &format!("/api/crm/leads/{lead}/"),
                &token,
                None,
            )
            .await
        });
        let (created, deleted) = (create.await.unwrap(), delete.await.unwrap());
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text());
        match created.status {
            StatusCode::CREATED => {
                let id = id_of(&created.json());
                let res =
                    get_as(&s.crm, &format!("/api/crm/activities/{id}/"), &o.all.access).await;
                assert_eq!(res.status, StatusCode::NOT_FOUND);
            }
            StatusCode::NOT_FOUND => {}
            StatusCode::CONFLICT => assert_eq!(created.json()["code"], "conflict"),
            other => panic!("round {round}: {other} {}", created.text()),
        }
        assert!(
            stored_activities(&o, lead).await.is_empty(),
            "round {round}: an activity outlived its lead"
        );
    }
}

/// The tenant's audit entries about `entity` (`crm_lead`, `crm_activity`),
/// through the audit API: (entity id, action), oldest first.
async fn audit(s: &Setup, admin: &str, entity: &str) -> Vec<(Uuid, String)> {
    let res = get_as(
        &s.audit,
        &format!("/api/audit/?entity={entity}&page_size=100"),
        admin,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let page = res.json();
    let mut entries: Vec<(String, Uuid, String)> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["entity"], entity);
            (
                e["at"].as_str().unwrap().to_owned(),
                e["entity_id"].as_str().unwrap().parse().unwrap(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    entries.sort();
    entries.into_iter().map(|(_, id, a)| (id, a)).collect()
}

#[tokio::test]
async fn every_change_is_audited_and_refused_ones_are_not() {
    let o = org().await;
    let s = &o.s;
    let lead = create_lead(s, &o.all.access, json!({"name": "Audited", "value": "10"})).await;
    let uri = format!("/api/crm/leads/{lead}/");
    let ok = |res: TestResponse| assert!(res.status.is_success(), "{}", res.text());
    ok(req(
        &s.crm,
        "PATCH",
        &uri,
        &o.all.access,
        Some(json!({"value": "20.50"})),
    )
    .await);
    // No change: no write, no entry.
    ok(req(
        &s.crm,
        "PATCH",
        &uri,
        &o.all.access,
        Some(json!({"value": "20.5"})),
    )
    .await);
    ok(req(
        &s.crm,
        "POST",
        &format!("/api/crm/leads/{lead}/assign/"),
        &o.all.access,
        Some(json!({"owner_id": o.own.id, "team_id": o.team_a})),
    )
    .await);
    let res = req(
        &s.crm,
        "POST",
        &format!("/api/crm/leads/{lead}/activities/"),
        &o.all.access,
        Some(json!({"type": "meeting", "summary": "Demo"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let act = id_of(&res.json());
    let act_uri = format!("/api/crm/activities/{act}/");
    ok(req(
        &s.crm,
        "PATCH",
        &act_uri,
        &o.all.access,
        Some(json!({"done": true})),
    )
    .await);
    ok(req(&s.crm, "DELETE", &act_uri, &o.all.access, None).await);
    // Refused and invalid changes leave no entry.
    let res = req(
        &s.crm,
        "PATCH",
        &uri,
        &o.all.access,
        Some(json!({"value": 1.5})),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let res = req(&s.crm, "DELETE", &uri, &o.team.access, None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    ok(req(&s.crm, "DELETE", &uri, &o.all.access, None).await);

    let actions = |v: &[(Uuid, String)], id: Uuid| -> Vec<String> {
        v.iter()
            .filter(|(e, _)| *e == id)
            .map(|(_, a)| a.clone())
            .collect()
    };
    let leads = audit(s, &o.admin, "crm_lead").await;
    assert_eq!(
        actions(&leads, lead),
        ["lead.create", "lead.update", "lead.assign", "lead.delete"]
    );
    assert_eq!(leads.len(), 4, "{leads:?}");
    let activities = audit(s, &o.admin, "crm_activity").await;
    assert_eq!(
        actions(&activities, act),
        ["activity.create", "activity.update", "activity.delete"]
    );
    assert_eq!(activities.len(), 3);

    // The entries carry the change itself.
    let res = get_as(
        &s.audit,
        "/api/audit/?entity=crm_lead&action=lead.update",
        &o.admin,
    )
    .await;
    let entry = &res.json()["results"][0];
    assert_eq!(
        entry["changes"]["value"],
        json!({"before": "10.00", "after": "20.50"}),
        "{entry}"
    );
    assert_eq!(entry["actor_id"], o.all.id.to_string());
}

#[tokio::test]
async fn lead_input_is_checked_and_every_bad_field_named_at_once() {
    let o = org().await;
    let s = &o.s;
    let post = |body: Value| {
        let app = s.crm.clone();
        let token = o.all.access.clone();
        async move { req(&app, "POST", "/api/crm/leads/", &token, Some(body)).await }
    };
    let fields = |res: &TestResponse| -> Vec<String> {
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
        res.json().as_object().unwrap().keys().cloned().collect()
    };

    let res = post(
        json!({"name": " ", "email": "nope", "phone": "call me", "value": 1.5,
                          "currency": "inr", "tags": [""], "status": "won"}),
    )
    .await;
    assert_eq!(
        fields(&res),
        ["currency", "email", "name", "phone", "tags", "value"]
    );
    assert!(res.json()["value"][0]
        .as_str()
        .unwrap()
        .contains("Floating-point"));
    let res = post(json!({"name": "X", "status": "sleeping"})).await;
    assert_eq!(fields(&res), ["status"]);
    let res = post(json!({"name": "X", "colour": "red"})).await;
    assert_eq!(res.json(), json!({"colour": ["Unknown field."]}));
    let res = post(json!({"name": "X", "value": "-1"})).await;
    assert_eq!(fields(&res), ["value"]);
    let res = post(json!({"name": "X", "value": "1.005"})).await;
    assert_eq!(fields(&res), ["value"]);
    let res = post(json!({"name": "X", "tags": vec!["t"; 21]})).await;
    assert_eq!(fields(&res), ["tags"]);
    let res = post(json!({"email": "a@example.com"})).await;
    assert_eq!(fields(&res), ["name"]);
    let res = post(json!({"name": "X", "team_id": Uuid::now_v7()})).await;
    assert_eq!(fields(&res), ["team_id"]);
    assert!(
        list_all(s, &o.all.access, "").await.is_empty(),
        "nothing stored"
    );

    // Accepted input is normalised.
    let res = post(json!({"name": " Acme Deal ", "email": " Buyer@Example.COM ", "company": "Acme",
                          "value": "1500.5", "tags": ["VIP", "vip", " Hot "], "status": "qualified"}))
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let v = res.json();
    assert_eq!(v["name"], "Acme Deal");
    assert_eq!(v["email"], "buyer@example.com");
    assert_eq!(v["value"], "1500.50");
    assert_eq!(v["currency"], "INR");
    assert_eq!(v["tags"], json!(["vip", "hot"]));
    assert_eq!(v["status"], "qualified");
    let acme = id_of(&v);
    let res = post(json!({"name": "Zed", "value": 99, "currency": "USD", "tags": ["cold"]})).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.json()["value"], "99.00");
    let zed = id_of(&res.json());
    let res = post(json!({"name": "Bolt", "value": "250"})).await;
    let bolt = id_of(&res.json());

    // Filters and orderings.
    assert_eq!(list_all(s, &o.all.access, "&tag=VIP").await, [acme]);
    assert_eq!(
        list_all(s, &o.all.access, "&status=qualified").await,
        [acme]
    );
    assert_eq!(list_all(s, &o.all.access, "&search=acm").await, [acme]);
    assert_eq!(list_all(s, &o.all.access, "&search=BUYER").await, [acme]);
    assert_eq!(
        list_all(s, &o.all.access, "&ordering=value").await,
        [zed, bolt, acme]
    );
    assert_eq!(
        list_all(s, &o.all.access, "&ordering=-value").await,
        [acme, bolt, zed]
    );
    assert_eq!(
        list_all(s, &o.all.access, "&ordering=name").await,
        [acme, bolt, zed]
    );
    for bad in [
        "ordering=bogus",
        "status=asleep",
        "owner=nope",
        "colour=red",
        "tag=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let res = get_as(&s.crm, &format!("/api/crm/leads/?{bad}"), &o.all.access).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}: {}", res.text());
        let field = bad.split('=').next().unwrap();
        assert!(res.json()[field].is_array(), "{bad}: {}", res.text());
    }
    // Orders beyond created_at need scope all.
    for ordering in ["value", "-value", "name"] {
        for token in [&o.team.access, &o.own.access] {
            let res = get_as(
                &s.crm,
                &format!("/api/crm/leads/?ordering={ordering}"),
                token,
            )
            .await;
            assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
            assert!(res.json()["ordering"].is_array());
        }
    }

    // PATCH: null clears, bad fields all named, read-only on PUT.
    let uri = format!("/api/crm/leads/{acme}/");
    let res = req(
        &s.crm,
        "PATCH",
        &uri,
        &o.all.access,
        Some(json!({"email": null, "value": 2.0, "currency": "rupees"})),
    )
    .await;
    assert_eq!(fields(&res), ["currency", "value"]);
    let res = req(
        &s.crm,
        "PATCH",
        &uri,
        &o.all.access,
        Some(json!({"email": null, "status": "won"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        (res.json()["email"].clone(), res.json()["status"].clone()),
        (Value::Null, json!("won"))
    );
    let res = req(
        &s.crm,
        "PUT",
        &uri,
        &o.all.access,
        Some(json!({"name": "Acme", "created_by": Uuid::now_v7()})),
    )
    .await;
    assert_eq!(fields(&res), ["created_by"]);
    let res = req(
        &s.crm,
        "PUT",
        &uri,
        &o.all.access,
        Some(json!({"name": "Acme"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let v = res.json();
    assert_eq!(
        (v["value"].as_str(), v["status"].as_str()),
        (Some("0.00"), Some("new"))
    );
    assert_eq!(v["tags"], json!([]));
}

#[tokio::test]
async fn the_export_defuses_formulas_and_quotes_fields() {
    let o = org().await;
    let s = &o.s;
    let id = create_lead(
        s,
        &o.all.access,
        json!({"name": "=HYPERLINK(\"http://evil\")", "company": "+1 Evil, Inc.", "source": "@SUM(A1)",
               "notes": "-2\nsecond line", "tags": ["a", "b"], "value": "12.5"}),
    )
    .await;
    let res = get_as(&s.crm, "/api/crm/leads/export/", &o.all.access).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.headers["content-disposition"],
        "attachment; filename=\"leads.csv\""
    );
    let text = res.text();
    let row = text.split_once("\r\n").unwrap().1;
    assert!(
        row.starts_with(&format!("{id},\"'=HYPERLINK(\"\"http://evil\"\")\",")),
        "{row}"
    );
    assert!(row.contains(",\"'+1 Evil, Inc.\","), "{row}");
    assert!(row.contains(",'@SUM(A1),"), "{row}");
    assert!(row.contains(",\"'-2\nsecond line\",a;b,"), "{row}");
    assert!(row.contains(",12.50,INR,"), "{row}");
    assert!(row.ends_with("\r\n"));
    // Filters apply to the export too; a bad one is refused.
    let res = get_as(&s.crm, "/api/crm/leads/export/?tag=zzz", &o.all.access).await;
    assert!(csv_ids(&res).is_empty());
    let res = get_as(
        &s.crm,
        "/api/crm/leads/export/?ordering=name",
        &o.team.access,
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    // No export grant: 403.
    let res = get_as(
        &s.crm,
        "/api/crm/leads/export/",
        &mint(s, &o.all.access, json!({"crm.leads.view": "all"}), &[]),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.json()["permission"], "crm.leads.export");
}

/// The callers the CRM's permission classes tell apart, on list, create
/// and retrieve. The platform matrix (`matrix.rs`) has the CRM rows for
/// its own columns; this adds the scope holders, a member of another team
/// and a tenant without the module, which it has no column for.
#[tokio::test]
async fn crm_callers_matrix() {
    let o = org().await;
    let s = &o.s;
    let l = leads(&o).await;
    let other = tests::app::tenant(s, "crmmx").await;
    // A tenant without the module.
    let r = tests::app::register(&s.auth, "crmnomod").await;
    let res = req(
        &s.tenants,
        "PATCH",
        "/api/tenants/me/",
        &r.access,
        Some(json!({"enabled_modules": ["whatsapp"]})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    let mut refresh = r.refresh.clone();
    let no_module = refreshed(s, &mut refresh).await;

    let callers: [(&str, Option<&str>); 7] = [
        ("anon", None),
        ("own", Some(&o.own.access)),
        ("team", Some(&o.team.access)),
        ("all", Some(&o.all.access)),
        ("team B", Some(&o.b.access)),
        ("no module", Some(&no_module)),
        ("other tenant", Some(&other)),
    ];
    // Expected status per caller, in the order above; l3 is team A's.
    let rows: [(&str, String, Option<Value>, [u16; 7]); 4] = [
        (
            "GET",
            "/api/crm/leads/".into(),
            None,
            [401, 200, 200, 200, 200, 403, 200],
        ),
        (
            "POST",
            "/api/crm/leads/".into(),
            Some(json!({"name": "M"})),
            [401, 201, 201, 201, 201, 403, 201],
        ),
        (
            "GET",
            format!("/api/crm/leads/{}/", l.l3),
            None,
            [401, 404, 200, 200, 404, 403, 404],
        ),
        (
            "GET",
            "/api/crm/leads/export/".into(),
            None,
            [401, 200, 200, 200, 200, 403, 200],
        ),
    ];
    let mut problems = Vec::new();
    for (method, uri, body, expect) in &rows {
        for ((who, token), want) in callers.iter().zip(expect) {
            let res = call(&s.crm, method, uri, *token, body.clone(), None).await;
            if res.status.as_u16() != *want {
                problems.push(format!(
                    "{method} {uri} as {who}: expected {want}, got {} {}",
                    res.status,
                    res.text()
                ));
            }
            if *who == "no module" && res.json()["code"] != "module_disabled" {
                problems.push(format!("{method} {uri} as {who}: {}", res.text()));
            }
            if *who == "other tenant" || *who == "team B" {
                let text = res.text();
                for id in [l.l1, l.l3, l.l7] {
                    assert!(!text.contains(&id.to_string()), "{who} sees {id}: {text}");
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
