//! `ApiJson<T>`: the JSON body extractor every handler uses. Unlike axum's
//! `Json`, its failures are rendered as our errors: 415 for a non-JSON
//! content type, 413 beyond the size limit, 400 `parse_error` for a body
//! that is not JSON, and otherwise 400 naming every invalid field at once,
//! like DRF: `{"email": ["This field is required."], "age": ["..."]}`.
//!
//! serde stops at the first error, so [`from_value`] deserializes the parsed
//! body repeatedly: each error is recorded under its field, the offending
//! key is removed (unknown fields) or given a placeholder that satisfies its
//! type (missing or invalid fields), and the next attempt finds the next
//! error. Every round fixes one key; the rounds are bounded by the size of
//! the body and by `MAX_ROUNDS`, and a value no placeholder satisfies (a
//! validator's own refusal) ends the search with the errors found so far.
//! Errors inside a field already reported (a placeholder `{}`'s own missing
//! fields) are not the client's and are not reported.

use super::error::{ApiError, ValidationErrors};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use serde_path_to_error::Segment;
use utoipa::openapi::{RefOr, Schema};

/// Default largest accepted request body.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// The body limit in force, set once per process by the HTTP layer.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

fn is_json(req: &Request) -> bool {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = body(req).await?;
        parse(&bytes).map(ApiJson)
    }
}

/// The request body, within the limit in force (413 beyond it).
async fn body(req: Request) -> Result<Bytes, ApiError> {
    let limit = req
        .extensions()
        .get::<BodyLimit>()
        .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit })
}

/// A JSON body that may be absent: an empty body is `T::default()`; a
/// non-empty one must be JSON (415 otherwise) within the body limit (413)
/// and is parsed like `ApiJson` (400 naming the field).
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(&req);
        let bytes = body(req).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        parse(&bytes).map(Self)
    }
}

/// A PUT body kept as JSON until the resource is loaded: the client may send
/// the resource's whole representation back, so top-level keys `T` does not
/// know are checked against it ([`Replace::against`]).
#[derive(Debug, Clone)]
pub struct Replace<T> {
    body: Value,
    _target: std::marker::PhantomData<fn() -> T>,
}

impl<S, T> FromRequest<S> for Replace<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ApiJson(body) = ApiJson::<Value>::from_request(req, state).await?;
        Ok(Self {
            body,
            _target: std::marker::PhantomData,
        })
    }
}

impl<T: DeserializeOwned> Replace<T> {
    /// Wraps an already parsed body (tests, and bodies read elsewhere).
    pub fn new(body: Value) -> Self {
        Self {
            body,
            _target: std::marker::PhantomData,
        }
    }

    /// The body as `T`. A key `T` refuses but `current` (the resource as GET
    /// shows it) has is a read-only field: ignored when equal to the current
    /// value, `"This field is read-only."` when changed.
    pub fn against(self, current: &impl Serialize) -> Result<T, ApiError> {
        let current = serde_json::to_value(current).map_err(ApiError::internal)?;
        let empty = Map::new();
        let current = current.as_object().unwrap_or(&empty);
        deserialize_all(self.body, Some(current))
    }
}

/// The schema of a PUT body that may carry the resource's representation:
/// `input`'s fields, plus the other fields of `view`, optional and marked
/// read-only. Used through [`crate::replace_body!`].
pub fn replace_schema(input: RefOr<Schema>, view: RefOr<Schema>) -> RefOr<Schema> {
    let (mut input, view) = match (input, view) {
        (RefOr::T(Schema::Object(i)), RefOr::T(Schema::Object(v))) => (i, v),
        (input, _) => return input,
    };
    let mut names = Vec::new();
    for (name, prop) in view.properties {
        if input.properties.contains_key(&name) {
            continue;
        }
        let prop = read_only(prop);
        names.push(format!("`{name}`"));
        input.properties.insert(name, prop);
    }
    let note = format!(
        "Read-only, and optional: {}. They are ignored when equal to the current value \
         (as GET shows it); a changed one is a 400 `This field is read-only.`",
        names.join(", ")
    );
    input.description = Some(match input.description.take() {
        Some(d) => format!("{d}\n\n{note}"),
        None => note,
    });
    RefOr::T(Schema::Object(input))
}

