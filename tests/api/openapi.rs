//! Every routed operation is in the OpenAPI document, and every documented
//! operation is routed.

use axum::body::Body;
use axum::Router;
use http::{Method, Request, StatusCode};
use shared::http::{HttpConfig, Unrouted};
use shared::state::ApiState;
use tests::iam::function_store;
use tests::{fresh_store, repo_root};
use tower::ServiceExt;
use utoipa::openapi::{OpenApi, PathItem};

/// Each function's own document and app, by binary name.
async fn functions() -> Vec<(&'static str, OpenApi, Router)> {
    let store = fresh_store().await;
    let config = HttpConfig::default();
    let key = shared::auth::SigningKeyPair::generate("k");
    let settings = shared::auth::TokenSettings::default();
    let jwks = shared::auth::Jwks {
        keys: vec![key.public_jwk()],
    };
    let verifier = std::sync::Arc::new(shared::auth::TokenVerifier::new(&jwks, &settings).unwrap());
    let signer = shared::auth::TokenSigner::new(key, settings);
    // A function whose state is the store and the token verifier.
    let api = |name: &'static str, doc: OpenApi, router: fn(ApiState, &HttpConfig) -> Router| {
        let state = ApiState {
            store: function_store(&store, name),
            verifier: verifier.clone(),
        };
        (name, doc, router(state, &config))
    };
    vec![
        (
            "docs",
            docs::document(),
            docs::router(
                docs::AppState {
                    store: function_store(&store, "docs"),
                },
                &config,
            ),
        ),
        (
            "auth",
            auth::document(),
            auth::router(
                auth::state(
                    function_store(&store, "auth"),
                    signer,
                    jwks,
                    tests::outbox_mailer(&tests::fresh_outbox()),
                )
                .unwrap(),
                &config,
            ),
        ),
        api("roles", roles::document(), roles::router),
        api("audit", audit::document(), audit::router),
        api("tenants", tenants::document(), tenants::router),
        (
            "users",
            users::document(),
            users::router(
                users::AppState {
                    store: function_store(&store, "users"),
                    verifier: verifier.clone(),
                    mailer: tests::outbox_mailer(&tests::fresh_outbox()),
                },
                &config,
            ),
        ),
        api("crm", crm::document(), crm::router),
        api("teams", teams::document(), teams::router),
        api("plans", plans::document(), plans::router),
        api(
            "subscriptions",
            subscriptions::document(),
            subscriptions::router,
        ),
        api("invoices", invoices::document(), invoices::router),
    ]
}

fn operations(item: &PathItem) -> Vec<Method> {
    let mut out = Vec::new();
    for (method, op) in [
        (Method::GET, &item.get),
        (Method::POST, &item.post),
        (Method::PUT, &item.put),
        (Method::PATCH, &item.patch),
        (Method::DELETE, &item.delete),
    ] {
        if op.is_some() {
            out.push(method);
        }
    }
    out
}

