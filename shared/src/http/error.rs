//! One error type for every handler, rendered in Django REST Framework's
//! shape because the platform's existing frontends already parse it:
//! `{"detail": "...", "code": "..."}` for general errors and
//! `{"<field>": ["message", ...]}` for validation errors.

use crate::permissions::{Module, PermissionDenied};
use crate::report::ErrorChain;
use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Field-level validation errors: field name → messages.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ValidationErrors(BTreeMap<String, Vec<String>>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Errors with a single message on one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(field, message);
        e
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was added, the collected errors otherwise.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self))
        }
    }

    pub fn fields(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// Every failure a handler can answer with. Each variant has one status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: one or more fields are invalid.
    #[error("validation failed")]
    Validation(ValidationErrors),
    /// 400: the request as a whole is malformed.
    #[error("{detail}")]
    BadRequest { detail: String, code: &'static str },
    /// 401: no valid credentials were presented.
    #[error("{detail}")]
    Unauthorized { detail: String, code: &'static str },
    /// 403: authenticated, but not allowed.
    #[error("{detail}")]
    Forbidden {
        detail: String,
        code: &'static str,
        permission: Option<String>,
    },
    /// 403 `email_not_verified`: the organisation lets only users with a
    /// verified email sign in; `resend` is the path that mails a new link.
    #[error("{detail}")]
    EmailNotVerified {
        detail: String,
        resend: &'static str,
    },
    /// 403 `permission_denied` from the permission engine: names the
    /// permission and, for a scope action, the scope `required` and `held`.
    #[error("{}", .0.detail)]
    Denied(PermissionDenied),
    /// 403 `module_disabled`: the tenant does not have the module (now,
    /// whatever an older token says).
    #[error("module {module} disabled")]
    ModuleDisabled { module: Module },
    /// 403: the change would hand out grants beyond the caller's own.
    #[error("{detail}")]
    Escalation {
        detail: String,
        /// The permission keys beyond the caller's grants.
        exceeding: Vec<String>,
    },
    /// 404: absent, or belonging to another tenant (never told apart).
    #[error("not found")]
    NotFound,
    /// 404: no endpoint has this path.
    #[error("no route")]
    NoRoute,
    /// 404 with its own explanation: a cursor that was altered or belongs
    /// to another query (as DRF's cursor paginator answers), or a thing the
    /// request names inside a found resource that is not there.
    #[error("{detail}")]
    NotFoundBecause { detail: String },
    /// 405: the path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the write lost a race or conflicts with the current state.
    #[error("{detail}")]
    Conflict { detail: String, code: &'static str },
    /// 413: the body exceeds the configured limit.
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    /// 415: the body is not JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 429: throttled; retry after the given seconds.
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// 503: a dependency (DynamoDB) is unreachable or throttling. The cause
    /// is logged, as for a 500, and never sent.
    #[error("service unavailable")]
    ServiceUnavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// 500: a bug or an unexpected dependency failure. The cause (and its
    /// own causes) is logged once, when the response is made, and never
    /// sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn bad_request(detail: impl Into<String>, code: &'static str) -> Self {
        Self::BadRequest {
            detail: detail.into(),
            code,
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::Unauthorized {
            detail: detail.into(),
            code: "not_authenticated",
        }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden {
            detail: detail.into(),
            code: "permission_denied",
            permission: None,
        }
    }

    /// 403 `permission_escalation`, naming the keys beyond the caller's grants.
    pub fn escalation(
        detail: impl Into<String>,
        exceeding: impl IntoIterator<Item = crate::permissions::PermissionKey>,
    ) -> Self {
        Self::Escalation {
            detail: detail.into(),
            exceeding: exceeding.into_iter().map(|k| k.to_string()).collect(),
        }
    }

    /// 404 `not_found` with `detail` saying what is missing.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::NotFoundBecause {
            detail: detail.into(),
        }
    }

    pub fn conflict(detail: impl Into<String>, code: &'static str) -> Self {
        Self::Conflict {
            detail: detail.into(),
            code,
        }
    }

    /// 409 `conflict`: the items changed between the read and the write.
    fn lost_race() -> Self {
        Self::conflict(
            "The resource was changed by another request; reload and try again.",
            "conflict",
        )
    }

    /// 500 caused by `err`: an error (kept whole, as the source) or a
    /// message saying which invariant broke.
    pub fn internal(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(err.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. }
            | Self::EmailNotVerified { .. }
            | Self::Denied(_)
            | Self::ModuleDisabled { .. }
            | Self::Escalation { .. } => StatusCode::FORBIDDEN,
            Self::NotFound | Self::NoRoute | Self::NotFoundBecause { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body sent to the client.
    pub fn body(&self) -> Value {
        fn detail(detail: &str, code: &str) -> Value {
            json!({ "detail": detail, "code": code })
        }
        match self {
            Self::Validation(errors) => {
                let map: Map<String, Value> = errors
                    .0
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                Value::Object(map)
            }
            Self::BadRequest { detail: d, code } | Self::Unauthorized { detail: d, code } => {
                detail(d, code)
            }
            Self::Conflict { detail: d, code } => detail(d, code),
            Self::Forbidden {
                detail: d,
                code,
                permission,
            } => {
                let mut body = detail(d, code);
                if let Some(p) = permission {
                    body["permission"] = json!(p);
                }
                body
            }
            Self::EmailNotVerified { detail: d, resend } => {
                let mut body = detail(d, "email_not_verified");
                body["resend"] = json!(resend);
                body
            }
            Self::Denied(denied) => {
                let mut body = detail(&denied.detail, PermissionDenied::CODE);
                body["permission"] = json!(denied.permission);
                if let Some(required) = denied.required {
                    body["required"] = json!(required);
                    body["held"] = json!(denied.held);
                }
                body
            }
            Self::ModuleDisabled { module } => {
                let mut body = detail(
                    &format!(
                        "The {} module is not enabled for this organisation.",
                        module.def().label
                    ),
                    "module_disabled",
                );
                body["module"] = json!(module);
                body
            }
            Self::Escalation {
                detail: d,
                exceeding,
            } => {
                let mut body = detail(d, "permission_escalation");
                body["exceeding"] = json!(exceeding);
                body
            }
            Self::NotFound => detail("Not found.", "not_found"),
            // DRF's answer to an unknown URL too.
            Self::NoRoute => detail("Not found.", "not_found"),
            Self::NotFoundBecause { detail: d } => detail(d, "not_found"),
            Self::MethodNotAllowed => detail("Method not allowed.", "method_not_allowed"),
            Self::PayloadTooLarge { limit } => detail(
                &format!("Request body exceeds {limit} bytes."),
                "payload_too_large",
            ),
            Self::UnsupportedMediaType => detail(
                "Unsupported media type; send application/json.",
                "unsupported_media_type",
            ),
            Self::TooManyRequests { retry_after_secs } => detail(
                &format!(
                    "Request was throttled. Expected available in {retry_after_secs} seconds."
                ),
                "throttled",
            ),
            Self::ServiceUnavailable(_) => detail(
                "The service is temporarily unavailable; try again shortly.",
                "service_unavailable",
            ),
            Self::Internal(_) => detail("A server error occurred.", "internal_error"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Logged inside the request span, so the line carries the request id.
        match &self {
            Self::Internal(cause) => {
                tracing::error!(error = ?ErrorChain(cause.as_ref()), "internal error")
            }
            Self::ServiceUnavailable(cause) => {
                tracing::warn!(error = ?ErrorChain(cause.as_ref()), "dependency unavailable")
            }
            _ => {}
        }
        let mut response = (status, Json(self.body())).into_response();
        if let Self::TooManyRequests { retry_after_secs } = self {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        Self::Validation(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidCursor => Self::not_found("Invalid cursor"),
            // A condition no handler mapped failed at the write: the items
            // changed after they were read (a race lost). Logged, in case
            // one ever fails for another reason.
            StoreError::TransactionConditionFailed(labels) => {
                tracing::warn!(?labels, "transaction conditions failed: answered 409");
                Self::lost_race()
            }
            StoreError::ConditionFailed | StoreError::TransactionConflict => Self::lost_race(),
            unavailable @ StoreError::Unavailable(_) => {
                Self::ServiceUnavailable(unavailable.into())
            }
            other => Self::internal(other),
        }
    }
}

impl From<PermissionDenied> for ApiError {
    fn from(e: PermissionDenied) -> Self {
        Self::Denied(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::Scope;
    use http_body_util::BodyExt;

    async fn render(e: ApiError) -> (StatusCode, Value, Option<String>) {
        let r = e.into_response();
        let status = r.status();
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap(), retry)
    }

    #[tokio::test]
    async fn validation_errors_use_the_field_shape() {
        let mut e = ValidationErrors::new();
        e.add("email", "Enter a valid email address.");
        e.add("email", "This email is already registered.");
        e.add("password", "Too short.");
        let (status, body, _) = render(e.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            json!({"email": ["Enter a valid email address.", "This email is already registered."],
                   "password": ["Too short."]})
        );
    }

    #[tokio::test]
    async fn general_errors_use_detail_and_code() {
        let (s, b, _) = render(ApiError::NotFound).await;
        assert_eq!(
            (s, b),
            (
                StatusCode::NOT_FOUND,
                json!({"detail": "Not found.", "code": "not_found"})
            )
        );
        let (s, b, _) = render(ApiError::unauthorized("Token is invalid")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(b["code"], "not_authenticated");
    }

    #[tokio::test]
    async fn internals_never_leak() {
        let (s, b, _) = render(ApiError::internal("connection string postgres://secret")).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!b.to_string().contains("secret"));
        let (s, b, _) =
            render(StoreError::Unavailable("dispatch failure at 10.0.0.1".into()).into()).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(b["code"], "service_unavailable");
        assert!(!b.to_string().contains("10.0.0.1"));
    }

    #[test]
    fn a_503_keeps_its_cause() {
        use std::error::Error;
        let e: ApiError = StoreError::Unavailable("dispatch failure at 10.0.0.1".into()).into();
        let store = e.source().expect("the store error");
        assert!(store.to_string().contains("DynamoDB unavailable"));
        let cause = store.source().expect("the SDK's error");
        assert_eq!(cause.to_string(), "dispatch failure at 10.0.0.1");
    }

    #[tokio::test]
    async fn throttling_sets_retry_after() {
        let (s, b, retry) = render(ApiError::TooManyRequests {
            retry_after_secs: 42,
        })
        .await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(b["code"], "throttled");
        assert_eq!(retry.as_deref(), Some("42"));
    }

    #[tokio::test]
    async fn permission_denials_name_the_permission() {
        let denied = PermissionDenied {
            permission: "administration.users.view".into(),
            detail: "No.".into(),
            required: None,
            held: None,
        };
        let (s, b, _) = render(denied.into()).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(
            b,
            json!({"detail": "No.", "code": "permission_denied", "permission": "administration.users.view"})
        );
        let scoped = PermissionDenied {
            permission: "crm.leads.edit".into(),
            detail: "No.".into(),
            required: Some(Scope::Team),
            held: Some(Scope::Own),
        };
        let (_, b, _) = render(scoped.into()).await;
        assert_eq!(
            b,
            json!({"detail": "No.", "code": "permission_denied", "permission": "crm.leads.edit",
                   "required": "team", "held": "own"})
        );
        let (s, b, _) = render(ApiError::ModuleDisabled {
            module: Module::Crm,
        })
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(b["code"], "module_disabled");
        assert_eq!(b["module"], "crm");
    }

    #[tokio::test]
    async fn escalations_list_the_exceeding_keys() {
        let e = ApiError::escalation(
            "Beyond your own permissions.",
            [crate::permissions::actions::CRM_LEADS_DELETE],
        );
        let (s, b, _) = render(e).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(
            b,
            json!({"detail": "Beyond your own permissions.", "code": "permission_escalation",
                   "exceeding": ["crm.leads.delete"]})
        );
    }

    #[tokio::test]
    async fn store_errors_map_to_statuses() {
        let cursor = ApiError::from(StoreError::InvalidCursor);
        assert_eq!(cursor.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            cursor.body(),
            json!({"detail": "Invalid cursor", "code": "not_found"})
        );
        assert_eq!(
            ApiError::from(StoreError::ConditionFailed).status(),
            StatusCode::CONFLICT
        );
        for lost_race in [
            StoreError::TransactionConflict,
            StoreError::TransactionConditionFailed(vec![crate::store::Label::Tenant]),
        ] {
            let e = ApiError::from(lost_race);
            assert_eq!(e.status(), StatusCode::CONFLICT);
            assert_eq!(e.body()["code"], "conflict");
        }
        assert_eq!(
            ApiError::from(StoreError::Backend("x".into())).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[tokio::test]
    async fn a_500_keeps_its_cause_chain_and_sends_none_of_it() {
        use aws_sdk_dynamodb::config::http::HttpResponse;
        use aws_sdk_dynamodb::error::SdkError;
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        use std::error::Error;

        let io = std::io::Error::other("socket to 10.0.0.1 closed");
        let sdk = SdkError::<GetItemError, HttpResponse>::construction_failure(io);
        let e = ApiError::from(StoreError::Backend(Box::new(sdk)));

        let store = e.source().expect("the store error");
        assert!(matches!(
            store.downcast_ref::<StoreError>(),
            Some(StoreError::Backend(_))
        ));
        let sdk = store.source().expect("the SDK error");
        assert!(sdk.is::<SdkError<GetItemError, HttpResponse>>());
        let io = sdk.source().expect("the IO error");
        assert_eq!(io.to_string(), "socket to 10.0.0.1 closed");
        // What the log line says: every link, each once.
        let logged = ErrorChain(&e).to_string();
        assert!(
            logged.starts_with("internal error: DynamoDB error: "),
            "{logged}"
        );
        assert_eq!(logged.matches("10.0.0.1").count(), 1, "{logged}");

        let (s, b, _) = render(e).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            b,
            json!({"detail": "A server error occurred.", "code": "internal_error"})
        );
    }
}
