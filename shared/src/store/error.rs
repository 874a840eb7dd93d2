use super::label::Label;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// Failures of the store, in terms callers can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A write's condition did not hold: the item exists, is missing, or
    /// changed since it was read.
    #[error("the write's condition did not hold")]
    ConditionFailed,
    /// A transaction was cancelled because the conditions of the labelled
    /// operations did not hold.
    #[error("transaction cancelled by conditions of {0:?}")]
    TransactionConditionFailed(Vec<Label>),
    /// Another transaction touched the same items at the same moment.
    #[error("concurrent transaction on the same items")]
    TransactionConflict,
    #[error("invalid cursor")]
    InvalidCursor,
    /// DynamoDB could not be reached or is throttling: worth a retry later.
    /// The SDK's error (or what was left undone) is the source.
    #[error("DynamoDB unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("item (de)serialisation failed")]
    Serde(#[from] serde_dynamo::Error),
    /// An answer's JSON text that did not decode (store/capture.rs).
    #[error("item decoding failed")]
    Decode(#[source] serde_json::Error),
    /// Anything else: the SDK's error, a request that would not build, or
    /// a broken invariant (a plain message). The cause is the source, not
    /// part of the message, so logs print it once (`report::ErrorChain`).
    #[error("DynamoDB error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Whether this is a transaction whose operation labelled `label` had
    /// its condition fail.
    pub fn failed(&self, label: Label) -> bool {
        matches!(self, Self::TransactionConditionFailed(labels) if labels.contains(&label))
    }
}

impl From<super::cursor::InvalidCursor> for StoreError {
    fn from(_: super::cursor::InvalidCursor) -> Self {
        Self::InvalidCursor
    }
}

const RETRYABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Sorts SDK failures into "unavailable" (network, timeouts, throttling)
/// and everything else; conditional failures are handled by the caller.
pub(crate) fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(Box::new(err))
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            if RETRYABLE_CODES.contains(&code) {
                StoreError::Unavailable(Box::new(err))
            } else {
                StoreError::Backend(Box::new(err))
            }
        }
        _ => StoreError::Backend(Box::new(err)),
    }
}

pub(crate) fn is_conditional_failure<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    matches!(err, SdkError::ServiceError(s) if s.err().code() == Some("ConditionalCheckFailedException"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use std::error::Error;

    #[test]
    fn backend_errors_keep_the_sdk_error_as_source() {
        let io = std::io::Error::other("no credentials");
        let e = classify(SdkError::<GetItemError, HttpResponse>::construction_failure(io));
        assert!(matches!(e, StoreError::Backend(_)), "{e:?}");
        let sdk = e.source().expect("the SDK error");
        assert!(sdk.is::<SdkError<GetItemError, HttpResponse>>());
        assert_eq!(
            sdk.source().map(ToString::to_string).as_deref(),
            Some("no credentials")
        );
    }
}