/// `prop` marked `readOnly`, so that request generators leave it out.
/// utoipa has the keyword on objects only: elsewhere it is written as an
/// extension (serialised as is), and a `$ref` is wrapped in an `allOf`.
fn read_only(prop: RefOr<Schema>) -> RefOr<Schema> {
    use utoipa::openapi::extensions::Extensions;
    use utoipa::openapi::schema::AllOfBuilder;
    fn mark(extensions: &mut Option<Extensions>) {
        extensions
            .get_or_insert_with(Extensions::default)
            .insert("readOnly".to_owned(), Value::Bool(true));
    }
    match prop {
        RefOr::T(Schema::Object(mut o)) => {
            o.read_only = Some(true);
            RefOr::T(Schema::Object(o))
        }
        RefOr::T(Schema::Array(mut a)) => {
            mark(&mut a.extensions);
            RefOr::T(Schema::Array(a))
        }
        RefOr::T(Schema::OneOf(mut o)) => {
            mark(&mut o.extensions);
            RefOr::T(Schema::OneOf(o))
        }
        RefOr::T(Schema::AnyOf(mut o)) => {
            mark(&mut o.extensions);
            RefOr::T(Schema::AnyOf(o))
        }
        RefOr::T(Schema::AllOf(mut o)) => {
            mark(&mut o.extensions);
            RefOr::T(Schema::AllOf(o))
        }
        RefOr::Ref(r) => {
            let mut all = AllOfBuilder::new().item(RefOr::Ref(r)).build();
            mark(&mut all.extensions);
            RefOr::T(Schema::AllOf(all))
        }
        other => other,
    }
}

/// Declares `$name`, the OpenAPI request body of a PUT taking `$input` and
/// accepting the rest of `$view` read-only (see [`Replace`]).
#[macro_export]
macro_rules! replace_body {
    ($(#[$meta:meta])* $vis:vis $name:ident, $input:ty, $view:ty) => {
        $(#[$meta])*
        $vis struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::http::replace_schema(
                    <$input as utoipa::PartialSchema>::schema(),
                    <$view as utoipa::PartialSchema>::schema(),
                )
            }
        }

        impl utoipa::ToSchema for $name {
            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                <$input as utoipa::ToSchema>::schemas(schemas);
                <$view as utoipa::ToSchema>::schemas(schemas);
            }
        }
    };
}

/// Parses a JSON body, naming every offending field on failure.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("JSON parse error - {e}"), "parse_error"))?;
    from_value(value)
}

/// Deserializes a parsed body, naming every offending field on failure.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    deserialize_all(value, None)
}

/// Most rounds of [`deserialize_all`]: far more fields than any body of the
/// API has.
const MAX_ROUNDS: usize = 64;

