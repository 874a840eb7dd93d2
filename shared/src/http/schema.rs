//! Error bodies for the OpenAPI document, and [`complete`]: the responses
//! every operation shares because the shared extractors answer them before
//! any handler runs (authentication, `X-Tenant-Id`, pagination, `{id}`,
//! JSON bodies). Said once here so that no operation can miss one, and so
//! that every status is documented with the body really sent.

use super::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Content, ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

/// A general error: `{"detail": "...", "code": "..."}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// Human-readable explanation.
    pub detail: String,
    /// Machine-readable code, e.g. `not_found`, `permission_denied`.
    pub code: String,
    /// The permission that was missing, on `permission_denied`.
    pub permission: Option<String>,
    /// On `permission_denied` for a scope action: the least scope that
    /// would have allowed it (`own`, `team`, `all`).
    #[schema(value_type = Option<String>, pattern = "^(own|team|all)$")]
    pub required: Option<String>,
    /// With `required`: the scope the caller holds (`null`: none).
    #[schema(value_type = Option<String>, pattern = "^(own|team|all)$")]
    pub held: Option<String>,
    /// On `module_disabled`: the module the tenant does not have.
    pub module: Option<String>,
    /// On `email_not_verified`: the path that mails a new verification
    /// link (`/api/auth/email/verify/resend/`).
    pub resend: Option<String>,
}

/// A refused escalation (403 `permission_escalation`): the change would
/// grant, or take away, more than the caller holds.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EscalationErrorBody {
    pub detail: String,
    /// `permission_escalation`.
    pub code: String,
    /// Permission keys beyond the caller's own merged grants, e.g.
    /// `["crm.leads.delete", "administration.roles.manage"]`.
    pub exceeding: Vec<String>,
}

/// Field errors: `{"<field>": ["message", ...]}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ValidationErrorBody(std::collections::BTreeMap<String, Vec<String>>);

/// A 400's body: field errors (`{"<field>": ["message"]}`), or a refusal
/// of the request as a whole (`{"detail", "code"}`, e.g. `parse_error`).
/// The two never both match: `detail` is a string in one and would be a
/// list of messages in the other.
pub struct BadRequestBody;

impl PartialSchema for BadRequestBody {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name("ValidationErrorBody"))
            .item(Ref::from_schema_name("ErrorBody"))
            .description(Some(
                "Field errors (`{\"<field>\": [\"message\"]}`), or `{\"detail\", \"code\"}` \
                 for a request refused as a whole (e.g. `parse_error`).",
            ))
            .into()
    }
}

impl ToSchema for BadRequestBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("ValidationErrorBody".into(), ValidationErrorBody::schema()));
        schemas.push(("ErrorBody".into(), ErrorBody::schema()));
    }
}

/// A 403's body where a change can also be refused as an escalation: a
/// plain `permission_denied`, or `permission_escalation` with `exceeding`.
pub struct ForbiddenBody;

impl PartialSchema for ForbiddenBody {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name("EscalationErrorBody"))
            .item(Ref::from_schema_name("ErrorBody"))
            .into()
    }
}

impl ToSchema for ForbiddenBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("EscalationErrorBody".into(), EscalationErrorBody::schema()));
        schemas.push(("ErrorBody".into(), ErrorBody::schema()));
    }
}

/// The 401 of every authenticated operation.
pub const UNAUTHENTICATED: &str =
    "Not authenticated: no token, or an invalid or expired one, or one \
    revoked since it was issued (`token_not_valid`: refresh or log in again)";

/// The 503 of every authenticated operation: the revocation state is read
/// before the handler runs, and a token is refused when it cannot be.
pub const UNAVAILABLE: &str =
    "The database cannot be read, e.g. the tenant's revocation state (checked \
    before every authenticated request; refused rather than trusted): \
    `service_unavailable`, retry shortly";

/// How the descriptions of operations that act in a tenant say how the
/// `X-Tenant-Id` header moves the caller (the `Require` and `TenantMember`
/// extractors): they also refuse a malformed header (400) and, for anyone
/// but a super admin, another tenant's id (404).
const TENANT_HEADER_MARK: &str = "`X-Tenant-Id` move";