fn concrete(path: &str) -> String {
    // Any value fits a path parameter for routing purposes.
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "00000000-0000-0000-0000-000000000001"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_in_the_platform_document() {
    let platform = docs::openapi();
    let mut checked = 0;
    for (name, doc, app) in functions().await {
        assert!(!doc.paths.paths.is_empty(), "{name} documents no operation");
        for (path, item) in &doc.paths.paths {
            let merged = platform
                .paths
                .paths
                .get(path)
                .unwrap_or_else(|| panic!("{path} of {name} missing from /api/schema/"));
            for method in operations(item) {
                assert!(
                    operations(merged).contains(&method),
                    "{method} {path} missing from the platform document"
                );
                let req = Request::builder()
                    .method(method.clone())
                    .uri(concrete(path))
                    .header("content-type", "application/json")
                    .body(Body::from("{}"))
                    .unwrap();
                let res = app.clone().oneshot(req).await.unwrap();
                assert_ne!(
                    res.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is documented but not routed"
                );
                assert!(
                    res.extensions().get::<Unrouted>().is_none(),
                    "{method} {path} is not routed"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 13);
}

/// Routes are only ever registered in a function's `src/lib.rs`, one per
/// line, where `tests/api/layout.rs` holds each to the function's document;
/// a route anywhere else would bypass that. The one exception is Swagger
/// UI's own page and files, which are not operations of the API.
#[test]
fn no_function_registers_an_undocumented_route() {
    let swagger_ui = repo_root().join("functions/docs/src/swagger.rs");
    let mut offenders = Vec::new();
    for entry in std::fs::read_dir(repo_root().join("functions")).unwrap() {
        let src = entry.unwrap().path().join("src");
        let lib = src.join("lib.rs");
        for file in walk(&src).into_iter().filter(|f| *f != swagger_ui) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                if (line.contains(".route(") && file != lib)
                    || line.contains(".route_service(")
                    || line.contains(".nest(")
                {
                    offenders.push(format!("{}:{}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes registered outside a lib.rs routes(): {offenders:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn every_function_in_the_template_contributes_to_the_document() {
    let routes = tests::routes::template_routes(&tests::template_yaml());
    let functions: std::collections::BTreeSet<_> =
        routes.iter().map(|(_, _, f)| f.clone()).collect();
    let platform = docs::openapi();
    for function in functions {
        let prefixes: Vec<String> = routes
            .iter()
            .filter(|(_, _, f)| *f == function)
            .map(|(_, p, _)| {
                p.trim_end_matches("{*proxy}")
                    .trim_end_matches('/')
                    .to_owned()
            })
            .collect();
        assert!(
            platform
                .paths
                .paths
                .keys()
                .any(|p| prefixes.iter().any(|pre| p.starts_with(pre.as_str()))),
            "no documented operation is served by {function}"
        );
    }
}

#[test]
fn every_authenticated_operation_documents_the_revoked_token_401() {
    let doc = docs::openapi();
    let mut checked = 0;
    for (path, item) in &doc.paths.paths {
        let ops = [&item.get, &item.put, &item.post, &item.delete, &item.patch];
        for op in ops.into_iter().flatten() {
            if op.security.as_ref().is_none_or(Vec::is_empty) {
                continue;
            }
            checked += 1;
            match op.responses.responses.get("401") {
                Some(utoipa::openapi::RefOr::T(r)) => assert!(
                    r.description.contains("revoked"),
                    "{path}: {}",
                    r.description
                ),
                _ => panic!("{path} has no 401 of its own"),
            }
        }
    }
    assert!(checked > 40, "{checked} authenticated operations");
}

/// The JSON extractor answers 413 and 415 before any handler runs, so every
/// operation with a body lists both, with the error body it really sends.
#[test]
fn every_operation_with_a_body_documents_413_and_415() {
    let doc = docs::openapi();
    let mut checked = 0;
    for (path, item) in &doc.paths.paths {
        let ops = [&item.put, &item.post, &item.delete, &item.patch];
        for op in ops.into_iter().flatten() {
            if op.request_body.is_none() {
                continue;
            }
            checked += 1;
            for status in ["413", "415"] {
                assert!(
                    op.responses.responses.contains_key(status),
                    "{path} does not document {status}"
                );
            }
        }
    }
    assert!(checked > 20, "{checked} operations with a body");
}

/// Generated clients name one method per operationId: two operations with
/// the same id collide (utoipa defaults the id to the handler's name, and
/// several functions have a `get_me`).
#[test]
fn every_operation_id_is_unique_across_the_platform_document() {
    let doc = docs::openapi();
    let mut seen: std::collections::BTreeMap<String, String> = Default::default();
    let mut duplicates = Vec::new();
    for (here, op) in each_operation(&doc) {
        let id = op
            .operation_id
            .clone()
            .unwrap_or_else(|| panic!("{here} has no operationId"));
        if let Some(first) = seen.insert(id.clone(), here.clone()) {
            duplicates.push(format!("{id}: {first} and {here}"));
        }
    }
    assert!(seen.len() > 40, "{} operations", seen.len());
    assert!(
        duplicates.is_empty(),
        "duplicate operationIds: {duplicates:#?}"
    );
}

/// The docs function serves `functions/docs/openapi.json`, checked in so
/// that a change to the API shows in review, and embedded at build time so
/// that the function links none of the code that builds it. It must be
/// exactly the document the code builds; `make openapi` (this test with
/// `UPDATE_OPENAPI=1`) rewrites it. `make test` also generates a
/// TypeScript client from it and type-checks tests/client/ against it.
#[test]
fn the_served_document_is_the_one_the_code_builds() {
    let doc = docs::openapi_json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["components"]["schemas"]["UserView"].is_object());
    let built = format!("{}\n", serde_json::to_string_pretty(&doc).unwrap());
    let path = tests::repo_root().join("functions/docs/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &built).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if let Some((line, (old, new))) = checked_in
        .lines()
        .zip(built.lines())
        .enumerate()
        .find(|(_, (old, new))| old != new)
    {
        panic!(
            "functions/docs/openapi.json is not the document the code builds \
             (line {}: {old:?}, built: {new:?}): run `make openapi` and commit it",
            line + 1
        );
    }
    assert_eq!(
        checked_in.len(),
        built.len(),
        "functions/docs/openapi.json is not the document the code builds: run `make openapi` and commit it"
    );
}

fn each_operation(doc: &OpenApi) -> Vec<(String, &utoipa::openapi::path::Operation)> {
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ] {
            if let Some(op) = op {
                out.push((format!("{method} {path}"), op));
            }
        }
    }
    out
}

fn body_schema(op: &utoipa::openapi::path::Operation, status: &str) -> Option<String> {
    match op.responses.responses.get(status)? {
        utoipa::openapi::RefOr::T(r) => match &r.content.get("application/json")?.schema {
            Some(utoipa::openapi::RefOr::Ref(r)) => Some(r.ref_location.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Authentication reads the tenant's revocation state before any handler
/// runs and refuses the token when it cannot (fails closed): every
/// authenticated operation can answer 401 and 503.
#[test]
fn every_authenticated_operation_documents_401_and_503() {
    let doc = docs::openapi();
    let mut checked = 0;
    for (name, op) in each_operation(&doc) {
        if op.security.as_ref().is_none_or(Vec::is_empty) {
            continue;
        }
        checked += 1;
        for status in ["401", "503"] {
            assert_eq!(
                body_schema(op, status).as_deref(),
                Some("#/components/schemas/ErrorBody"),
                "{name} {status}"
            );
        }
    }
    assert!(checked > 40, "{checked} authenticated operations");
}

/// A 400 is either field errors or `{"detail", "code"}` (`parse_error`,
/// refusals of the request as a whole): every 400 documents both, every
/// other error status the `{"detail", "code"}` shape.
#[test]
fn every_error_status_documents_the_body_really_sent() {
    let doc = docs::openapi();
    let schemas = &doc.components.as_ref().unwrap().schemas;
    let union = serde_json::to_value(&schemas["BadRequestBody"]).unwrap();
    let branches: Vec<&str> = union["anyOf"]
        .as_array()
        .expect("BadRequestBody is an anyOf")
        .iter()
        .map(|b| b["$ref"].as_str().unwrap())
        .collect();
    assert_eq!(
        branches,
        [
            "#/components/schemas/ValidationErrorBody",
            "#/components/schemas/ErrorBody"
        ]
    );
    let mut checked = 0;
    for (name, op) in each_operation(&doc) {
        for status in op.responses.responses.keys() {
            let expected = match status.as_str() {
                "400" => "BadRequestBody",
                "403" if body_schema(op, status).is_some_and(|s| s.ends_with("/ForbiddenBody")) => {
                    "ForbiddenBody"
                }
                s if s.starts_with('4') || s.starts_with('5') => "ErrorBody",
                _ => continue,
            };
            checked += 1;
            assert_eq!(
                body_schema(op, status),
                Some(format!("#/components/schemas/{expected}")),
                "{name} {status}"
            );
        }
    }
    assert!(checked > 200, "{checked} error responses");
}

/// Every operation with a body refuses one that is not JSON with a 400
/// `parse_error` before its handler runs.
#[test]
fn every_operation_with_a_body_documents_the_parse_error() {
    let doc = docs::openapi();
    for (name, op) in each_operation(&doc) {
        if op.request_body.is_some() {
            let Some(utoipa::openapi::RefOr::T(r)) = op.responses.responses.get("400") else {
                panic!("{name} documents no 400");
            };
            assert!(
                r.description.contains("parse_error"),
                "{name}: {}",
                r.description
            );
        }
    }
}

/// Paginated lists refuse a `page_size` outside 1–100 (400) and an altered
/// or foreign cursor (404 `Invalid cursor`, as DRF's cursor paginator).
#[test]
fn every_paginated_list_documents_its_bounds_and_the_invalid_cursor() {
    let doc = docs::openapi();
    let mut checked = 0;
    for (name, op) in each_operation(&doc) {
        let params = op.parameters.as_deref().unwrap_or_default();
        let Some(page_size) = params.iter().find(|p| p.name == "page_size") else {
            continue;
        };
        checked += 1;
        let schema = serde_json::to_value(&page_size.schema).unwrap();
        assert_eq!(schema["minimum"], 1, "{name}");
        assert_eq!(schema["maximum"], shared::http::MAX_PAGE_SIZE, "{name}");
        assert!(params.iter().any(|p| p.name == "cursor"), "{name}");
        assert!(op.responses.responses.contains_key("400"), "{name}");
        let Some(utoipa::openapi::RefOr::T(r)) = op.responses.responses.get("404") else {
            panic!("{name} documents no 404");
        };
        assert!(r.description.contains("Invalid cursor"), "{name}");
    }
    assert!(checked >= 10, "{checked} paginated lists");
}

/// `X-Tenant-Id` is read by every operation that acts in a tenant: a
/// malformed one is a 400, another tenant's (for anyone but a super admin)
/// a 404.
#[test]
fn operations_acting_in_a_tenant_document_the_tenant_header_errors() {
    let doc = docs::openapi();
    let mut checked = 0;
    for (name, op) in each_operation(&doc) {
        if !op
            .description
            .as_deref()
            .is_some_and(|d| d.contains("`X-Tenant-Id` move"))
        {
            continue;
        }
        checked += 1;
        for status in ["400", "404"] {
            let Some(utoipa::openapi::RefOr::T(r)) = op.responses.responses.get(status) else {
                panic!("{name} documents no {status}");
            };
            assert!(r.description.contains("X-Tenant-Id"), "{name} {status}");
        }
    }
    assert!(checked > 30, "{checked} operations acting in a tenant");
}

/// `GET /api/tenants/me/` answers one of two views; a full view must not
/// also match the summary (a `oneOf` allows exactly one branch).
#[test]
fn the_tenant_views_of_tenants_me_are_mutually_exclusive() {
    let doc = docs::openapi();
    let schemas = serde_json::to_value(&doc.components.as_ref().unwrap().schemas).unwrap();
    let summary = &schemas["TenantSummaryView"];
    assert_eq!(summary["additionalProperties"], false);
    let full = &schemas["TenantView"];
    let required: Vec<&str> = full["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        required
            .iter()
            .any(|f| summary["properties"].get(*f).is_none()),
        "every full view also matches the summary"
    );
}

/// Every `$ref` names a schema the document has (a parameter's type is
/// not collected into the components by itself).
#[test]
fn every_reference_resolves() {
    let doc = serde_json::to_value(docs::openapi()).unwrap();
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 100);
    for r in all {
        let name = r.trim_start_matches("#/components/schemas/");
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
}

/// What utoipa's types cannot say is in the served document: empty query
/// values count as absent, and unsigned integers keep their whole range.
#[test]
fn the_served_document_allows_empty_query_values_and_unsigned_ranges() {
    let doc = docs::openapi_json();
    let list_users = &doc["paths"]["/api/users/"]["get"]["parameters"];
    let params = list_users.as_array().unwrap();
    assert!(!params.is_empty());
    for p in params {
        if p["in"] == "query" {
            assert_eq!(p["allowEmptyValue"], true, "{p}");
        }
    }
    let storage = &doc["components"]["schemas"]["PlanInput"]["properties"]["storage_gb"];
    assert_eq!(storage["maximum"], u32::MAX, "{storage}");
    assert!(storage.get("format").is_none(), "{storage}");
    // Path parameters are required: never empty.
    let user = &doc["paths"]["/api/users/{id}/"]["get"]["parameters"][0];
    assert_eq!(user["in"], "path");
    assert!(user.get("allowEmptyValue").is_none());
}
