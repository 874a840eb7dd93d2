//! The function apps in-process around one auth app, and the requests the
//! API tests send them: each test gets its own apps over a fresh table.

use crate::{auth_app, post_json, registration, send, unique, AuthApp, TestResponse};
use axum::body::Body;
use axum::Router;
use http::StatusCode;
use serde_json::{json, Value};
use shared::auth::{authenticate, Claims, Jwks, TokenSigner, TokenType, TokenVerifier};
use shared::permissions::{FlatPermissions, Grant, PermissionKey, PermissionSet};
use shared::store::TenantScope;
use std::sync::Arc;
use uuid::Uuid;

/// The host the tests send requests to; absolute links name it.
pub const API_HOST: &str = "api.test";

/// The function apps, sharing the auth app's store and signing key.
pub struct Setup {
    pub auth: AuthApp,
    pub roles: Router,
    pub audit: Router,
    pub tenants: Router,
    pub users: Router,
    pub teams: Router,
    pub plans: Router,
    pub subscriptions: Router,
    pub invoices: Router,
    pub crm: Router,
    pub verifier: Arc<TokenVerifier>,
}

/// The apps over a fresh table.
pub async fn setup() -> Setup {
    setup_on(auth_app().await)
}

/// A verifier of the tokens `auth` signs.
pub fn verifier(auth: &AuthApp) -> TokenVerifier {
    TokenVerifier::new(
        &Jwks {
            keys: vec![auth.key.public_jwk()],
        },
        &auth.settings,
    )
    .unwrap()
}

/// The apps around a given auth app, sharing its store.
pub fn setup_on(auth: AuthApp) -> Setup {
    let verifier = Arc::new(verifier(&auth));
    macro_rules! app {
        ($function:ident) => {
            $function::router(
                $function::AppState {
                    store: crate::iam::function_store(&auth.store, stringify!($function)),
                    verifier: verifier.clone(),
                },
                &shared::http::HttpConfig::default(),
            )
        };
    }
    Setup {
        roles: app!(roles),
        audit: app!(audit),
        tenants: app!(tenants),
        // Invitations go to the auth app's outbox: one place to read mail.
        users: users::router(
            users::AppState {
                store: crate::iam::function_store(&auth.store, "users"),
                verifier: verifier.clone(),
                mailer: crate::outbox_mailer(&auth.outbox),
            },
            &shared::http::HttpConfig::default(),
        ),
        teams: app!(teams),
        crm: app!(crm),
        plans: app!(plans),
        subscriptions: app!(subscriptions),
        invoices: app!(invoices),
        auth,
        verifier,
    }
}

/// A tenant registered through the auth app.
pub struct Registered {
    /// The registration response's body.
    pub body: Value,
    pub slug: String,
    pub email: String,
    /// The admin's tokens.
    pub access: String,
    pub refresh: String,
}

/// Registers a tenant with a unique slug and email; it must be created.
pub async fn register(auth: &AuthApp, prefix: &str) -> Registered {
    let (slug, email) = unique(prefix);
    let res = post_json(
        &auth.app,
        "/api/auth/register/",
        &registration(&slug, &email),
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let body = res.json();
    Registered {
        access: body["tokens"]["access"].as_str().unwrap().to_owned(),
        refresh: body["tokens"]["refresh"].as_str().unwrap().to_owned(),
        body,
        slug,
        email,
    }
}

/// Registers a tenant; returns its admin's access token.
pub async fn tenant(s: &Setup, prefix: &str) -> String {
    register(&s.auth, prefix).await.access
}

/// Logs in through the auth app.
pub async fn login(auth: &AuthApp, email: &str, password: &str) -> TestResponse {
    post_json(
        &auth.app,
        "/api/auth/login/",
        &json!({"email": email, "password": password}),
        None,
    )
    .await
}

pub fn claims_of(s: &Setup, token: &str) -> Claims {
    authenticate(&s.verifier, Some(&format!("Bearer {token}")))
        .unwrap()
        .claims()
        .clone()
}

/// `base` re-signed with its `roles` claim replaced (and a new `jti`): a
/// token issued before the user's roles changed, or naming roles the user
/// never held. The grants it carries are `base`'s.
pub fn naming_roles(s: &Setup, base: &str, roles: &[Uuid]) -> String {
    resigned(s, base, |claims| claims.roles = roles.to_vec())
}

/// `base` re-signed with a new `jti` after `edit` changed its claims.
pub fn resigned(s: &Setup, base: &str, edit: impl FnOnce(&mut Claims)) -> String {
    let mut claims = claims_of(s, base);
    edit(&mut claims);
    claims.jti = Uuid::new_v4();
    TokenSigner::new(s.auth.key.clone(), s.auth.settings.clone())
        .sign(&claims)
        .unwrap()
}

/// The scope of the tenant an access token belongs to (as a handler gets it).
pub fn scope(s: &Setup, token: &str) -> TenantScope {
    authenticate(&s.verifier, Some(&format!("Bearer {token}")))
        .unwrap()
        .scope()
        .clone()
}

/// The path and query of an absolute link.
pub fn path_of(link: &Value) -> String {
    let url = link.as_str().expect("a link");
    url.strip_prefix("http://api.test")
        .or_else(|| url.strip_prefix("https://api.test"))
        .unwrap()
        .to_owned()
}

/// A token for a user of `tenant` with the given grants (or a super admin).
pub fn token_for(
    s: &Setup,
    tenant_id: Uuid,
    is_super_admin: bool,
    permissions: FlatPermissions,
) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = Claims {
        sub: Uuid::new_v4(),
        email: "someone@example.com".into(),
        tenant_id,
        tenant_slug: "x".into(),
        table: None,
        is_super_admin,
        plan: None,
        email_verified: false,
        permissions,
        enabled_modules: vec![],
        team_ids: vec![],
        roles: vec![],
        token_type: TokenType::Access,
        jti: Uuid::new_v4(),
        fam: Uuid::new_v4(),
        iat: now,
        iat_ms: None,
        nbf: now,
        exp: now + 300,
        iss: s.auth.settings.issuer.clone(),
        aud: s.auth.settings.audience.clone(),
    };
    TokenSigner::new(s.auth.key.clone(), s.auth.settings.clone())
        .sign(&claims)
        .unwrap()
}