/// Adds to a merged document what the shared extractors answer, and gives
/// every error status the body it really has. See the module docs.
pub fn complete(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in [
        ("ErrorBody", ErrorBody::schema()),
        ("EscalationErrorBody", EscalationErrorBody::schema()),
        ("ValidationErrorBody", ValidationErrorBody::schema()),
        ("BadRequestBody", BadRequestBody::schema()),
        ("ForbiddenBody", ForbiddenBody::schema()),
    ] {
        components.schemas.insert(name.to_owned(), schema);
    }
    let routes: Vec<(String, Vec<&'static str>)> = doc
        .paths
        .paths
        .iter()
        .map(|(path, item)| (path.clone(), methods(item)))
        .collect();
    for (path, item) in doc.paths.paths.iter_mut() {
        let siblings = shadowing(path, &routes);
        for (method, op) in operations(item) {
            complete_operation(op);
            // A path parameter equal to a sibling's static segment reaches
            // the sibling's route (`/api/users/me/` for `/api/users/{id}/`),
            // which may not have this method.
            let elsewhere: Vec<&str> = siblings
                .iter()
                .filter(|(_, methods)| !methods.contains(&method))
                .map(|(sibling, _)| sibling.as_str())
                .collect();
            if !elsewhere.is_empty() {
                add(
                    op,
                    "405",
                    &format!(
                        "A path parameter equal to a fixed segment reaches {} instead, \
                         which has no {} (`method_not_allowed`)",
                        elsewhere.join(", "),
                        method.to_uppercase()
                    ),
                    "ErrorBody",
                );
            }
        }
    }
}

/// What utoipa's types cannot say, written into the serialized document
/// (the one the docs function serves):
/// - `allowEmptyValue: true` on every optional query parameter: an empty
///   value counts as absent, as in Django REST Framework's filters.
/// - Unsigned integers as such: utoipa writes `u32` as `int32` with
///   `minimum: 0`, whose range stops at 2^31 - 1 while the API takes up to
///   2^32 - 1 (the same for `u64` and `int64`).
pub fn finish_json(doc: &mut serde_json::Value) {
    if let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                let params = op.get_mut("parameters").and_then(|p| p.as_array_mut());
                for param in params.into_iter().flatten() {
                    let optional_query = param["in"] == "query" && param["required"] != true;
                    if let (true, Some(param)) = (optional_query, param.as_object_mut()) {
                        param.insert("allowEmptyValue".into(), true.into());
                    }
                }
            }
        }
    }
    unsigned_integers(doc);
}

fn unsigned_integers(node: &mut serde_json::Value) {
    match node {
        serde_json::Value::Object(map) => {
            let unsigned_max = match map.get("format").and_then(|f| f.as_str()) {
                Some("int32") => Some(serde_json::Value::from(u32::MAX)),
                Some("int64") => Some(serde_json::Value::from(u64::MAX)),
                _ => None,
            };
            let from_zero = map.get("minimum").and_then(|m| m.as_u64()) == Some(0);
            if let (Some(max), true, false) = (unsigned_max, from_zero, map.contains_key("maximum"))
            {
                map.remove("format");
                map.insert("maximum".into(), max);
            }
            map.values_mut().for_each(unsigned_integers);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(unsigned_integers),
        _ => {}
    }
}

/// The documented paths that `path`'s parameters can spell out: same
/// segments, a fixed one where `path` has a `{parameter}`.
fn shadowing<'a>(
    path: &str,
    routes: &'a [(String, Vec<&'static str>)],
) -> Vec<&'a (String, Vec<&'static str>)> {
    let segments: Vec<&str> = path.split('/').collect();
    routes
        .iter()
        .filter(|(other, _)| {
            let others: Vec<&str> = other.split('/').collect();
            other != path
                && others.len() == segments.len()
                && segments
                    .iter()
                    .zip(&others)
                    .all(|(a, b)| a == b || (a.starts_with('{') && !b.starts_with('{')))
        })
        .collect()
}

