//! What an import found and did, printed for the operator.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Entries per kind in the dump.
    pub counts: BTreeMap<&'static str, usize>,
    /// What would not come across (unknown models, values the platform
    /// cannot hold, references to nothing); any stops the import.
    pub lost: Vec<String>,
    /// Uniqueness claims already held by something else in the platform
    /// (a slug, domain or email taken); any stops the import.
    pub conflicts: Vec<String>,
    /// Per role (`tenant-slug/role name`): permission keys outside the
    /// catalog or of the wrong type; any stops the import.
    pub unknown_permissions: BTreeMap<String, Vec<String>>,
    /// The same, dropped under `--drop-unknown-permissions`.
    pub dropped_permissions: BTreeMap<String, Vec<String>>,
    /// Users whose hash no verifier knows (e.g. `bcrypt_sha256$`): imported
    /// as they are, they sign in after a password reset.
    pub unknown_hash_schemes: Vec<String>,
    /// Users with Django's unusable password (`!...`): the same.
    pub unusable_passwords: usize,
    /// Worth knowing, nothing lost.
    pub notes: Vec<String>,
}

impl Report {
    pub fn count(&mut self, kind: &'static str, n: usize) {
        self.counts.insert(kind, n);
    }

    pub fn lost(&mut self, what: impl Into<String>) {
        self.lost.push(what.into());
    }

    pub fn note(&mut self, what: impl Into<String>) {
        self.notes.push(what.into());
    }

    /// Whether importing would lose or clash with something.
    pub fn blocks(&self) -> bool {
        !self.lost.is_empty() || !self.conflicts.is_empty() || !self.unknown_permissions.is_empty()
    }
}

fn list(f: &mut fmt::Formatter<'_>, title: &str, items: &[String]) -> fmt::Result {
    if !items.is_empty() {
        writeln!(f, "{title} ({}):", items.len())?;
        for item in items {
            writeln!(f, "  - {item}")?;
        }
    }
    Ok(())
}

fn per_role(
    f: &mut fmt::Formatter<'_>,
    title: &str,
    roles: &BTreeMap<String, Vec<String>>,
) -> fmt::Result {
    if !roles.is_empty() {
        writeln!(f, "{title}:")?;
        for (role, keys) in roles {
            writeln!(f, "  {role}:")?;
            for key in keys {
                writeln!(f, "    - {key}")?;
            }
        }
    }
    Ok(())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "in the dump:")?;
        for (kind, n) in &self.counts {
            writeln!(f, "  {kind}: {n}")?;
        }
        list(f, "would be lost", &self.lost)?;
        list(f, "conflicts with the platform", &self.conflicts)?;
        per_role(
            f,
            "permission keys outside the catalog (--drop-unknown-permissions drops them)",
            &self.unknown_permissions,
        )?;
        per_role(f, "permission keys dropped", &self.dropped_permissions)?;
        list(
            f,
            "users whose hash scheme is unknown (they sign in after a password reset)",
            &self.unknown_hash_schemes,
        )?;
        if self.unusable_passwords > 0 {
            writeln!(
                f,
                "users with an unusable password (they sign in after a password reset): {}",
                self.unusable_passwords
            )?;
        }
        list(f, "notes", &self.notes)
    }
}
