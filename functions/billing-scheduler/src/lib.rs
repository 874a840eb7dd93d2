//! The billing scheduler: one tick, run hourly by an EventBridge schedule
//! (or once by hand with `--once`), moves every due subscription forward:
//! trial end (first invoice), renewal (next period's invoice), grace over
//! (past due), lapse (expired), cancellation at the period end.
//!
//! # A tick
//!
//! For the main table, then every dedicated table
//! (`PlatformStore::dedicated_tables`, GSI3 `DEDICATEDTABLES`):
//!
//! 1. page through the table's GSI3 `BILLINGDUE` entries with
//!    `GSI3SK <= <now>#~` (`PlatformStore::billing_due`): only the
//!    subscriptions whose `next_action_at` has come, soonest first, never a
//!    scan;
//! 2. for each, call [`billing_store::advance_once`] until it answers
//!    [`Step::Idle`] (at most [`billing::MAX_STEPS_PER_RUN`] applied steps).
//!    Each step re-reads the subscription (strongly consistent, the index is
//!    not) and writes the transition in one transaction conditioned on the
//!    record's `version`;
//! 3. a [`InvoicingError::Conflict`] means another copy of the scheduler (or
//!    an API call) changed the record meanwhile: the next step re-reads and
//!    carries on from what that writer left, usually finding nothing to do;
//! 4. any other error is recorded for that tenant and the tick goes on with
//!    the others: one bad tenant never stops the run. It stays in the index
//!    at its old time, so the next tick tries again.
//!
//! # Idempotency
//!
//! Every write is conditioned on the version read, and the lifecycle never
//! repeats a step on the record it produced at the same `now`, so running
//! two ticks at once, re-running a tick, or retrying a failed invocation
//! issues no second invoice and applies no transition twice. Invoice
//! numbers come from the year's counter, advanced in the transaction that
//! writes the invoice (gap-free, see [`billing_store::issue`]).
//!
//! # Concurrency
//!
//! Subscriptions are advanced by tokio tasks, at most
//! [`DEFAULT_CONCURRENCY`] (8) in flight (a `JoinSet`). Sequentially, each
//! subscription costs 2–6 DynamoDB round trips, so a busy hour (the first
//! of a month, thousands of renewals) would take minutes; a few in flight
//! cut that by the same factor. The bound stays small because every
//! issuance contends on the one invoice counter of the year (each lost race
//! is a retry), and to keep DynamoDB's burst modest.

use serde::Serialize;
use shared::billing::{self, BillingPolicy};
use shared::billing_store::{self, InvoicingError, Step};
use shared::report::ErrorChain;
use shared::store::{PageRequest, Store, StoreError, TenantScope};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::task::{Id, JoinSet};
use tracing::Instrument;
use uuid::Uuid;

/// Subscriptions advanced at once by [`tick`].
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Due subscriptions read per index query.
const PAGE_SIZE: u16 = 100;

/// Conflicts tolerated on one subscription in one tick before it is left
/// for the next (each means another writer moved it forward).
const MAX_CONFLICTS: usize = 8;

/// Time kept in reserve before the Lambda deadline: no new work starts
/// after it, so the steps in flight can finish. At most a fifth of the
/// time left, so that a short timeout still gets work done.
const DEADLINE_MARGIN: Duration = Duration::from_secs(20);

/// How a tick runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Subscriptions advanced at once (at least 1).
    pub concurrency: usize,
    /// No new subscription is started after this instant (what is left
    /// stays due for the next tick).
    pub deadline: Option<Instant>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            deadline: None,
        }
    }
}

impl Options {
    /// The default options, stopping a margin before `deadline` (the Lambda
    /// invocation's): [`DEADLINE_MARGIN`], or a fifth of the time left if
    /// that is less. A deadline already past when the invocation starts is
    /// no real one (`cargo lambda watch` sends a duration, not a time) and
    /// is ignored.
    pub fn until(deadline: SystemTime) -> Self {
        let Ok(left) = deadline.duration_since(SystemTime::now()) else {
            return Self::default();
        };
        let margin = DEADLINE_MARGIN.min(left / 5);
        Self {
            deadline: Some(Instant::now() + (left - margin)),
            ..Self::default()
        }
    }
}