fn complete_operation(op: &mut Operation) {
    let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
    if authenticated {
        document_unauthenticated(op);
        add(op, "503", UNAVAILABLE, "ErrorBody");
    }
    if op
        .description
        .as_deref()
        .is_some_and(|d| d.contains(TENANT_HEADER_MARK))
    {
        note(
            op,
            "400",
            "A malformed `X-Tenant-Id` header (`{\"X-Tenant-Id\": [...]}`)",
            "malformed `X-Tenant-Id`",
        );
        note(
            op,
            "404",
            "`X-Tenant-Id` names another tenant and the caller is no super admin",
            "`X-Tenant-Id` names another tenant",
        );
    }
    let params = op.parameters.get_or_insert_with(Vec::new);
    let paginated = params
        .iter()
        .any(|p| p.name == "cursor" && p.parameter_in == ParameterIn::Query);
    let has_path_param = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    for param in params.iter_mut() {
        if param.name == "page_size" && param.parameter_in == ParameterIn::Query {
            param.schema = Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(MAX_PAGE_SIZE))
                    .default(Some(DEFAULT_PAGE_SIZE.into()))
                    .into(),
            );
        }
    }
    if op.parameters.as_ref().is_some_and(Vec::is_empty) {
        op.parameters = None;
    }
    if paginated {
        note(
            op,
            "400",
            "An invalid filter or `page_size` (1 to 100), an unknown parameter, or a malformed query string",
            "`page_size` (1 to 100)",
        );
        note(
            op,
            "404",
            "`Invalid cursor`: altered, or from another query",
            "Invalid cursor",
        );
    }
    if has_path_param {
        add(op, "404", "No such resource (or not a UUID)", "ErrorBody");
    }
    if op.request_body.is_some() {
        note(
            op,
            "400",
            "A body that does not parse as JSON (`parse_error`), or invalid fields",
            "`parse_error`",
        );
        add(
            op,
            "413",
            "The body is larger than the limit (`payload_too_large`)",
            "ErrorBody",
        );
        add(
            op,
            "415",
            "The body is not JSON (`unsupported_media_type`)",
            "ErrorBody",
        );
    }
    // The body really sent, whatever a handler's annotation named.
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let body = match status.as_str() {
            "400" => Some("BadRequestBody"),
            "403" => Some(
                if response
                    .content
                    .values()
                    .any(|c| is_ref(c, "EscalationErrorBody"))
                {
                    "ForbiddenBody"
                } else {
                    "ErrorBody"
                },
            ),
            s if s.starts_with('4') || s.starts_with('5') => Some("ErrorBody"),
            _ => None,
        };
        if let Some(body) = body {
            response.content.clear();
            response
                .content
                .insert("application/json".to_owned(), json(body));
        }
    }
}

fn is_ref(content: &Content, name: &str) -> bool {
    matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with(&format!("/{name}")))
}

fn json(schema: &str) -> Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(schema)))
        .build()
}

/// Documents `status` unless the operation already does.
fn add(op: &mut Operation, status: &str, description: &str, body: &str) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", json(body))
                    .build(),
            )
        });
}

/// Documents `status` with `description`, or adds `description` to the
/// reasons an operation gives for it unless they mention `needle` already.
fn note(op: &mut Operation, status: &str, description: &str, needle: &str) {
    match op.responses.responses.get_mut(status) {
        Some(RefOr::T(r)) => {
            if !r.description.contains(needle) {
                let mut chars = description.chars();
                let lowered: String = chars
                    .next()
                    .map(|c| c.to_lowercase().chain(chars).collect())
                    .unwrap_or_default();
                r.description.push_str("; or ");
                r.description.push_str(&lowered);
            }
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            let body = if status == "400" {
                "BadRequestBody"
            } else {
                "ErrorBody"
            };
            add(op, status, description, body);
        }
    }
}

/// Every operation that takes a bearer token can answer 401, also for a
/// token revoked after it was issued.
fn document_unauthenticated(op: &mut Operation) {
    match op.responses.responses.get_mut("401") {
        Some(RefOr::T(r)) if r.description == "Not authenticated" => {
            r.description = UNAUTHENTICATED.to_owned();
        }
        Some(RefOr::T(r)) if !r.description.contains("revoked") => {
            r.description
                .push_str("; or an access token revoked since it was issued (`token_not_valid`)");
        }
        Some(_) => {}
        None => add(op, "401", UNAUTHENTICATED, "ErrorBody"),
    }
}

fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
    .collect()
}

fn methods(item: &PathItem) -> Vec<&'static str> {
    [
        ("get", &item.get),
        ("put", &item.put),
        ("post", &item.post),
        ("delete", &item.delete),
        ("patch", &item.patch),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_ref().map(|_| m))
    .collect()
}
