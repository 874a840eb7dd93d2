//! End-to-end: real function binaries behind `cargo lambda watch`, over
//! HTTP, against DynamoDB Local. `make test` starts the stack and sets
//! `E2E_BASE_URL`.

use reqwest::StatusCode;

fn base() -> String {
    std::env::var("E2E_BASE_URL").expect(
        "E2E_BASE_URL is not set: run the tests with `make test`, which starts cargo lambda watch",
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .build()
        .unwrap()
}

/// The OpenAPI document is asked for with HEAD: `cargo lambda watch` can lose
/// a response body of more than a few KB (docs/testing.md, "The local
/// gateway's 500"), and every response this suite reads through it stays
/// small. The document itself is checked in-process (tests/api/openapi.rs).
#[tokio::test]
async fn schema_and_swagger_ui_are_served_through_the_local_gateway() {
    let c = client();
    let res = c
        .head(format!("{}/api/schema/", base()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("x-request-id"));
    assert_eq!(res.headers()["content-type"], "application/json");

    let res = c.get(format!("{}/api/docs/", base())).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("swagger-ui"));
}

#[tokio::test]
async fn health_reaches_dynamodb_local_through_the_function_binary() {
    let res = client()
        .get(format!("{}/api/health", base()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["dynamodb"], "ok");
}

#[tokio::test]
async fn errors_are_json_through_the_gateway() {
    let res = client()
        .delete(format!("{}/api/health/", base()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");

    // Paths no function serves reach the docs function's JSON 404 through
    // the catch-all routes (`/` and `/{*proxy}`), as in template.yaml.
    for path in ["/", "/no/such/path", "/api/nothing-here/"] {
        let res = client()
            .get(format!("{}{path}", base()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"detail": "Not found.", "code": "not_found"}),
            "{path}"
        );
    }
}

async fn post(
    path: &str,
    body: serde_json::Value,
    token: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut req = client().post(format!("{}{path}", base())).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// Registers a fresh tenant; its admin's access token and email.
async fn register(prefix: &str, tenant_name: &str) -> (String, String) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (slug, email) = (
        format!("{prefix}-{}", &id[..10]),
        format!("{prefix}-{}@example.com", &id[..10]),
    );
    let (status, body) = post(
        "/api/auth/register/",
        serde_json::json!({
            "tenant_name": tenant_name, "tenant_slug": slug, "admin_email": email,
            "admin_password": "e2e-password-123", "admin_password_confirm": "e2e-password-123",
            "admin_first_name": "Ada",
        }),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (body["tokens"]["access"].as_str().unwrap().to_owned(), email)
}

#[tokio::test]
async fn identity_flow_through_the_auth_function_binary() {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (slug, email) = (
        format!("e2e-{}", &id[..10]),
        format!("e2e-{}@example.com", &id[..10]),
    );
    let (status, body) = post(
        "/api/auth/register/",
        serde_json::json!({
            "tenant_name": "E2E Org", "tenant_slug": slug, "admin_email": email,
            "admin_password": "e2e-password-123", "admin_password_confirm": "e2e-password-123",
            "admin_first_name": "Eve",
        }),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, body) = post(
        "/api/auth/login",
        serde_json::json!({"email": email, "password": "e2e-password-123"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refresh = body["tokens"]["refresh"].as_str().unwrap().to_owned();

    let (status, pair) = post(
        "/api/auth/token/refresh/",
        serde_json::json!({"refresh": refresh}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let access = pair["access"].as_str().unwrap().to_owned();
    let new_refresh = pair["refresh"].as_str().unwrap().to_owned();

    let (status, _) = post(
        "/api/auth/token/verify/",
        serde_json::json!({"token": access}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post(
        "/api/auth/logout/",
        serde_json::json!({"refresh": new_refresh}),
        Some(&access),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(
        "/api/auth/token/refresh/",
        serde_json::json!({"refresh": new_refresh}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "token_not_valid");

    // The published keys verify what the function signed.
    let jwks: serde_json::Value = client()
        .get(format!("{}/.well-known/jwks.json", base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!jwks["keys"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_seeded_super_admin_can_log_in() {
    let (status, body) =
        post("/api/auth/login/", serde_json::json!({"email": "superadmin@platform.local", "password": "local-superadmin-pass"}), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["is_super_admin"], true);
}

#[tokio::test]
async fn cors_preflight_is_answered_by_the_function() {
    let res = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/auth/login/", base()),
        )
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let allow = res
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(allow.as_deref(), Some("*"));
    let methods = res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
}

#[tokio::test]
async fn roles_through_the_roles_function_binary() {
    let (access, _) = register("e2r", "E2E Roles").await;

    let (status, role) = post(
        "/api/roles/",
        serde_json::json!({"name": "Sales", "permissions": {"crm": {"leads": {"view": "own"}}}}),
        Some(&access),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");

    let res = client()
        .get(format!("{}/api/roles", base()))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page: serde_json::Value = res.json().await.unwrap();
    let names: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Admin") && names.contains(&"Sales"),
        "{names:?}"
    );

    let res = client()
        .get(format!("{}/api/roles/permissions_schema/", base()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_api_area_answers_through_its_function_binary() {
    let (access, _) = register("e2a", "E2E Areas").await;
    let (status, team) = post(
        "/api/teams/",
        serde_json::json!({"name": "North"}),
        Some(&access),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    for path in [
        "/api/users/?ordering=email",
        "/api/users/me",
        "/api/teams/",
        "/api/audit/",
        "/api/tenants/me/",
        "/api/plans/",
        "/api/subscriptions/my_subscription/",
        "/api/subscriptions/usage/",
        "/api/invoices/",
        "/api/crm/leads/",
    ] {
        let res = client()
            .get(format!("{}{path}", base()))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let res = client()
        .get(format!("{}/api/subscriptions/my_subscription/", base()))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    let sub: serde_json::Value = res.json().await.unwrap();
    assert_eq!(sub["status"], "trial", "{sub}");
}

/// The CRM function binary: a lead created, read, listed, exported as CSV
/// and given an activity, through `cargo lambda watch`.
#[tokio::test]
async fn leads_through_the_crm_function_binary() {
    let (access, email) = register("e2c", "E2E CRM").await;
    let (status, lead) = post(
        "/api/crm/leads/",
        serde_json::json!({"name": "Globex", "value": "1500", "tags": ["VIP"]}),
        Some(&access),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{lead}");
    assert_eq!(lead["value"], "1500.00");
    assert_eq!(lead["owner_email"], email.as_str());
    let id = lead["id"].as_str().unwrap();
    let (status, activity) = post(
        &format!("/api/crm/leads/{id}/activities"),
        serde_json::json!({"type": "call", "summary": "Intro"}),
        Some(&access),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{activity}");

    let get = |path: String| {
        let access = access.clone();
        async move {
            client()
                .get(format!("{}{path}", base()))
                .bearer_auth(&access)
                .send()
                .await
                .unwrap()
        }
    };
    let list: serde_json::Value = get("/api/crm/leads/?tag=vip".into())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["results"][0]["id"], id, "{list}");
    let res = get(format!("/api/crm/leads/{id}/activities/")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let export = get("/api/crm/leads/export/".into()).await;
    assert_eq!(export.status(), StatusCode::OK);
    assert_eq!(
        export.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    let csv = export.text().await.unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[0].starts_with("id,name,email"), "{csv}");
    assert!(rows[1].starts_with(&format!("{id},Globex,")), "{csv}");
}

/// `make test` runs the functions with `REVOCATION_CHECK_SECONDS=1`: a
/// deactivated user's access token stops within about a second, at every
/// function (each keeps its own view of the tenant's state).
#[tokio::test]
async fn a_deactivated_users_token_stops_at_every_function_binary() {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (slug, email, member) = (
        format!("e2v-{}", &id[..10]),
        format!("e2v-{}@example.com", &id[..10]),
        format!("e2v-m-{}@example.com", &id[..10]),
    );
    let (status, body) = post(
        "/api/auth/register/",
        serde_json::json!({
            "tenant_name": "E2E Revocation", "tenant_slug": slug, "admin_email": email,
            "admin_password": "e2e-password-123", "admin_password_confirm": "e2e-password-123",
            "admin_first_name": "Rev",
        }),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let admin = body["tokens"]["access"].as_str().unwrap().to_owned();
    let (status, user) = post(
        "/api/users/",
        serde_json::json!({"email": member, "password": "e2e-password-123",
                           "password_confirm": "e2e-password-123"}),
        Some(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let (status, login) = post(
        "/api/auth/login/",
        serde_json::json!({"email": member, "password": "e2e-password-123"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let token = login["tokens"]["access"].as_str().unwrap().to_owned();
    let get = |path: &'static str| {
        let token = token.clone();
        async move {
            let res = client()
                .get(format!("{}{path}", base()))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = res.status();
            (status, res.json::<serde_json::Value>().await.unwrap())
        }
    };
    // Valid before: each function has read the tenant's state once.
    for path in ["/api/users/me/", "/api/tenants/me/"] {
        let (status, body) = get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }

    let res = client()
        .delete(format!(
            "{}/api/users/{}/",
            base(),
            user["id"].as_str().unwrap()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // Within the interval (1 s here) each function rereads the state; the
    // deadline only bounds the wait, it measures nothing.
    for path in ["/api/users/me/", "/api/tenants/me/"] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let (status, body) = loop {
            let (status, body) = get(path).await;
            if status != StatusCode::OK || std::time::Instant::now() > deadline {
                break (status, body);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert_eq!(
            body,
            serde_json::json!({"code": "token_not_valid",
                "detail": "Token has been revoked; refresh or log in again."}),
            "{path}"
        );
    }
    let (status, _) = post(
        "/api/auth/token/verify/",
        serde_json::json!({"token": token}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