/// What a tick did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The instant the tick acted at.
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    /// Tables whose due subscriptions were listed, main table first.
    pub tables_visited: Vec<String>,
    /// Due subscriptions looked at (index entries at or before `now`).
    pub subscriptions_examined: u64,
    /// Transitions applied, by audit action (`subscription.invoice`,
    /// `subscription.past_due`, `subscription.expire`,
    /// `subscription.cancelled`).
    pub transitions: BTreeMap<String, u64>,
    /// Numbers of the invoices issued, sorted.
    pub invoices_issued: Vec<String>,
    /// Writes that lost to another writer (and were re-read).
    pub conflicts: u64,
    /// Subscriptions that could not be advanced; retried next tick.
    pub errors: Vec<TenantFailure>,
    /// Tables (or the list of dedicated tables) that could not be read.
    pub table_errors: Vec<TableFailure>,
    /// The deadline came before every due subscription was started.
    pub stopped_early: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantFailure {
    pub tenant_id: Uuid,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableFailure {
    pub table: String,
    pub message: String,
}

impl Report {
    fn new(now: OffsetDateTime) -> Self {
        Self {
            now,
            tables_visited: Vec::new(),
            subscriptions_examined: 0,
            transitions: BTreeMap::new(),
            invoices_issued: Vec::new(),
            conflicts: 0,
            errors: Vec::new(),
            table_errors: Vec::new(),
            stopped_early: false,
        }
    }

    /// Every transition applied, whatever its kind.
    pub fn transitions_total(&self) -> u64 {
        self.transitions.values().sum()
    }

    fn merge(&mut self, outcome: Outcome) {
        for action in outcome.actions {
            *self.transitions.entry(action.to_owned()).or_default() += 1;
        }
        self.invoices_issued.extend(outcome.invoices);
        self.conflicts += outcome.conflicts;
        if let Some(message) = outcome.error {
            self.errors.push(TenantFailure {
                tenant_id: outcome.tenant_id,
                message,
            });
        }
    }
}

/// The tick could not run at all: the main table's due subscriptions could
/// not be listed (DynamoDB unreachable, or a wrong table). Failing the
/// invocation gets it retried; tenant and dedicated-table failures do not
/// fail the tick, they are in the [`Report`].
#[derive(Debug, thiserror::Error)]
pub enum TickError {
    #[error("the main table's due subscriptions could not be listed")]
    MainTable(#[source] StoreError),
}

/// One tick at `now` with the [`Options::default`]: every subscription due
/// by `now`, in every table, moved as far as it goes.
pub async fn tick(
    store: &Store,
    policy: &BillingPolicy,
    now: OffsetDateTime,
) -> Result<Report, TickError> {
    tick_with(store, policy, now, &Options::default()).await
}

/// [`tick`] with explicit concurrency and deadline.
pub async fn tick_with(
    store: &Store,
    policy: &BillingPolicy,
    now: OffsetDateTime,
    options: &Options,
) -> Result<Report, TickError> {
    let span = tracing::info_span!("billing_tick", now = %rfc3339(now));
    async move {
        let mut run = Run::new(store, *policy, now, options);
        let main = store.table_name().to_owned();
        if let Err(e) = run.visit(None).await {
            if run.report.tables_visited.is_empty() {
                run.drain().await;
                tracing::error!(error = %ErrorChain(&e), table = %main, "billing tick failed: due subscriptions not listed");
                return Err(TickError::MainTable(e));
            }
            run.table_failed(&main, "could not list the due subscriptions", &e);
        }
        if !run.past_deadline() {
            match store.platform().dedicated_tables().await {
                Ok(tables) => {
                    for table in tables {
                        if let Err(e) = run.visit(Some(&table)).await {
                            run.table_failed(&table, "could not list the due subscriptions", &e);
                        }
                    }
                }
                Err(e) => run.table_failed(&main, "could not list the dedicated tables", &e),
            }
        }
        run.drain().await;
        let mut report = run.report;
        report.invoices_issued.sort();
        tracing::info!(
            tables = report.tables_visited.len(),
            examined = report.subscriptions_examined,
            transitions = report.transitions_total(),
            invoices = report.invoices_issued.len(),
            conflicts = report.conflicts,
            errors = report.errors.len() + report.table_errors.len(),
            stopped_early = report.stopped_early,
            "billing tick done"
        );
        Ok(report)
    }
    .instrument(span)
    .await
}

/// One tick's state: the report so far and the subscriptions in flight.
struct Run<'a> {
    store: &'a Store,
    policy: BillingPolicy,
    now: OffsetDateTime,
    concurrency: usize,
    deadline: Option<Instant>,
    report: Report,
    tasks: JoinSet<Outcome>,
    /// Which tenant each task works on, to name it if the task panics.
    tenants: HashMap<Id, Uuid>,
}

impl<'a> Run<'a> {
    fn new(
        store: &'a Store,
        policy: BillingPolicy,
        now: OffsetDateTime,
        options: &Options,
    ) -> Self {
        Self {
            store,
            policy,
            now,
            concurrency: options.concurrency.max(1),
            deadline: options.deadline,
            report: Report::new(now),
            tasks: JoinSet::new(),
            tenants: HashMap::new(),
        }
    }

    fn past_deadline(&mut self) -> bool {
        let past = self.deadline.is_some_and(|d| Instant::now() >= d);
        if past && !self.report.stopped_early {
            tracing::warn!(
                "deadline reached: the remaining due subscriptions wait for the next tick"
            );
            self.report.stopped_early = true;
        }
        past
    }

    /// Lists one table's due subscriptions page by page and starts each.
    /// The next page is read while the previous one's are still in flight:
    /// the cursor is a position in the index, and a subscription advanced
    /// meanwhile moves past `now` (or out of the index), never back.
    async fn visit(&mut self, table: Option<&str>) -> Result<(), StoreError> {
        let name = table.unwrap_or(self.store.table_name()).to_owned();
        let mut cursor = None;
        loop {
            if self.past_deadline() {
                return Ok(());
            }
            let page = PageRequest::new(PAGE_SIZE, cursor.take(), "billing-scheduler");
            let due = self
                .store
                .platform()
                .billing_due(table, self.now, &page)
                .await?;
            if self.report.tables_visited.last() != Some(&name) {
                self.report.tables_visited.push(name.clone());
            }
            tracing::debug!(table = %name, due = due.items.len(), "due subscriptions listed");
            for (scope, _) in due.items {
                if self.past_deadline() {
                    return Ok(());
                }
                self.report.subscriptions_examined += 1;
                self.start(scope).await;
            }
            match due.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Starts advancing one subscription once fewer than `concurrency` are
    /// in flight.
    async fn start(&mut self, scope: TenantScope) {
        while self.tasks.len() >= self.concurrency {
            self.collect_one().await;
        }
        let tenant_id = scope.tenant_id();
        let span = tracing::info_span!("subscription", tenant_id = %tenant_id, table = scope.table().unwrap_or("main"));
        let (store, policy, now) = (self.store.clone(), self.policy, self.now);
        let handle = self
            .tasks
            .spawn(async move { advance(&store, &scope, &policy, now).await }.instrument(span));
        self.tenants.insert(handle.id(), tenant_id);
    }

    /// Waits for one subscription in flight; false if none was.
    async fn collect_one(&mut self) -> bool {
        match self.tasks.join_next_with_id().await {
            None => false,
            Some(Ok((id, outcome))) => {
                self.tenants.remove(&id);
                self.report.merge(outcome);
                true
            }
            Some(Err(e)) => {
                let tenant_id = self.tenants.remove(&e.id()).unwrap_or_default();
                tracing::error!(tenant_id = %tenant_id, error = %e, "advancing a subscription panicked");
                self.report.errors.push(TenantFailure {
                    tenant_id,
                    message: "the scheduler failed on this subscription".into(),
                });
                true
            }
        }
    }

    async fn drain(&mut self) {
        while self.collect_one().await {}
    }

    fn table_failed(&mut self, table: &str, message: &str, error: &StoreError) {
        tracing::error!(table = %table, error = %ErrorChain(error), "{message}");
        self.report.table_errors.push(TableFailure {
            table: table.to_owned(),
            message: message.to_owned(),
        });
    }
}

/// What advancing one subscription did.
#[derive(Debug)]
struct Outcome {
    tenant_id: Uuid,
    actions: Vec<&'static str>,
    invoices: Vec<String>,
    conflicts: u64,
    error: Option<String>,
}

/// Steps one subscription until nothing more is due at `now`.
async fn advance(
    store: &Store,
    scope: &TenantScope,
    policy: &BillingPolicy,
    now: OffsetDateTime,
) -> Outcome {
    let mut outcome = Outcome {
        tenant_id: scope.tenant_id(),
        actions: Vec::new(),
        invoices: Vec::new(),
        conflicts: 0,
        error: None,
    };
    let mut conflicts = 0;
    loop {
        if outcome.actions.len() >= billing::MAX_STEPS_PER_RUN {
            tracing::error!(
                steps = outcome.actions.len(),
                "subscription still due after the most steps a run applies"
            );
            outcome.error = Some(format!(
                "still due after {} steps; left for the next run",
                billing::MAX_STEPS_PER_RUN
            ));
            return outcome;
        }
        match billing_store::advance_once(store, scope, policy, now).await {
            Ok(Step::Idle) => return outcome,
            Ok(Step::Applied { action, invoice }) => {
                let number = invoice.map(|i| i.invoice_number);
                tracing::info!(action, invoice = number.as_deref(), "subscription advanced");
                outcome.actions.push(action);
                outcome.invoices.extend(number);
            }
            Err(InvoicingError::Conflict) => {
                // Another writer moved it; the next step re-reads its result.
                conflicts += 1;
                outcome.conflicts += 1;
                tracing::debug!(conflicts, "subscription changed concurrently; re-reading");
                if conflicts > MAX_CONFLICTS {
                    tracing::warn!(
                        conflicts,
                        "subscription kept changing; left for the next run"
                    );
                    outcome.error =
                        Some("kept changing concurrently; left for the next run".into());
                    return outcome;
                }
            }
            Err(e) => {
                tracing::error!(error = %ErrorChain(&e), detail = ?e, "subscription not advanced");
                outcome.error = Some(public_message(&e));
                return outcome;
            }
        }
    }
}

/// A failure as the report states it: what went wrong, without internals
/// (those are in the log line, next to the tenant id).
fn public_message(e: &InvoicingError) -> String {
    match e {
        InvoicingError::Rule(rule) => rule.to_string(),
        InvoicingError::Store(_) => "the table could not be read or written".into(),
        InvoicingError::NotFound => "the subscription was not found".into(),
        InvoicingError::Conflict => "changed concurrently".into(),
        InvoicingError::Busy => "the invoice counter stayed contended".into(),
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// What the binary was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Serve scheduled events on the Lambda runtime (no arguments).
    Lambda,
    /// One tick, now or at a simulated instant, printing the report.
    Once {
        at: Option<OffsetDateTime>,
    },
    Help,
}

pub const USAGE: &str = "\
usage: billing-scheduler               serve EventBridge scheduled events (AWS Lambda)
       billing-scheduler --once [--at <RFC 3339 time>]
                                       one tick now (or as if at that time), report as JSON

Settings come from the environment (TABLE_NAME, DYNAMODB_ENDPOINT, LOCAL_DEV,
BILLING_GRACE_DAYS, BILLING_EXPIRE_AFTER_DAYS, ...).";

/// Parses the command line (without the program name).
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Mode, String> {
    let mut once = false;
    let mut at = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--once" => {
                once = true;
                continue;
            }
            "-h" | "--help" => return Ok(Mode::Help),
            "--at" => args
                .next()
                .ok_or("--at needs a time, e.g. --at 2026-03-01T00:00:00Z")?,
            other => match other.strip_prefix("--at=") {
                Some(v) => v.to_owned(),
                None => return Err(format!("unexpected argument {other:?}\n\n{USAGE}")),
            },
        };
        let parsed = OffsetDateTime::parse(&value, &Rfc3339).map_err(|e| {
            format!("--at {value:?} is not an RFC 3339 time ({e}), e.g. 2026-03-01T00:00:00Z")
        })?;
        at = Some(parsed);
    }
    match (once, at) {
        (false, Some(_)) => Err("--at only goes with --once".into()),
        (false, None) => Ok(Mode::Lambda),
        (true, at) => Ok(Mode::Once { at }),
    }
}

/// One tick for a scheduled event (its payload is only logged: the tick
/// acts at the current time, so a late retry does the work that is due).
pub async fn on_schedule(
    store: &Store,
    policy: &BillingPolicy,
    event: &serde_json::Value,
    options: &Options,
) -> Result<Report, TickError> {
    let id = event.get("id").and_then(|v| v.as_str()).unwrap_or("");
    let scheduled = event.get("time").and_then(|v| v.as_str()).unwrap_or("");
    let budget_ms = options
        .deadline
        .map(|d| d.saturating_duration_since(Instant::now()).as_millis() as u64);
    tracing::info!(
        event_id = id,
        scheduled_time = scheduled,
        budget_ms,
        "scheduled billing tick"
    );
    tick_with(store, policy, OffsetDateTime::now_utc(), options).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::billing::BillingError;
    use time::macros::datetime;

    fn args(list: &[&str]) -> Result<Mode, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_the_command_line() {
        assert_eq!(args(&[]), Ok(Mode::Lambda));
        assert_eq!(args(&["--once"]), Ok(Mode::Once { at: None }));
        let at = Some(datetime!(2026-03-01 00:00 UTC));
        assert_eq!(
            args(&["--once", "--at", "2026-03-01T00:00:00Z"]),
            Ok(Mode::Once { at })
        );
        assert_eq!(
            args(&["--at=2026-03-01T00:00:00Z", "--once"]),
            Ok(Mode::Once { at })
        );
        assert_eq!(args(&["--help"]), Ok(Mode::Help));
        assert!(args(&["--at", "2026-03-01T00:00:00Z"])
            .unwrap_err()
            .contains("--once"));
        assert!(args(&["--once", "--at"])
            .unwrap_err()
            .contains("needs a time"));
        assert!(args(&["--once", "--at", "tomorrow"])
            .unwrap_err()
            .contains("RFC 3339"));
        assert!(args(&["--twice"])
            .unwrap_err()
            .contains("unexpected argument"));
    }

    #[test]
    fn reports_name_failures_without_internals() {
        let store = InvoicingError::Store(StoreError::Backend(
            "secret endpoint http://10.0.0.1 said no".into(),
        ));
        assert_eq!(
            public_message(&store),
            "the table could not be read or written"
        );
        let plan = Uuid::from_u128(7);
        assert!(
            public_message(&InvoicingError::Rule(BillingError::MissingPlan {
                plan_id: plan
            }))
            .contains(&plan.to_string())
        );
    }

    #[test]
    fn outcomes_add_up_in_the_report() {
        let mut report = Report::new(datetime!(2026-03-01 00:00 UTC));
        report.merge(Outcome {
            tenant_id: Uuid::from_u128(1),
            actions: vec!["subscription.invoice", "subscription.past_due"],
            invoices: vec!["INV-2026-000001".into()],
            conflicts: 1,
            error: None,
        });
        report.merge(Outcome {
            tenant_id: Uuid::from_u128(2),
            actions: vec!["subscription.invoice"],
            invoices: vec!["INV-2026-000002".into()],
            conflicts: 0,
            error: Some("the invoice counter stayed contended".into()),
        });
        assert_eq!(report.transitions_total(), 3);
        assert_eq!(report.transitions["subscription.invoice"], 2);
        assert_eq!(
            report.invoices_issued,
            ["INV-2026-000001", "INV-2026-000002"]
        );
        assert_eq!(report.conflicts, 1);
        assert_eq!(
            report.errors,
            [TenantFailure {
                tenant_id: Uuid::from_u128(2),
                message: "the invoice counter stayed contended".into()
            }]
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["now"], "2026-03-01T00:00:00Z");
        assert_eq!(json["transitions"]["subscription.past_due"], 1);
    }

    #[test]
    fn a_deadline_keeps_a_margin() {
        let options = Options::until(SystemTime::now() + Duration::from_secs(300));
        let left = options
            .deadline
            .unwrap()
            .saturating_duration_since(Instant::now());
        assert!(
            left <= Duration::from_secs(280) && left > Duration::from_secs(270),
            "{left:?}"
        );
        assert_eq!(options.concurrency, DEFAULT_CONCURRENCY);
        // A short timeout keeps most of its time for work.
        let short = Options::until(SystemTime::now() + Duration::from_secs(10));
        let left = short
            .deadline
            .unwrap()
            .saturating_duration_since(Instant::now());
        assert!(
            left <= Duration::from_secs(8) && left > Duration::from_secs(7),
            "{left:?}"
        );
        // Not a real deadline (the local emulator sends 600000 ms since 1970).
        assert_eq!(
            Options::until(SystemTime::UNIX_EPOCH + Duration::from_millis(600_000)),
            Options::default()
        );
    }
}
