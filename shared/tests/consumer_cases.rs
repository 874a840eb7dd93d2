//! The decision table of the consumer kit (`docs/examples/cases.json`),
//! checked against the engine: for each case, the Rust answer is
//! `is_super_admin || (module enabled && can(...).allowed)`, with `can`
//! from `shared::permissions` and the module of the key from
//! `PermissionKey::module`. The Python and Node examples run the same table
//! (`--self-check`), so the table, the engine and the examples cannot drift
//! apart unnoticed (docs/consuming-tokens.md).

use serde::Deserialize;
use serde_json::{json, Value};
use shared::auth::Claims;
use shared::permissions::{can, ActionKind, PermissionKey, Reason, Resource};
use std::collections::BTreeSet;
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[allow(dead_code)]
    description: String,
    #[allow(dead_code)]
    ids: Value,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    claims: Value,
    key: String,
    record: Record,
    expected: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    tenant_id: Uuid,
    owner_id: Option<Uuid>,
    team_id: Option<Uuid>,
}

/// The claims a case names: exactly these, nothing else.
const CASE_CLAIMS: [&str; 6] = [
    "sub",
    "tenant_id",
    "is_super_admin",
    "permissions",
    "enabled_modules",
    "team_ids",
];

fn table() -> Table {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/cases.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A full access token's claims: the case's, the rest filled in. Read
/// through `shared::auth::Claims`, so a case can only use the real claim
/// names and types.
fn claims(case: &Case) -> Claims {
    let given = case.claims.as_object().expect("claims is an object");
    let names: BTreeSet<&str> = given.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        CASE_CLAIMS.into_iter().collect(),
        "{}: claims must be exactly {CASE_CLAIMS:?}",
        case.name
    );
    let mut full = json!({
        "email": "user@example.com",
        "tenant_slug": "acme",
        "token_type": "access",
        "jti": Uuid::from_u128(1),
        "fam": Uuid::from_u128(2),
        "iat": 1_700_000_000,
        "nbf": 1_700_000_000,
        "exp": 1_700_000_900,
        "iss": "saas-platform",
        "aud": "saas-platform-api",
    });
    for (name, value) in given {
        full[name] = value.clone();
    }
    serde_json::from_value(full).unwrap_or_else(|e| panic!("{}: claims: {e}", case.name))
}

/// The engine's answer, and why (`None` when the module rule or the super
/// admin flag decided before `can`).
fn engine(claims: &Claims, key: PermissionKey, record: &Record) -> (bool, Option<Reason>) {
    if claims.is_super_admin {
        return (true, None);
    }
    let module_enabled = key.module().is_none_or(|module| {
        claims
            .enabled_modules
            .iter()
            .any(|enabled| enabled == module.as_str())
    });
    if !module_enabled {
        return (false, None);
    }
    let resource = Resource::new(record.tenant_id, record.owner_id, record.team_id);
    let decision = can(claims, key, &resource);
    (decision.allowed, Some(decision.reason))
}

#[test]
fn every_case_agrees_with_the_engine() {
    let table = table();
    let mut disagreements = Vec::new();
    for case in &table.cases {
        let key = PermissionKey::parse(&case.key)
            .unwrap_or_else(|| panic!("{}: {} is not in the catalog", case.name, case.key));
        let claims = claims(case);
        let (allowed, reason) = engine(&claims, key, &case.record);
        if allowed != case.expected {
            disagreements.push(format!(
                "{}: table says {}, engine says {allowed} ({reason:?})",
                case.name, case.expected
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "cases.json disagrees with the engine:\n{}",
        disagreements.join("\n")
    );
}

/// The examples decide a grant's kind by its JSON type (a scope string or a
/// boolean), while the engine takes it from the catalog and treats a grant
/// of the other kind as none. Every grant in the table has the catalog's
/// kind, so both read it the same way.
#[test]
fn every_grant_has_the_kind_the_catalog_gives_its_key() {
    for case in table().cases {
        let permissions = case.claims["permissions"].as_object().unwrap();
        for (name, grant) in permissions {
            let key = PermissionKey::parse(name)
                .unwrap_or_else(|| panic!("{}: {name} is not in the catalog", case.name));
            let fits = match key.kind() {
                ActionKind::Boolean => grant.is_boolean(),
                ActionKind::Scope => matches!(grant.as_str(), Some("own" | "team" | "all")),
            };
            assert!(
                fits,
                "{}: {name} is a {:?} action, granted {grant}",
                case.name,
                key.kind()
            );
        }
    }
}

/// The table keeps covering every way a decision can go.
#[test]
fn the_table_covers_every_rule() {
    let table = table();
    assert!(table.cases.len() >= 30, "{} cases", table.cases.len());
    let mut reasons = BTreeSet::new();
    let (mut super_admin, mut module_off, mut names) = (0, 0, BTreeSet::new());
    for case in &table.cases {
        assert!(names.insert(&case.name), "duplicate case {}", case.name);
        let key = PermissionKey::parse(&case.key).unwrap();
        let claims = claims(case);
        match engine(&claims, key, &case.record) {
            (_, Some(reason)) => {
                reasons.insert(format!("{reason:?}"));
            }
            (true, None) => super_admin += 1,
            (false, None) => module_off += 1,
        }
    }
    let want: BTreeSet<String> = [
        Reason::Granted,
        Reason::ScopeAll,
        Reason::Owner,
        Reason::TeamMember,
        Reason::NotGranted,
        Reason::NotOwner,
        Reason::NotTeamMember,
        Reason::OtherTenant,
    ]
    .iter()
    .map(|r| format!("{r:?}"))
    .collect();
    assert_eq!(
        want.difference(&reasons).collect::<Vec<_>>(),
        Vec::<&String>::new()
    );
    assert!(super_admin >= 2, "super admin cases: {super_admin}");
    assert!(module_off >= 2, "module-not-enabled cases: {module_off}");
}
