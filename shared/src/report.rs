//! How an error and its causes are written to the log: errors hold their
//! cause as `source()` rather than in their message, so a log line walks
//! the chain to say everything that went wrong.

use std::error::Error;
use std::fmt;

/// An error and every `source()` below it, joined by `: `
/// (`DynamoDB error: service error: ValidationException: ...`). Both
/// `{}` and `{:?}` print the chain, so `error = ?ErrorChain(&e)` and
/// `error = %ErrorChain(&e)` log the same line.
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn prints_every_cause() {
        let e = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(ErrorChain(&e).to_string(), "outer: disk on fire");
        assert_eq!(format!("{:?}", ErrorChain(&e)), "outer: disk on fire");
    }
}
