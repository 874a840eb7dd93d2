//! Every AWS call the other test binaries saw a function make, checked
//! against that function's policy in template.yaml.
//!
//! Not run by `cargo test --workspace` (`test = false`): infra/test.sh runs
//! it after them, on the calls they recorded under `target/iam-calls/`
//! (docs/testing.md). By hand:
//!
//! ```text
//! rm -rf target/iam-calls && cargo test -p tests --test api && cargo test -p tests --test iam
//! ```

use std::collections::{BTreeMap, BTreeSet};
use tests::iam::{calls_dir, policies, recorded_calls, Call, Grant};
use tests::template_yaml;

/// Granted actions no test exercises, each with why it stays granted. Any
/// other unused action fails [`every_granted_action_is_used`].
const UNTESTED: &[(&str, &str, &str)] = &[];

fn calls() -> Vec<Call> {
    let (calls, files) = recorded_calls();
    assert!(
        !calls.is_empty(),
        "no calls recorded under {}: run the api tests first (see this file's header)",
        calls_dir().display()
    );
    eprintln!("checking {} recorded permissions from:", calls.len());
    for f in files {
        eprintln!("  {}", f.display());
    }
    calls
}

#[test]
fn every_recorded_call_is_allowed_by_its_functions_policy() {
    let policies = policies(&template_yaml());
    let mut denied = Vec::new();
    for call in calls() {
        let grants = policies
            .get(&call.function)
            .unwrap_or_else(|| panic!("{} is not a function of template.yaml", call.function));
        if !grants
            .iter()
            .any(|g| g.allows(&call.action, &call.resource))
        {
            denied.push(format!(
                "{}: {} ({}) on {}",
                call.function, call.action, call.operation, call.resource
            ));
        }
    }
    assert!(
        denied.is_empty(),
        "calls the template's policies deny:\n  {}",
        denied.join("\n  ")
    );
}

/// Least privilege: each granted action is one the function was seen to
/// use. Unused (action, resource) pairs are printed; resources a test
/// cannot reach (every dedicated table's index, say) need not all be hit.
#[test]
fn every_granted_action_is_used() {
    let policies = policies(&template_yaml());
    let calls = calls();
    let mut unused_actions = Vec::new();
    let mut report = Vec::new();
    for (function, grants) in &policies {
        let mine: Vec<&Call> = calls.iter().filter(|c| &c.function == function).collect();
        let mut used_actions = BTreeSet::new();
        for Grant { action, resource } in grants {
            let grant = Grant {
                action: action.clone(),
                resource: resource.clone(),
            };
            let hits: Vec<&&Call> = mine
                .iter()
                .filter(|c| grant.allows(&c.action, &c.resource))
                .collect();
            if hits.is_empty() {
                report.push(format!("{function}: {action} on {resource}"));
            } else {
                used_actions.insert(action.clone());
            }
        }
        let granted: BTreeSet<&String> = grants.iter().map(|g| &g.action).collect();
        for action in granted {
            let excused = UNTESTED
                .iter()
                .any(|(f, a, _)| f == function && a == action);
            if !used_actions.contains(action) && !excused {
                unused_actions.push(format!("{function}: {action}"));
            }
        }
    }
    if !report.is_empty() {
        eprintln!(
            "granted but never used by the tests (action on resource):\n  {}",
            report.join("\n  ")
        );
    }
    assert!(
        unused_actions.is_empty(),
        "actions granted but never used (remove them, test them, or list them in UNTESTED with a reason):\n  {}",
        unused_actions.join("\n  ")
    );
}

/// Every function of the template was driven (its calls recorded), so no
/// function's policy goes unchecked.
#[test]
fn every_function_with_a_policy_was_recorded() {
    let policies = policies(&template_yaml());
    let calls = calls();
    let seen: BTreeMap<&str, usize> = calls.iter().fold(BTreeMap::new(), |mut m, c| {
        *m.entry(c.function.as_str()).or_default() += 1;
        m
    });
    let missing: Vec<&String> = policies
        .iter()
        .filter(|(f, grants)| !grants.is_empty() && !seen.contains_key(f.as_str()))
        .map(|(f, _)| f)
        .collect();
    assert!(missing.is_empty(), "no calls recorded for {missing:?}");
}
