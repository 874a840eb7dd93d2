//! What permission validation reports. Below both `set` and `validate`.

use std::fmt;

use serde::{Serialize, Serializer};

pub(crate) const EXPECTED_SCOPE: &str = "expected one of own, team, all";
pub(crate) const EXPECTED_BOOL: &str = "expected true or false";

/// One problem, at a dotted JSON path (empty for the document itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionError {
    pub path: String,
    pub message: String,
}

impl PermissionError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        PermissionError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for PermissionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for PermissionError {}

/// Every problem found; never empty when returned as an error. Serialises
/// as a list of `"path: message"` strings, the shape the roles API returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.to_strings().join("; "))]
pub struct PermissionErrors(pub Vec<PermissionError>);

impl PermissionErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, PermissionError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `"path: message"` strings, e.g. `crm.leads.view: expected one of own, team, all`.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

impl From<PermissionErrors> for Vec<String> {
    fn from(errors: PermissionErrors) -> Self {
        errors.to_strings()
    }
}

impl From<PermissionError> for PermissionErrors {
    fn from(error: PermissionError) -> Self {
        PermissionErrors(vec![error])
    }
}

impl IntoIterator for PermissionErrors {
    type Item = PermissionError;
    type IntoIter = std::vec::IntoIter<PermissionError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Serialize for PermissionErrors {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(ToString::to_string))
    }
}
