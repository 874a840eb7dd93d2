use crate::gzipped;
use axum::http::HeaderMap;
use axum::response::Response;
use shared::http::ApiError;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SaaS platform API",
        description = "Multi-tenant platform API. Errors follow Django REST Framework's shape: \
            `{\"detail\", \"code\"}` in general, `{\"<field>\": [\"message\"]}` for validation. \
            Paths accept the trailing slash and the form without it.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "audit", description = "The tenant's audit log"),
        (name = "auth", description = "Registration, login and tokens"),
        (name = "crm", description = "The CRM module: leads and their activities, under the own/team/all scopes"),
        (name = "docs", description = "API documentation and health"),
        (name = "invoices", description = "Invoices, and settling them by hand (the manual payment provider)"),
        (name = "plans", description = "The platform's plans"),
        (name = "roles", description = "Roles, the permission catalog and role templates"),
        (name = "teams", description = "Teams of an organisation"),
        (name = "subscriptions", description = "A tenant's subscription and usage"),
        (name = "tenants", description = "Organisations"),
        (name = "users", description = "People of an organisation"),
    )
)]
struct PlatformDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The platform's whole API: every function's operations in one document.
pub fn openapi() -> Document {
    let mut doc = PlatformDoc::openapi();
    doc.merge(crate::document());
    doc.merge(auth::document());
    doc.merge(roles::document());
    doc.merge(audit::document());
    doc.merge(tenants::document());
    doc.merge(users::document());
    doc.merge(teams::document());
    doc.merge(plans::document());
    doc.merge(subscriptions::document());
    doc.merge(invoices::document());
    doc.merge(crm::document());
    // What the shared extractors answer for every operation, and the
    // error bodies really sent.
    shared::http::schema::complete(&mut doc);
    doc
}

/// [`openapi_json`] as checked in beside Cargo.toml (a test holds the two
/// together; `make openapi` rewrites the file), gzip-compressed by build.rs.
/// Served as built, the function links none of the code that builds it.
const DOCUMENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json.gz"));

/// The OpenAPI 3 document of the whole platform.
#[utoipa::path(
    get,
    path = "/api/schema/",
    tag = "docs",
    description = "Public. The OpenAPI 3 document of every function's operations.",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json", body = Object)),
)]
pub(crate) async fn get_schema(headers: HeaderMap) -> Result<Response, ApiError> {
    gzipped::respond("application/json", DOCUMENT, &headers, None)
}

/// The document as served: [`openapi`] serialized, with what utoipa's types
/// cannot say ([`shared::http::schema::finish_json`]).
pub fn openapi_json() -> serde_json::Value {
    let mut doc = serde_json::to_value(openapi()).unwrap_or_default();
    shared::http::schema::finish_json(&mut doc);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn serves_the_checked_in_document() {
        let mut served = String::new();
        flate2::read::GzDecoder::new(DOCUMENT)
            .read_to_string(&mut served)
            .unwrap();
        assert_eq!(served, include_str!("../openapi.json"));
    }
}
