use super::error::ApiError;
use crate::store::Failure;

/// Lets a handler end `.on_conflict(..)` with `?`.
impl From<Failure<ApiError>> for ApiError {
    fn from(failure: Failure<ApiError>) -> Self {
        failure.into_error()
    }
}
