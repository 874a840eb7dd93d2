use super::error::StoreError;
use super::label::Label;

/// A failed write on its way to the caller's error: failed conditions are
/// mapped label by label, whatever is left converts with `From` (see
/// [`OnConflict`]).
#[derive(Debug)]
pub enum Failure<E> {
    Mapped(E),
    Unmapped(StoreError),
}

/// Maps a failed transaction condition to the caller's error at the call
/// site: `tx.execute().await.on_conflict(Label::Name, name_taken)?`.
/// Calls chain; the first that matches wins.
pub trait OnConflict<T, E>: Sized {
    /// `f()` when the condition of an operation labelled `label` failed.
    fn on_conflict(self, label: Label, f: impl FnOnce() -> E) -> Result<T, Failure<E>>;

    /// `f()` when any condition failed (usually: changed meanwhile).
    fn on_any_conflict(self, f: impl FnOnce() -> E) -> Result<T, Failure<E>>;
}

impl<T, E> OnConflict<T, E> for Result<T, StoreError> {
    fn on_conflict(self, label: Label, f: impl FnOnce() -> E) -> Result<T, Failure<E>> {
        self.map_err(Failure::Unmapped).on_conflict(label, f)
    }

    fn on_any_conflict(self, f: impl FnOnce() -> E) -> Result<T, Failure<E>> {
        self.map_err(Failure::Unmapped).on_any_conflict(f)
    }
}

impl<T, E> OnConflict<T, E> for Result<T, Failure<E>> {
    fn on_conflict(self, label: Label, f: impl FnOnce() -> E) -> Result<T, Failure<E>> {
        match self {
            Err(Failure::Unmapped(e)) if e.failed(label) => Err(Failure::Mapped(f())),
            other => other,
        }
    }

    fn on_any_conflict(self, f: impl FnOnce() -> E) -> Result<T, Failure<E>> {
        match self {
            Err(Failure::Unmapped(StoreError::TransactionConditionFailed(_))) => {
                Err(Failure::Mapped(f()))
            }
            other => other,
        }
    }
}

impl<E: From<StoreError>> Failure<E> {
    /// The mapped error, or the store's converted.
    pub fn into_error(self) -> E {
        match self {
            Failure::Mapped(e) => e,
            Failure::Unmapped(e) => e.into(),
        }
    }
}
