//! Tenants pinned to a dedicated table, against DynamoDB Local: a second
//! table next to the test's main one, and the raw tables read directly to
//! prove where each item lives.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use base64::Engine;
use http::StatusCode;
use serde_json::{json, Value};
use shared::auth::authenticate;
use shared::store::table::TableDefinition;
use tests::app::{assert_field_error, call, login, setup, token_for, verifier, Setup};
use tests::{post_json, registration, template_yaml, unique};
use uuid::Uuid;

async fn client() -> Client {
    shared::runtime::dynamodb_client(Some(&tests::dynamodb_endpoint()))
}

/// Creates `<main table>-tenant-<suffix>` with the template's definition.
pub(crate) async fn dedicated_table(s: &Setup, suffix: &str) -> String {
    let name = format!("{}-tenant-{suffix}", s.auth.store.table_name());
    let definition = TableDefinition::from_template(&template_yaml()).unwrap();
    assert!(definition.create(&client().await, &name).await.unwrap());
    name
}

/// A tenant born in `table`, created by the super admin `root` through
/// the tenants function: the creation's answer, the slug and the admin's
/// email (password `correct-horse-battery`).
pub(crate) async fn tenant_in_table(
    s: &Setup,
    root: &str,
    table: &str,
    prefix: &str,
) -> (Value, String, String) {
    let (slug, email) = unique(prefix);
    let mut body = registration(&slug, &email);
    body["dedicated_table"] = json!(table);
    let res = call(
        &s.tenants,
        "POST",
        "/api/tenants/",
        Some(root),
        Some(body),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    (res.json(), slug, email)
}

/// The JSON payload of a JWT, as anyone holding it can read it.
fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// Sort keys of every item in a partition of a table, read raw.
async fn partition(table: &str, pk: &str) -> Vec<String> {
    let out = client()
        .await
        .query()
        .table_name(table)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", s(pk))
        .send()
        .await
        .unwrap();
    out.items()
        .iter()
        .map(|i| i["SK"].as_s().unwrap().clone())
        .collect()
}

async fn exists(table: &str, pk: &str, sk: &str) -> bool {
    let out = client()
        .await
        .get_item()
        .table_name(table)
        .key("PK", s(pk))
        .key("SK", s(sk))
        .send()
        .await
        .unwrap();
    out.item.is_some()
}

/// Every partition key in a table.
async fn all_pks(table: &str) -> Vec<String> {
    let out = client()
        .await
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap();
    out.items()
        .iter()
        .map(|i| i["PK"].as_s().unwrap().clone())
        .collect()
}

fn kinds(sks: &[String]) -> Vec<&str> {
    let mut k: Vec<&str> = sks.iter().map(|sk| sk.split('#').next().unwrap()).collect();
    k.sort();
    k.dedup();
    k
}

#[tokio::test]
async fn a_tenant_pinned_to_a_dedicated_table_lives_there_and_works_the_same() {
    let s = setup().await;
    let main = s.auth.store.table_name().to_owned();
    let table = dedicated_table(&s, "acme").await;
    let root = token_for(&s, Uuid::new_v4(), true, Default::default());

    // A tenant in the main table, for contrast.
    let (other_slug, other_email) = unique("maintable");
    let res = post_json(
        &s.auth.app,
        "/api/auth/register/",
        &registration(&other_slug, &other_email),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let other_access = res.json()["tokens"]["access"].as_str().unwrap().to_owned();
    let other_id = Uuid::parse_str(res.json()["tenant"]["id"].as_str().unwrap()).unwrap();

    // The super admin creates a tenant born in the dedicated table.
    let (created, slug, email) = tenant_in_table(&s, &root, &table, "pinned").await;
    assert_eq!(created["dedicated_table"], json!(table));
    let id = Uuid::parse_str(created["id"].as_str().unwrap()).unwrap();
    let pk = format!("TENANT#{id}");

    // Its admin logs in: one batch more than a main-table tenant (its items
    // are read again from its table); the tokens carry the table.
    s.auth.calls.reset();
    let res = login(&s.auth, &email, "correct-horse-battery").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let mut calls = s.auth.calls.calls();
    // Concurrent calls start in either order: the reservation with the
    // credential, the throttle's release with the new login.
    calls[..2].sort();
    calls[4..].sort();
    assert_eq!(
        calls,
        [
            "GetItem",
            "UpdateItem",
            "BatchGetItem",
            "BatchGetItem",
            "TransactWriteItems",
            "UpdateItem",
        ]
    );
    assert_eq!(
        s.auth.calls.depth(),
        4,
        "one round trip more than the main table"
    );
    let access = res.json()["tokens"]["access"].as_str().unwrap().to_owned();
    let refresh = res.json()["tokens"]["refresh"].as_str().unwrap().to_owned();
    assert_eq!(payload(&access)["tbl"], json!(table));
    assert_eq!(payload(&refresh)["tbl"], json!(table));
    let scope = authenticate(&verifier(&s.auth), Some(&format!("Bearer {access}")))
        .unwrap()
        .scope()
        .clone();
    assert_eq!(
        (scope.tenant_id(), scope.table()),
        (id, Some(table.as_str()))
    );

    // The tenant admin's calls work through the tokens alone.
    let res = call(&s.roles, "GET", "/api/roles/", Some(&access), None, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["results"][0]["name"], "Admin");
    let res = call(
        &s.roles,
        "POST",
        "/api/roles/",
        Some(&access),
        Some(json!({"name": "Sales", "permissions": {}})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let sales_id = res.json()["id"].as_str().unwrap().to_owned();
    let res = call(&s.users, "GET", "/api/users/me/", Some(&access), None, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["email"], json!(email));
    let res = call(
        &s.tenants,
        "GET",
        "/api/tenants/me/",
        Some(&access),
        None,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["slug"], json!(slug));
    assert!(
        res.json().get("dedicated_table").is_none(),
        "tenant admins are not told where their data lives"
    );
    let res = call(
        &s.tenants,
        "PATCH",
        "/api/tenants/me/",
        Some(&access),
        Some(json!({"name": "Pinned Ltd"})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.json().get("dedicated_table").is_none());
    let res = call(
        &s.tenants,
        "PATCH",
        "/api/tenants/me/",
        Some(&access),
        Some(json!({"dedicated_table": null})),
        None,
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "tenant admins cannot name a table: {}",
        res.text()
    );
    let res = call(&s.audit, "GET", "/api/audit/", Some(&access), None, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let actions: Vec<String> = res.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["tenant.update", "role.create", "tenant.create"]);

    // A user the admin adds (whose credential the users API writes) logs in too.
    let (_, user_email) = unique("pinneduser");
    let new_user = json!({"email": user_email, "password": "a-good-password", "password_confirm": "a-good-password",
                          "first_name": "Nia", "role_ids": [sales_id]});
    let res = call(
        &s.users,
        "POST",
        "/api/users/",
        Some(&access),
        Some(new_user),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let res = login(&s.auth, &user_email, "a-good-password").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let user_access = res.json()["tokens"]["access"].as_str().unwrap().to_owned();
    let user_refresh = res.json()["tokens"]["refresh"].as_str().unwrap().to_owned();
    assert_eq!(payload(&user_access)["tbl"], json!(table));
    // Password change (credential in the main table, token families in the
    // dedicated one, one transaction) and logout.
    let change = json!({"old_password": "a-good-password", "new_password": "another-good-password",
                        "new_password_confirm": "another-good-password"});
    let res = post_json(
        &s.auth.app,
        "/api/auth/password/change/",
        &change,
        Some(&user_access),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        login(&s.auth, &user_email, "another-good-password")
            .await
            .status,
        StatusCode::OK
    );
    let res = post_json(
        &s.auth.app,
        "/api/auth/logout/",
        &json!({"refresh_token": user_refresh}),
        Some(&user_access),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = post_json(
        &s.auth.app,
        "/api/auth/token/refresh/",
        &json!({"refresh": user_refresh}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "logged out");

    // Refresh rotates within the dedicated table.
    let res = post_json(
        &s.auth.app,
        "/api/auth/token/refresh/",
        &json!({"refresh": refresh}),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let refreshed = res.json()["access"].as_str().unwrap().to_owned();
    assert_eq!(payload(&refreshed)["tbl"], json!(table));
    let res = post_json(
        &s.auth.app,
        "/api/auth/token/refresh/",
        &json!({"refresh": refresh}),
        None,
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "a used refresh token stays used"
    );
    assert_eq!(
        call(&s.roles, "GET", "/api/roles/", Some(&refreshed), None, None)
            .await
            .status,
        StatusCode::OK
    );

    // Where everything is: the tenant's items in its table, none in the main
    // one; the platform-wide items in the main table only.
    let items = partition(&table, &pk).await;
    assert_eq!(
        kinds(&items),
        [
            "AUDIT",
            "PROFILE",
            "REVOCATIONS",
            "ROLE",
            "ROLENAME",
            "SUBSCRIPTION",
            "TOKENFAMILY",
            "USAGE",
            "USER"
        ]
    );
    assert_eq!(items.iter().filter(|sk| sk.starts_with("USER#")).count(), 2);
    assert!(
        partition(&main, &pk).await.is_empty(),
        "nothing of the tenant in the main table"
    );
    for (p, sk) in [
        (format!("EMAIL#{email}"), "CLAIM"),
        (format!("EMAIL#{user_email}"), "CLAIM"),
        (format!("SLUG#{slug}"), "CLAIM"),
        (format!("TENANTROUTE#{id}"), "ROUTE"),
    ] {
        assert!(exists(&main, &p, sk).await, "{p} is in the main table");
        assert!(
            !exists(&table, &p, sk).await,
            "{p} is not in the dedicated table"
        );
    }
    assert!(
        all_pks(&table).await.iter().all(|p| *p == pk),
        "the dedicated table holds only this tenant"
    );
    // The tenant in the main table is untouched by all this.
    let other_pk = format!("TENANT#{other_id}");
    assert!(partition(&main, &other_pk)
        .await
        .contains(&"PROFILE".to_owned()));
    assert!(partition(&table, &other_pk).await.is_empty());

    // The super admin reaches it by id, in the registry and with X-Tenant-Id.
    let res = call(
        &s.tenants,
        "GET",
        &format!("/api/tenants/{id}/"),
        Some(&root),
        None,
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        (
            res.json()["name"].clone(),
            res.json()["dedicated_table"].clone()
        ),
        (json!("Pinned Ltd"), json!(table))
    );
    let res = call(
        &s.tenants,
        "GET",
        &format!("/api/tenants/{other_id}/"),
        Some(&root),
        None,
        None,
    )
    .await;
    assert_eq!(res.json()["dedicated_table"], Value::Null);
    s.auth.calls.reset();
    let listed = call(&s.tenants, "GET", "/api/tenants/", Some(&root), None, None)
        .await
        .json();
    // The listing, then the dedicated tenants' profiles in their tables.
    assert_eq!(s.auth.calls.calls(), ["Query", "GetItem"]);
    assert_eq!(s.auth.calls.depth(), 2);
    let listed: Vec<(Value, Value)> = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["slug"].clone(), t["dedicated_table"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (json!(other_slug), Value::Null),
            (json!(slug), json!(table))
        ],
        "oldest first, both tables"
    );
    let res = call(&s.roles, "GET", "/api/roles/", Some(&root), None, Some(id)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let names: Vec<String> = res.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"Sales".to_owned()));
    let res = call(&s.users, "GET", "/api/users/", Some(&root), None, Some(id)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["results"].as_array().unwrap().len(), 2);

    // Its table is fixed: repeating it is fine, changing it is refused.
    let res = call(
        &s.tenants,
        "PATCH",
        &format!("/api/tenants/{id}/"),
        Some(&root),
        Some(json!({"dedicated_table": table, "name": "By ops"})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["dedicated_table"], json!(table));
    for moved in [json!(null), json!(format!("{main}-tenant-elsewhere"))] {
        let res = call(
            &s.tenants,
            "PATCH",
            &format!("/api/tenants/{id}/"),
            Some(&root),
            Some(json!({"dedicated_table": moved})),
            None,
        )
        .await;
        assert_field_error(
            &res,
            "dedicated_table",
            "Moving an existing tenant between tables is an offline migration.",
        );
    }
    let res = call(
        &s.tenants,
        "PATCH",
        &format!("/api/tenants/{other_id}/"),
        Some(&root),
        Some(json!({"dedicated_table": table})),
        None,
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "a main-table tenant is not moved either"
    );
    let res = call(
        &s.tenants,
        "PUT",
        &format!("/api/tenants/{id}/"),
        Some(&root),
        Some(json!({"name": "By ops", "enabled_modules": ["crm"]})),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    // Suspension, by id through the routing item, stops its logins.
    let res = call(
        &s.tenants,
        "POST",
        &format!("/api/tenants/{id}/suspend/"),
        Some(&root),
        None,
        None,
    )
    .await;
    assert_eq!(res.json()["is_active"], false);
    assert_eq!(
        login(&s.auth, &email, "correct-horse-battery").await.status,
        StatusCode::FORBIDDEN
    );
    let res = call(
        &s.tenants,
        "POST",
        &format!("/api/tenants/{id}/activate/"),
        Some(&root),
        None,
        None,
    )
    .await;
    assert_eq!(res.json()["dedicated_table"], json!(table));
    assert_eq!(
        login(&s.auth, &email, "correct-horse-battery").await.status,
        StatusCode::OK
    );
    let res = call(
        &s.audit,
        "GET",
        "/api/audit/?entity=tenant",
        Some(&root),
        None,
        Some(id),
    )
    .await;
    let entries = res.json()["results"].as_array().unwrap().clone();
    let created = entries
        .iter()
        .find(|e| e["action"] == "tenant.create")
        .expect("creation audited");
    assert_eq!(
        created["changes"]["dedicated_table"],
        json!({"before": null, "after": table})
    );
    let by_ops: Vec<&str> = entries
        .iter()
        .filter(|e| e["via_super_admin"] == true)
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        by_ops,
        [
            "tenant.activate",
            "tenant.suspend",
            "tenant.update",
            "tenant.update",
            "tenant.create"
        ],
        "newest first"
    );

    // The main-table tenant neither sees nor reaches it.
    assert_eq!(
        call(
            &s.roles,
            "GET",
            "/api/roles/",
            Some(&other_access),
            None,
            Some(id)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            &s.roles,
            "GET",
            &format!("/api/roles/{sales_id}/"),
            Some(&other_access),
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let res = call(
        &s.roles,
        "GET",
        "/api/roles/",
        Some(&other_access),
        None,
        None,
    )
    .await;
    assert_eq!(
        res.json()["results"].as_array().unwrap().len(),
        1,
        "only its own Admin role"
    );
    assert!(
        payload(&other_access).get("tbl").is_none(),
        "main-table tenants' tokens carry no table"
    );
    assert_eq!(
        authenticate(&verifier(&s.auth), Some(&format!("Bearer {other_access}")))
            .unwrap()
            .scope()
            .table(),
        None
    );
}

#[tokio::test]
async fn a_dedicated_table_must_exist_follow_the_naming_and_match_the_main_table() {
    let s = setup().await;
    let main = s.auth.store.table_name().to_owned();
    let root = token_for(&s, Uuid::new_v4(), true, Default::default());

    // A table with other keys than the main table's.
    let odd = format!("{main}-tenant-odd");
    client()
        .await
        .create_table()
        .table_name(&odd)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let (slug, email) = unique("badtable");
    for (table, message) in [
        (format!("{main}-tenant-missing"), format!("Table '{main}-tenant-missing' does not exist.")),
        ("some-other-table".to_owned(), format!("Must be named '{main}-tenant-<suffix>' (suffix: lowercase letters, digits, hyphens).")),
        (main.clone(), format!("Must be named '{main}-tenant-<suffix>' (suffix: lowercase letters, digits, hyphens).")),
        (format!("{main}-tenant-a b"), "A table name may contain only letters, digits, '_', '-' and '.'.".to_owned()),
        (odd.clone(), format!("Table '{odd}' does not have the main table's keys and indexes (create it with `devctl create-table --table {odd}`).")),
    ] {
        let mut body = registration(&slug, &email);
        body["dedicated_table"] = json!(table);
        let res = call(&s.tenants, "POST", "/api/tenants/", Some(&root), Some(body), None).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{table}");
        assert_eq!(res.json(), json!({"dedicated_table": [message]}), "{table}");
    }
    // Errors of the other fields come with the table's.
    let mut body = registration(&slug, "not-an-email");
    body["dedicated_table"] = json!("some-other-table");
    let res = call(
        &s.tenants,
        "POST",
        "/api/tenants/",
        Some(&root),
        Some(body),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.json()["dedicated_table"].is_array() && res.json()["admin_email"].is_array(),
        "{}",
        res.text()
    );
    // Nothing was created by the refused requests.
    assert!(
        all_pks(&main).await.iter().all(|p| p.starts_with("PLAN#")),
        "only the seeded plans"
    );

    // Public registration cannot choose a table.
    let mut body = registration(&slug, &email);
    body["dedicated_table"] = json!(format!("{main}-tenant-x"));
    let res = post_json(&s.auth.app, "/api/auth/register/", &body, None).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.json()["dedicated_table"].is_array(), "{}", res.text());

    // Only super admins may create tenants at all, pinned or not.
    let (admin_slug, admin_email) = unique("notroot");
    let res = post_json(
        &s.auth.app,
        "/api/auth/register/",
        &registration(&admin_slug, &admin_email),
        None,
    )
    .await;
    let admin = res.json()["tokens"]["access"].as_str().unwrap().to_owned();
    let mut body = registration(&slug, &email);
    body["dedicated_table"] = json!(format!("{main}-tenant-x"));
    assert_eq!(
        call(
            &s.tenants,
            "POST",
            "/api/tenants/",
            Some(&admin),
            Some(body),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // Without a table (or null), creation is as before: the main table.
    let mut body = registration(&slug, &email);
    body["dedicated_table"] = Value::Null;
    let res = call(
        &s.tenants,
        "POST",
        "/api/tenants/",
        Some(&root),
        Some(body),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.json()["dedicated_table"], Value::Null);
    let id = res.json()["id"].as_str().unwrap().to_owned();
    assert!(exists(&main, &format!("TENANT#{id}"), "PROFILE").await);
    assert!(
        !exists(&main, &format!("TENANTROUTE#{id}"), "ROUTE").await,
        "main-table tenants have no routing item"
    );
    let res = login(&s.auth, &email, "correct-horse-battery").await;
    assert!(payload(res.json()["tokens"]["access"].as_str().unwrap())
        .get("tbl")
        .is_none());

    // A creation refused for a taken slug leaves no routing item behind.
    let table = dedicated_table(&s, "late").await;
    let mut body = registration(&slug, &unique("late").1);
    body["dedicated_table"] = json!(table);
    let res = call(
        &s.tenants,
        "POST",
        "/api/tenants/",
        Some(&root),
        Some(body),
        None,
    )
    .await;
    assert_eq!(
        res.json(),
        json!({"tenant_slug": ["A tenant with this slug already exists."]})
    );
    assert!(!all_pks(&main)
        .await
        .iter()
        .any(|p| p.starts_with("TENANTROUTE#")));
    assert!(all_pks(&table).await.is_empty());
}

#[tokio::test]
async fn every_policy_that_reaches_tenant_data_reaches_dedicated_tables_too() {
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&template_yaml()).unwrap();
    let resources = template["Resources"].as_mapping().unwrap();
    let mut checked = 0;
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let Some(policies) = resource["Properties"]["Policies"].as_sequence() else {
            continue;
        };
        for statement in policies
            .iter()
            .filter_map(|p| p["Statement"].as_sequence())
            .flatten()
        {
            let actions: Vec<&str> = statement["Action"]
                .as_sequence()
                .unwrap()
                .iter()
                .filter_map(|a| a.as_str())
                .collect();
            let touches_items = actions.iter().any(|a| {
                a.starts_with("dynamodb:")
                    && !matches!(*a, "dynamodb:DescribeTable" | "dynamodb:DescribeTimeToLive")
            });
            if !touches_items {
                continue;
            }
            // The wildcard also covers the dedicated tables' indexes.
            let resources = serde_yaml_ng::to_string(&statement["Resource"]).unwrap();
            if resources.contains("${Table.Arn}-tenant-*") {
                checked += 1;
                continue;
            }
            // Main-table only, on purpose: routing items are platform
            // items; users' GSI2 and the CRM's indexes in a dedicated table
            // are covered by the function's `-tenant-*` statement.
            let platform_only = [
                ("AuditFunction", "dynamodb:GetItem", "!GetAtt Table.Arn"),
                ("UsersFunction", "dynamodb:Query", "${Table.Arn}/index/GSI2"),
                ("CrmFunction", "dynamodb:Query", "${Table.Arn}/index/*"),
            ];
            assert!(
                platform_only
                    .iter()
                    .any(|(f, a, r)| name.as_str() == Some(*f)
                        && actions == [*a]
                        && resources.contains(r)),
                "{name:?}: {resources}"
            );
        }
    }
    assert!(checked >= 5, "every data function was checked ({checked})");
}
