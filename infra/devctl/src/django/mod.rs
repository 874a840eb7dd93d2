//! `devctl import-django`: brings a `manage.py dumpdata accounts tenants
//! billing` export of the Django original into the platform, ids kept.
//!
//! [`dump`] reads the export, [`map`] turns it into the platform's records
//! (pure; every loss goes into the [`Report`]), [`apply`] checks the
//! platform for clashing claims and writes through `shared::store`.
//! Passwords keep their Django hashes; login verifies them and replaces
//! them with argon2id (`shared::auth`). See docs/migrating-from-django.md.

pub mod apply;
pub mod dump;
pub mod map;
pub mod report;

pub use apply::Tally;
pub use map::Options;
pub use report::Report;

use shared::store::{Store, StoreError};
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Dump(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a run found, and (unless a dry run or blocked) what it wrote.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    /// `None`: nothing was written (a dry run, or the report blocks).
    pub tally: Option<Tally>,
}

/// Maps `text` (the dump), checks it against the platform and, unless
/// `dry_run` or the report blocks, writes it.
pub async fn import(
    store: &Store,
    text: &str,
    options: Options,
    dry_run: bool,
    now: OffsetDateTime,
) -> Result<Outcome, ImportError> {
    let entries = dump::parse(text).map_err(ImportError::Dump)?;
    let mut mapped = map::map(&entries, options);
    let mut report = std::mem::take(&mut mapped.report);
    apply::check(store, &mapped, &mut report).await?;
    mapped.report = report;
    if dry_run || mapped.report.blocks() {
        return Ok(Outcome {
            report: mapped.report,
            tally: None,
        });
    }
    let tally = apply::write(store, &mapped, now).await?;
    Ok(Outcome {
        report: mapped.report,
        tally: Some(tally),
    })
}