/// A location in the body: object keys and array indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `a.b[0].c`, `.` naming the body itself (as serde_path_to_error does).
fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The path of a deserialization error; `None` where a segment cannot be
/// followed back into the JSON (untagged or flattened types).
fn steps(path: &serde_path_to_error::Path) -> Option<Vec<Step>> {
    path.iter()
        .map(|s| match s {
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Enum { variant } => Some(Step::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

fn slot<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut at = value;
    for step in path {
        at = match (step, at) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Step::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(at)
}

/// The value at `path`, the last key created (null) when missing; `None`
/// when unreachable.
fn slot_or_new<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let Some((last, parent)) = path.split_last() else {
        return Some(value);
    };
    match (last, slot(value, parent)?) {
        (Step::Key(k), Value::Object(m)) => Some(m.entry(k.clone()).or_insert(Value::Null)),
        (Step::Index(i), Value::Array(a)) => a.get_mut(*i),
        _ => None,
    }
}

/// Puts back what a refused candidate replaced: the previous value, or no
/// key at all if there was none.
fn restore(value: &mut Value, path: &[Step], previous: Option<Value>) {
    match previous {
        Some(previous) => {
            if let Some(at) = slot(value, path) {
                *at = previous;
            }
        }
        None => {
            remove(value, path);
        }
    }
}

fn remove(value: &mut Value, path: &[Step]) -> bool {
    let Some((Step::Key(k), parent)) = path.split_last() else {
        return false;
    };
    match slot(value, parent) {
        Some(Value::Object(m)) => m.remove(k).is_some(),
        _ => false,
    }
}

/// One deserialization error, located.
struct Failure {
    /// The field the error belongs to (for a missing field: that field).
    path: Vec<Step>,
    kind: Kind,
}

enum Kind {
    Missing,
    Unknown,
    Invalid(String),
    /// An error no JSON location can be given for.
    Unlocated(String),
}

fn attempt<T: DeserializeOwned>(value: &Value) -> Result<T, Failure> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|err| {
        let steps = steps(err.path());
        let message = strip_position(&err.into_inner().to_string());
        let Some(mut path) = steps else {
            return Failure {
                path: Vec::new(),
                kind: Kind::Unlocated(message),
            };
        };
        // serde reports a missing field at its parent's path.
        if let Some(field) = backticked(&message, "missing field ") {
            path.push(Step::Key(field.to_owned()));
            return Failure {
                path,
                kind: Kind::Missing,
            };
        }
        // For unknown fields the path already ends with the field.
        if let Some(field) = backticked(&message, "unknown field ") {
            if path.last() != Some(&Step::Key(field.to_owned())) {
                path.push(Step::Key(field.to_owned()));
            }
            return Failure {
                path,
                kind: Kind::Unknown,
            };
        }
        if path.is_empty() {
            return Failure {
                path,
                kind: Kind::Unlocated(message),
            };
        }
        Failure {
            path,
            kind: Kind::Invalid(message),
        }
    })
}

/// Values tried in place of a missing or invalid field, in order.
fn placeholders() -> Vec<Value> {
    // Popped from the end: the commonest types first.
    vec![
        Value::String("00000000-0000-0000-0000-000000000000".into()),
        Value::Object(Map::new()),
        Value::Array(Vec::new()),
        Value::from(0),
        Value::Bool(false),
        Value::String(String::new()),
        Value::Null,
    ]
}

/// An enum's first expected variant, from serde's message.
fn variant_hint(message: &str) -> Option<Value> {
    let (_, expected) = message.split_once("expected ")?;
    expected
        .split('`')
        .nth(1)
        .map(|v| Value::String(v.to_owned()))
}

/// Gives `path` a value its type accepts; false when none does.
fn patch<T: DeserializeOwned>(value: &mut Value, path: &[Step], message: &str) -> bool {
    let mut queue = placeholders();
    queue.extend(variant_hint(message));
    let mut tried = 0;
    while let Some(candidate) = queue.pop() {
        tried += 1;
        if tried > 16 {
            break;
        }
        let existed = slot(value, path).is_some();
        let Some(at) = slot_or_new(value, path) else {
            return false;
        };
        let previous = std::mem::replace(at, candidate);
        let previous = existed.then_some(previous);
        match attempt::<T>(value) {
            Err(f) if f.path == path => {
                // An enum names its variants when refusing the candidate.
                if let Kind::Invalid(m) = &f.kind {
                    queue.extend(variant_hint(m).filter(|v| !v.as_str().unwrap_or("").is_empty()));
                }
                restore(value, path, previous);
            }
            _ => return true,
        }
    }
    false
}

fn deserialize_all<T: DeserializeOwned>(
    mut value: Value,
    current: Option<&Map<String, Value>>,
) -> Result<T, ApiError> {
    let mut errors = ValidationErrors::new();
    if !value.is_object() {
        // Every body of the API is an object, or absent where `T` is an
        // `Option`; serde would also take a struct from an array.
        if value.is_array() || attempt::<T>(&value).is_err() {
            let kind = match &value {
                Value::Array(_) => "list",
                Value::String(_) => "str",
                Value::Number(_) => "int",
                Value::Bool(_) => "bool",
                _ => "NoneType",
            };
            errors.add(
                "non_field_errors",
                format!("Invalid data. Expected a dictionary, but got {kind}."),
            );
            return Err(errors.into());
        }
    }
    // Fields already reported: errors inside them (a placeholder's own
    // missing fields) are not the client's.
    let mut reported: Vec<Vec<Step>> = Vec::new();
    // Each round costs a deserialization per placeholder tried: bounded, so
    // a huge body of invalid items cannot keep a request busy.
    let rounds = (2 * count(&value) + 16).min(MAX_ROUNDS);
    for _ in 0..rounds {
        let failure = match attempt::<T>(&value) {
            Ok(v) if errors.is_empty() => return Ok(v),
            Ok(_) => return Err(errors.into()),
            Err(f) => f,
        };
        let inside_reported = reported
            .iter()
            .any(|r| failure.path.len() > r.len() && failure.path.starts_with(r));
        let key = render(&failure.path);
        let progressed = match &failure.kind {
            Kind::Unlocated(message) => {
                errors.add("non_field_errors", invalid_body(message));
                false
            }
            Kind::Unknown => {
                let read_only = match (current, failure.path.as_slice()) {
                    (Some(current), [Step::Key(k)]) => current.get(k),
                    _ => None,
                };
                match read_only {
                    Some(now) if slot(&mut value, &failure.path).as_deref() == Some(now) => {}
                    Some(_) => errors.add(key, "This field is read-only."),
                    None if inside_reported => {}
                    None => errors.add(key, "Unknown field."),
                }
                remove(&mut value, &failure.path)
            }
            Kind::Missing => {
                if !inside_reported {
                    errors.add(key, "This field is required.");
                }
                reported.push(failure.path.clone());
                patch::<T>(&mut value, &failure.path, "")
            }
            Kind::Invalid(message) => {
                if !inside_reported && !reported.contains(&failure.path) {
                    errors.add(key, drf_message(message));
                }
                reported.push(failure.path.clone());
                patch::<T>(&mut value, &failure.path, message)
            }
        };
        if !progressed {
            break;
        }
    }
    if errors.is_empty() {
        errors.add("non_field_errors", "Invalid data.");
    }
    Err(errors.into())
}

fn count(value: &Value) -> usize {
    1 + match value {
        Value::Object(m) => m.values().map(count).sum(),
        Value::Array(a) => a.iter().map(count).sum(),
        _ => 0,
    }
}

/// JSON's name for the type of the value serde saw (`invalid type: <this>,`).
fn json_kind(message: &str) -> &'static str {
    let seen = message
        .strip_prefix("invalid type: ")
        .unwrap_or("")
        .split(',')
        .next()
        .unwrap_or("");
    match seen.split(' ').next().unwrap_or("") {
        "string" => "str",
        "integer" | "floating" => "int",
        "boolean" => "bool",
        "sequence" => "list",
        "map" => "dict",
        "null" => "NoneType",
        _ => "unknown",
    }
}

