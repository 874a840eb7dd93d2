//! Django REST Framework's behaviour as clients see it: every field error at
//! once, round trips of a resource's own representation through PUT, and
//! empty query parameters counting as absent.

use crate::plans::root;
use axum::Router;
use http::StatusCode;
use serde_json::{json, Value};
use tests::app::{assert_field_error, setup, tenant, Setup};
use tests::send;

async fn raw(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: &str,
) -> tests::TestResponse {
    let mut req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("host", "api.test");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    send(
        app,
        req.body(axum::body::Body::from(body.to_owned())).unwrap(),
    )
    .await
}

async fn ok(app: &Router, method: &str, uri: &str, token: &str, body: Option<&Value>) -> Value {
    let body = body.map(Value::to_string).unwrap_or_default();
    let res = raw(app, method, uri, Some(token), &body).await;
    assert!(res.status.is_success(), "{method} {uri}: {}", res.text());
    res.json()
}

#[tokio::test]
async fn every_missing_field_is_named_and_bad_json_is_a_parse_error() {
    let s = setup().await;
    let res = raw(&s.auth.app, "POST", "/api/auth/register/", None, "{}").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let required = json!(["This field is required."]);
    assert_eq!(
        res.json(),
        json!({"tenant_name": required, "tenant_slug": required, "admin_email": required,
               "admin_password": required, "admin_password_confirm": required,
               "admin_first_name": required})
    );
    for body in [
        r#"{"email": "a@example.com", "password": "#,
        r#"{"email": "a@example.com", "#,
        "{",
        "",
    ] {
        for uri in ["/api/auth/login/", "/api/auth/register/"] {
            let res = raw(&s.auth.app, "POST", uri, None, body).await;
            assert_eq!(res.status, StatusCode::BAD_REQUEST, "{uri} {body}");
            let b = res.json();
            assert_eq!(b["code"], "parse_error", "{uri} {body}: {b}");
            assert!(
                b["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with("JSON parse error - "),
                "{b}"
            );
        }
    }
    let res = raw(&s.auth.app, "POST", "/api/auth/login/", None, "[]").await;
    assert_eq!(
        res.json(),
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    );
}

#[tokio::test]
async fn wrong_types_and_unknown_choices_are_field_errors() {
    let s = setup().await;
    let admin = tenant(&s, "drfsub").await;
    let res = raw(
        &s.subscriptions,
        "POST",
        "/api/subscriptions/subscribe/",
        Some(&admin),
        r#"{"plan_id": "nope", "billing_cycle": 7, "extra": true}"#,
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let b = res.json();
    assert_eq!(b["plan_id"], json!(["Must be a valid UUID."]), "{b}");
    assert_eq!(b["extra"], json!(["Unknown field."]), "{b}");
    assert_eq!(b.as_object().unwrap().len(), 3, "{b}");
    let res = raw(
        &s.subscriptions,
        "POST",
        "/api/subscriptions/subscribe/",
        Some(&admin),
        r#"{"billing_cycle": "weekly"}"#,
    )
    .await;
    assert_eq!(
        res.json(),
        json!({"plan_id": ["This field is required."],
               "billing_cycle": ["\"weekly\" is not a valid choice."]})
    );
    let res = raw(
        &s.roles,
        "POST",
        "/api/roles/",
        Some(&admin),
        r#"{"name": 5, "is_active": "yes", "description": null}"#,
    )
    .await;
    assert_eq!(
        res.json(),
        json!({"name": ["Not a valid string."], "is_active": ["Must be a valid boolean."],
               "description": ["This field may not be null."]})
    );
}

/// GET, change one writable field, PUT the whole object back: 200 with the
/// change; changing a read-only field instead names it.
async fn round_trip(
    app: &Router,
    uri: &str,
    token: &str,
    field: &str,
    value: Value,
    read_only: &str,
) {
    round_trip_to(app, uri, uri, token, field, value, read_only).await
}

async fn round_trip_to(
    app: &Router,
    get_uri: &str,
    uri: &str,
    token: &str,
    field: &str,
    value: Value,
    read_only: &str,
) {
    let mut current = ok(app, "GET", get_uri, token, None).await;
    current[field] = value.clone();
    let res = raw(app, "PUT", uri, Some(token), &current.to_string()).await;
    assert_eq!(res.status, StatusCode::OK, "PUT {uri}: {}", res.text());
    let after = res.json();
    assert_eq!(after[field], value, "{after}");
    // Apart from the change and the timestamp, the representation is as sent.
    for (k, v) in current.as_object().unwrap() {
        if k != "updated_at" {
            assert_eq!(&after[k], v, "{uri} {k}");
        }
    }
    let mut changed = ok(app, "GET", get_uri, token, None).await;
    changed[read_only] = json!("changed-by-the-client");
    changed[field] = value;
    let res = raw(app, "PUT", uri, Some(token), &changed.to_string()).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({ read_only: ["This field is read-only."] }),
        "PUT {uri}"
    );
}

#[tokio::test]
async fn put_takes_back_the_representation_of_users_roles_teams_tenants_and_plans() {
    let s: Setup = setup().await;
    let admin = tenant(&s, "drfput").await;

    let me = ok(&s.users, "GET", "/api/users/me/", &admin, None).await;
    let uri = format!("/api/users/{}/", me["id"].as_str().unwrap());
    round_trip(
        &s.users,
        &uri,
        &admin,
        "profile_picture",
        json!("https://img.test/a.png"),
        "email",
    )
    .await;
    round_trip(
        &s.users,
        &uri,
        &admin,
        "first_name",
        json!("Grace"),
        "tenant_name",
    )
    .await;
    let view = ok(&s.users, "GET", &uri, &admin, None).await;
    assert_eq!(view["profile_picture"], "https://img.test/a.png");
    assert_eq!(view["role_ids"], json!([view["roles"][0]["id"]]));
    round_trip_to(
        &s.users,
        "/api/users/me/",
        "/api/users/update_me/",
        &admin,
        "last_name",
        json!("Hopper"),
        "email",
    )
    .await;

    let role = ok(
        &s.roles,
        "POST",
        "/api/roles/",
        &admin,
        Some(&json!({"name": "Reps"})),
    )
    .await;
    let uri = format!("/api/roles/{}/", role["id"].as_str().unwrap());
    round_trip(
        &s.roles,
        &uri,
        &admin,
        "description",
        json!("Sales reps"),
        "created_at",
    )
    .await;

    let team = ok(
        &s.teams,
        "POST",
        "/api/teams/",
        &admin,
        Some(&json!({"name": "North"})),
    )
    .await;
    let uri = format!("/api/teams/{}/", team["id"].as_str().unwrap());
    round_trip(
        &s.teams,
        &uri,
        &admin,
        "name",
        json!("South"),
        "member_count",
    )
    .await;

    round_trip(
        &s.tenants,
        "/api/tenants/me/",
        &admin,
        "name",
        json!("Renamed Org"),
        "slug",
    )
    .await;

    let root = root(&s);
    let plan = ok(
        &s.plans,
        "POST",
        "/api/plans/",
        &root,
        Some(
            &json!({"name": "Solo", "slug": tests::unique("drfplan").0, "price_monthly": "9",
                     "price_yearly": "90"}),
        ),
    )
    .await;
    let uri = format!("/api/plans/{}/", plan["id"].as_str().unwrap());
    round_trip(&s.plans, &uri, &root, "max_users", json!(7), "created_at").await;

    let org = ok(&s.tenants, "GET", "/api/tenants/me/", &admin, None).await;
    let uri_tenant = format!("/api/tenants/{}/", org["id"].as_str().unwrap());
    round_trip(
        &s.tenants,
        &uri_tenant,
        &root,
        "name",
        json!("Named By Root"),
        "created_at",
    )
    .await;

    // Unchanged read-only fields are ignored; fields no representation has stay unknown.
    let res = raw(
        &s.teams,
        "PUT",
        &uri.replace("plans", "teams"),
        Some(&admin),
        r#"{"name": "X"}"#,
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = raw(
        &s.roles,
        "PUT",
        &format!("/api/roles/{}/", role["id"].as_str().unwrap()),
        Some(&admin),
        r#"{"name": "Reps", "colour": "red", "is_system": true}"#,
    )
    .await;
    assert_eq!(
        res.json(),
        json!({"colour": ["Unknown field."], "is_system": ["This field is read-only."]})
    );
}

#[tokio::test]
async fn empty_query_parameters_are_absent_and_bad_ones_are_named() {
    let s = setup().await;
    let admin = tenant(&s, "drfquery").await;
    for uri in [
        "/api/audit/?actor=&entity=&action=&cursor=&page_size=",
        "/api/audit/?actor=",
    ] {
        let res = raw(&s.audit, "GET", uri, Some(&admin), "").await;
        assert_eq!(res.status, StatusCode::OK, "{uri}: {}", res.text());
    }
    for uri in [
        "/api/users/?search=&role=&team=&is_active=&cursor=",
        "/api/users/?ordering=",
    ] {
        let res = raw(&s.users, "GET", uri, Some(&admin), "").await;
        assert_eq!(res.status, StatusCode::OK, "{uri}: {}", res.text());
        assert_eq!(res.json()["results"].as_array().unwrap().len(), 1);
    }
    let res = raw(&s.audit, "GET", "/api/audit/?actor=nope", Some(&admin), "").await;
    assert_field_error(&res, "actor", "Enter a valid UUID.");
    let res = raw(
        &s.users,
        "GET",
        "/api/users/?role=x&is_active=maybe&colour=red",
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(
        res.json(),
        json!({"role": ["Enter a valid UUID."], "is_active": ["Enter true or false."],
               "colour": ["Unknown parameter."]})
    );
}

#[test]
fn put_bodies_document_the_representation_read_only() {
    let doc = serde_json::to_value(docs::openapi()).unwrap();
    for (path, body, writable, read_only) in [
        ("/api/users/{id}/", "UserReplaceBody", "role_ids", "email"),
        (
            "/api/users/update_me/",
            "ProfileReplaceBody",
            "profile_picture",
            "roles",
        ),
        (
            "/api/roles/{id}/",
            "RoleReplaceBody",
            "permissions",
            "created_at",
        ),
        (
            "/api/teams/{id}/",
            "TeamReplaceBody",
            "lead_id",
            "member_count",
        ),
        (
            "/api/tenants/me/",
            "TenantReplaceBody",
            "enabled_modules",
            "slug",
        ),
        ("/api/plans/{id}/", "PlanReplaceBody", "price_monthly", "id"),
        (
            "/api/tenants/{id}/",
            "AdminTenantReplaceBody",
            "dedicated_table",
            "slug",
        ),
    ] {
        let reference = &doc["paths"][path]["put"]["requestBody"]["content"]["application/json"]
            ["schema"]["$ref"];
        assert_eq!(
            reference,
            &json!(format!("#/components/schemas/{body}")),
            "{path}"
        );
        let schema = &doc["components"]["schemas"][body];
        assert!(
            schema["properties"][writable].is_object(),
            "{body}: {schema}"
        );
        assert_ne!(
            schema["properties"][writable]["readOnly"],
            json!(true),
            "{body}"
        );
        assert!(
            schema["properties"][read_only].is_object(),
            "{body}: {schema}"
        );
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        assert!(!required.contains(&json!(read_only)), "{body}");
        assert!(
            schema["description"]
                .as_str()
                .unwrap()
                .contains(&format!("`{read_only}`")),
            "{body}"
        );
    }
    let users = &doc["components"]["schemas"]["UserReplaceBody"]["properties"];
    assert_eq!(users["email"]["readOnly"], json!(true));
    assert_eq!(users["date_joined"]["readOnly"], json!(true));
}
