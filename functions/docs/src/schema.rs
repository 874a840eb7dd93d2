use axum::Json;
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
    doc.merge(crate::routes().split_for_parts().1);
    doc.merge(auth::routes().split_for_parts().1);
    doc.merge(roles::routes().split_for_parts().1);
    doc.merge(audit::routes().split_for_parts().1);
    doc.merge(tenants::routes().split_for_parts().1);
    doc.merge(users::routes().split_for_parts().1);
    doc.merge(teams::routes().split_for_parts().1);
    doc.merge(plans::routes().split_for_parts().1);
    doc.merge(subscriptions::routes().split_for_parts().1);
    doc.merge(invoices::routes().split_for_parts().1);
    document_unauthenticated(&mut doc);
    document_body_errors(&mut doc);
    doc
}

/// The 401 of every authenticated operation.
pub const UNAUTHENTICATED: &str =
    "Not authenticated: no token, or an invalid or expired one, or one \
    revoked since it was issued (`token_not_valid`: refresh or log in again)";

/// Every operation that takes a bearer token can answer 401, also for a
/// token revoked after it was issued: said once here rather than in each
/// function's annotations, so no operation can miss it.
fn document_unauthenticated(doc: &mut Document) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in operations.into_iter().flatten() {
            if op.security.as_ref().is_none_or(Vec::is_empty) {
                continue;
            }
            match op.responses.responses.get_mut("401") {
                Some(RefOr::T(r)) if r.description == "Not authenticated" => {
                    r.description = UNAUTHENTICATED.to_owned();
                }
                Some(RefOr::T(r)) if !r.description.contains("revoked") => {
                    r.description.push_str(
                        "; or an access token revoked since it was issued (`token_not_valid`)",
                    );
                }
                Some(_) => {}
                None => {
                    let response = ResponseBuilder::new()
                        .description(UNAUTHENTICATED)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("ErrorBody")))
                                .build(),
                        )
                        .build();
                    op.responses
                        .responses
                        .insert("401".to_owned(), RefOr::T(response));
                }
            }
        }
    }
}

/// Every operation that reads a JSON body answers 413 beyond `MAX_BODY_BYTES`
/// and 415 for a body that is not JSON, before its handler runs (the
/// shared JSON extractor): said once here, like the 401.
fn document_body_errors(doc: &mut Document) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let statuses = [
        (
            "413",
            "The body is larger than the limit (`payload_too_large`)",
        ),
        ("415", "The body is not JSON (`unsupported_media_type`)"),
    ];
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            if op.request_body.is_none() {
                continue;
            }
            for (status, description) in statuses {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(description)
                                .content(
                                    "application/json",
                                    ContentBuilder::new()
                                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                                        .build(),
                                )
                                .build(),
                        )
                    });
            }
        }
    }
}

/// The OpenAPI 3 document of the whole platform.
#[utoipa::path(
    get,
    path = "/api/schema/",
    tag = "docs",
    description = "Public. The OpenAPI 3 document of every function's operations.",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json", body = Object)),
)]
pub(crate) async fn get_schema() -> Json<Document> {
    Json(openapi())
}