/// The body itself has the wrong shape (`[]` where an object is expected).
fn invalid_body(message: &str) -> String {
    if message.starts_with("invalid type: ") {
        format!(
            "Invalid data. Expected a dictionary, but got {}.",
            json_kind(message)
        )
    } else {
        message.to_owned()
    }
}

/// serde's messages in DRF's words, for the errors DRF has words for;
/// validators' own messages are kept.
fn drf_message(message: &str) -> String {
    if let Some(variant) = backticked(message, "unknown variant ") {
        return format!("\"{variant}\" is not a valid choice.");
    }
    if message.starts_with("UUID parsing failed") {
        return "Must be a valid UUID.".to_owned();
    }
    let Some(rest) = message.strip_prefix("invalid type: ") else {
        return message.to_owned();
    };
    if rest.starts_with("null,") {
        return "This field may not be null.".to_owned();
    }
    let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
    let integer = [
        "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize",
    ];
    if integer.contains(&expected) {
        "A valid integer is required.".to_owned()
    } else if expected == "f32" || expected == "f64" {
        "A valid number is required.".to_owned()
    } else if expected == "a boolean" {
        "Must be a valid boolean.".to_owned()
    } else if expected.contains("string") && !expected.contains("UUID") {
        "Not a valid string.".to_owned()
    } else if expected.contains("UUID") {
        "Must be a valid UUID.".to_owned()
    } else if expected.contains("sequence") {
        format!(
            "Expected a list of items but got type \"{}\".",
            json_kind(message)
        )
    } else if expected.starts_with("struct") || expected.contains("map") {
        format!(
            "Invalid data. Expected a dictionary, but got {}.",
            json_kind(message)
        )
    } else {
        message.to_owned()
    }
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

fn backticked<'a>(msg: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = msg.strip_prefix(prefix)?;
    let rest = rest.strip_prefix('`')?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Signup {
        email: String,
        age: u8,
        address: Option<Address>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Address {
        city: String,
    }

    fn body(err: ApiError) -> serde_json::Value {
        err.body()
    }

    #[test]
    fn names_the_missing_field() {
        let e = parse::<Signup>(br#"{"age": 3}"#).unwrap_err();
        assert_eq!(body(e), json!({"email": ["This field is required."]}));
        let e = parse::<Signup>(br#"{"email": "a", "age": 3, "address": {}}"#).unwrap_err();
        assert_eq!(
            body(e),
            json!({"address.city": ["This field is required."]})
        );
    }

    #[test]
    fn names_the_mistyped_field() {
        let e = parse::<Signup>(br#"{"email": "a", "age": "old"}"#).unwrap_err();
        assert_eq!(body(e), json!({"age": ["A valid integer is required."]}));
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Partial {
        name: Option<String>,
        note: Option<String>,
    }

    #[test]
    fn an_array_is_not_an_object_even_where_serde_would_take_one() {
        // serde maps `[null, null]` onto a struct's fields in order.
        let e = parse::<Partial>(b"[null, null]").unwrap_err();
        assert_eq!(
            body(e),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        );
        assert!(parse::<Option<Partial>>(b"null").unwrap().is_none());
    }

    #[test]
    fn names_unknown_fields() {
        let e = parse::<Signup>(br#"{"email": "a", "age": 1, "is_admin": true}"#).unwrap_err();
        assert_eq!(body(e), json!({"is_admin": ["Unknown field."]}));
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Cycle {
        Monthly,
        Yearly,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Plan {
        name: String,
        cycle: Cycle,
        seats: u32,
        owner: uuid::Uuid,
        tags: Vec<String>,
        note: Option<String>,
    }

    #[test]
    fn reports_every_field_at_once() {
        let e = parse::<Plan>(b"{}").unwrap_err();
        assert_eq!(
            body(e),
            json!({"name": ["This field is required."], "cycle": ["This field is required."],
                   "seats": ["This field is required."], "owner": ["This field is required."],
                   "tags": ["This field is required."]})
        );
        let e = parse::<Plan>(
            br#"{"name": 3, "cycle": "weekly", "seats": null, "owner": "x", "tags": "a", "extra": 1}"#,
        )
        .unwrap_err();
        assert_eq!(
            body(e),
            json!({"name": ["Not a valid string."], "cycle": ["\"weekly\" is not a valid choice."],
                   "seats": ["This field may not be null."], "owner": ["Must be a valid UUID."],
                   "tags": ["Expected a list of items but got type \"str\"."],
                   "extra": ["Unknown field."]})
        );
        let e = parse::<Signup>(br#"{"address": {"town": 1}}"#).unwrap_err();
        assert_eq!(
            body(e),
            json!({"email": ["This field is required."], "age": ["This field is required."],
                   "address.city": ["This field is required."]})
        );
    }

    #[test]
    fn a_missing_object_is_one_error() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            address: Address,
            n: u8,
        }
        let e = parse::<Outer>(br#"{}"#).unwrap_err();
        assert_eq!(
            body(e),
            json!({"address": ["This field is required."], "n": ["This field is required."]})
        );
    }

    #[test]
    fn a_body_that_is_no_object_is_a_non_field_error() {
        let e = parse::<Signup>(b"[1]").unwrap_err();
        assert_eq!(
            body(e),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        );
    }

    #[test]
    fn a_huge_invalid_body_is_answered_quickly() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Ids {
            ids: Vec<uuid::Uuid>,
        }
        let huge = json!({ "ids": vec!["nope"; 20_000] }).to_string();
        let started = std::time::Instant::now();
        let e = parse::<Ids>(huge.as_bytes()).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(body(e)["ids[0]"], json!(["Must be a valid UUID."]));
    }

    #[test]
    fn a_valid_body_parses() {
        let p = parse::<Plan>(
            br#"{"name": "n", "cycle": "yearly", "seats": 2, "owner": "00000000-0000-0000-0000-000000000001", "tags": []}"#,
        )
        .unwrap();
        assert_eq!(p.cycle, Cycle::Yearly);
    }

    #[test]
    fn malformed_json_is_a_parse_error() {
        for bad in [
            &br#"{"email": "#[..],
            br#"{"email": "a@example.com", "password": "#,
            br#"{"nope": 1,"#,
            b"",
        ] {
            let e = parse::<Signup>(bad).unwrap_err();
            assert_eq!(e.status(), StatusCode::BAD_REQUEST);
            let b = body(e);
            assert_eq!(b["code"], "parse_error", "{b}");
            assert!(
                b["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with("JSON parse error - "),
                "{b}"
            );
        }
    }

    #[test]
    fn replace_ignores_unchanged_read_only_fields() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Put {
            name: String,
        }
        let current = json!({"id": 7, "name": "old", "created_at": "2020-01-01T00:00:00Z"});
        let put = Replace::<Put>::new(
            json!({"id": 7, "name": "new", "created_at": "2020-01-01T00:00:00Z"}),
        )
        .against(&current)
        .unwrap();
        assert_eq!(put.name, "new");
        let e = Replace::<Put>::new(json!({"id": 8, "name": "new", "bogus": 1}))
            .against(&current)
            .unwrap_err();
        assert_eq!(
            body(e),
            json!({"id": ["This field is read-only."], "bogus": ["Unknown field."]})
        );
        let e = Replace::<Put>::new(json!({"id": 7}))
            .against(&current)
            .unwrap_err();
        assert_eq!(body(e), json!({"name": ["This field is required."]}));
    }

    async fn extract(
        ct: Option<&str>,
        payload: &'static str,
        limit: usize,
    ) -> Result<Signup, ApiError> {
        let mut req = Request::builder().method("POST").uri("/");
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let mut req = req.body(Body::from(payload)).unwrap();
        req.extensions_mut().insert(BodyLimit(limit));
        ApiJson::<Signup>::from_request(req, &()).await.map(|j| j.0)
    }

    #[tokio::test]
    async fn checks_content_type_and_size() {
        let ok = r#"{"email": "a@b.c", "age": 30}"#;
        assert!(extract(Some("application/json; charset=utf-8"), ok, 1024)
            .await
            .is_ok());
        assert!(matches!(
            extract(Some("text/plain"), ok, 1024).await,
            Err(ApiError::UnsupportedMediaType)
        ));
        assert!(matches!(
            extract(None, ok, 1024).await,
            Err(ApiError::UnsupportedMediaType)
        ));
        assert!(matches!(
            extract(Some("application/json"), ok, 10).await,
            Err(ApiError::PayloadTooLarge { limit: 10 })
        ));
    }
}