/// A token for a user of `tenant` holding the one boolean grant `action`.
pub fn token_granted(s: &Setup, tenant_id: Uuid, action: PermissionKey) -> String {
    let grants = PermissionSet::empty()
        .with(action, Grant::Bool(true))
        .unwrap();
    token_for(s, tenant_id, false, FlatPermissions::from(&grants))
}

/// Asserts `res` is a 400 with one error, `message`, on `field`.
#[track_caller]
pub fn assert_field_error(res: &TestResponse, field: &str, message: &str) {
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(res.json(), json!({ field: [message] }));
}

/// A request with an optional bearer token and `X-Tenant-Id`.
pub fn request(
    method: &str,
    uri: &str,
    token: Option<&str>,
    tenant: Option<&str>,
) -> http::request::Builder {
    let mut req = http::Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(t) = tenant {
        req = req.header("x-tenant-id", t);
    }
    req
}

/// Sends `req` as JSON: `content-type: application/json` always, and an
/// empty body when there is none.
pub async fn send_json(
    app: &Router,
    req: http::request::Builder,
    body: Option<Value>,
) -> TestResponse {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    send(
        app,
        req.header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// Sends `req` with a JSON body if there is one; without one, no body and
/// no content type.
pub async fn send_body(
    app: &Router,
    req: http::request::Builder,
    body: Option<Value>,
) -> TestResponse {
    let body = match body {
        Some(b) => return send_json(app, req, Some(b)).await,
        None => Body::empty(),
    };
    send(app, req.body(body).unwrap()).await
}

/// A JSON request to the API host; `token: None` is anonymous.
pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
    tenant: Option<Uuid>,
) -> TestResponse {
    let tenant = tenant.map(|t| t.to_string());
    let req = request(method, uri, token, tenant.as_deref()).header("host", API_HOST);
    send_json(app, req, body).await
}

/// A GET to the API host without a body.
pub async fn get_as(app: &Router, uri: &str, token: &str) -> TestResponse {
    get_for(app, uri, token, None).await
}

/// A GET to the API host without a body, optionally for another tenant.
pub async fn get_for(app: &Router, uri: &str, token: &str, tenant: Option<Uuid>) -> TestResponse {
    let tenant = tenant.map(|t| t.to_string());
    let req = request("GET", uri, Some(token), tenant.as_deref()).header("host", API_HOST);
    send_body(app, req, None).await
}

/// Sends twenty concurrent creates of one name (`{"name": "Racers"}`) to
/// `uri`; each must be created or refused as taken. How many were created.
pub async fn race_creates(app: &Router, uri: &'static str, admin: &str) -> usize {
    let mut tasks = Vec::new();
    for i in 0..20 {
        let router = app.clone();
        let admin = admin.to_owned();
        tasks.push(tokio::spawn(async move {
            let req = http::Request::builder()
                .method("POST")
                .uri(uri)
                .header("authorization", format!("Bearer {admin}"))
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"name": "Racers", "description": format!("try {i}")}).to_string(),
                ))
                .unwrap();
            send(&router, req).await.status
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::BAD_REQUEST | StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    created
}

/// [`call`] with a token and no `X-Tenant-Id`.
pub async fn call_as(
    app: &Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> TestResponse {
    call(app, method, uri, Some(token), body, None).await
}

/// Like [`call`], but a request without a body has no content type.
pub async fn call_plain(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
    tenant: Option<&str>,
) -> TestResponse {
    let req = request(method, uri, token, tenant).header("host", API_HOST);
    send_body(app, req, body).await
}
