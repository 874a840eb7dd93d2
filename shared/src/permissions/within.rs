//! The no-escalation rule as pure logic: a partial administrator may hand
//! out, take away or reshape only grants they hold themselves.

use super::permission_key::PermissionKey;
use super::set::PermissionSet;

/// Keys that `wanted` grants more widely than `held`, in catalog order: a
/// scope above the one held (`own` < `team` < `all`), or a boolean not held.
/// Empty exactly when `wanted` is within `held`.
pub fn exceeding(wanted: &PermissionSet, held: &PermissionSet) -> Vec<PermissionKey> {
    super::actions::ALL
        .iter()
        .copied()
        .filter(|key| wanted.level(*key) > held.level(*key))
        .collect()
}

/// Whether every grant of `wanted` is held at least as widely by `held`.
pub fn is_within(wanted: &PermissionSet, held: &PermissionSet) -> bool {
    wanted.is_subset_of(held)
}

/// [`exceeding`] over several sets (e.g. the old and the new grants of a
/// role being changed), without duplicates, in catalog order.
pub fn exceeding_any<'a>(
    wanted: impl IntoIterator<Item = &'a PermissionSet>,
    held: &PermissionSet,
) -> Vec<PermissionKey> {
    let mut union = PermissionSet::empty();
    for set in wanted {
        union.union_in_place(set);
    }
    exceeding(&union, held)
}

#[cfg(test)]
mod tests {
    use super::super::actions;
    use super::super::catalog::Scope;
    use super::super::set::Grant;
    use super::super::templates::{admin_permissions, templates};
    use super::*;

    fn set(grants: &[(PermissionKey, Grant)]) -> PermissionSet {
        let mut s = PermissionSet::empty();
        for (k, g) in grants {
            s.set(*k, Some(*g)).unwrap();
        }
        s
    }

    #[test]
    fn scopes_are_ordered_own_team_all() {
        let scopes = [Scope::Own, Scope::Team, Scope::All];
        for (i, held) in scopes.iter().enumerate() {
            for (j, wanted) in scopes.iter().enumerate() {
                let h = set(&[(actions::CRM_LEADS_VIEW, Grant::Scope(*held))]);
                let w = set(&[(actions::CRM_LEADS_VIEW, Grant::Scope(*wanted))]);
                assert_eq!(is_within(&w, &h), j <= i, "{wanted} within {held}");
                assert_eq!(exceeding(&w, &h).is_empty(), j <= i);
            }
        }
        let w = set(&[(actions::CRM_LEADS_VIEW, Grant::Scope(Scope::Own))]);
        assert_eq!(
            exceeding(&w, &PermissionSet::empty()),
            vec![actions::CRM_LEADS_VIEW]
        );
    }

    #[test]
    fn a_boolean_only_if_held_true() {
        let held = set(&[(actions::ADMINISTRATION_USERS_VIEW, Grant::Bool(true))]);
        let wanted = set(&[
            (actions::ADMINISTRATION_USERS_VIEW, Grant::Bool(true)),
            (actions::ADMINISTRATION_USERS_MANAGE, Grant::Bool(true)),
            (actions::CRM_LEADS_DELETE, Grant::Bool(true)),
        ]);
        assert_eq!(
            exceeding(&wanted, &held),
            vec![
                actions::CRM_LEADS_DELETE,
                actions::ADMINISTRATION_USERS_MANAGE
            ],
            "catalog order"
        );
        // `false` is no grant at all, so always within.
        let off = set(&[(actions::CRM_LEADS_DELETE, Grant::Bool(false))]);
        assert!(is_within(&off, &PermissionSet::empty()));
    }

    #[test]
    fn nothing_exceeds_everything_and_nothing_is_within_anything() {
        let all = admin_permissions();
        for t in templates() {
            assert!(is_within(&t.permissions, &all), "{}", t.name);
            assert!(is_within(&PermissionSet::empty(), &t.permissions));
            assert!(exceeding(&t.permissions, &t.permissions).is_empty());
        }
        assert_eq!(
            exceeding(&all, &PermissionSet::empty()).len(),
            actions::ALL.len()
        );
    }

    #[test]
    fn exceeding_any_covers_old_and_new() {
        let held = set(&[(actions::CRM_LEADS_VIEW, Grant::Scope(Scope::Team))]);
        let old = set(&[(actions::CRM_LEADS_VIEW, Grant::Scope(Scope::All))]);
        let new = set(&[(actions::CRM_LEADS_VIEW, Grant::Scope(Scope::Own))]);
        assert!(is_within(&new, &held));
        assert_eq!(
            exceeding_any([&old, &new], &held),
            vec![actions::CRM_LEADS_VIEW],
            "downgrading a role stronger than oneself is refused too"
        );
        assert!(exceeding_any([&new, &new], &held).is_empty());
    }

    #[test]
    fn agrees_with_is_within_on_every_single_grant() {
        for key in actions::ALL {
            let grants: Vec<Grant> = match key.kind() {
                super::super::catalog::ActionKind::Scope => {
                    Scope::ALL.iter().map(|s| Grant::Scope(*s)).collect()
                }
                super::super::catalog::ActionKind::Boolean => vec![Grant::Bool(true)],
            };
            for h in &grants {
                for w in &grants {
                    let (hs, ws) = (set(&[(*key, *h)]), set(&[(*key, *w)]));
                    assert_eq!(exceeding(&ws, &hs).is_empty(), is_within(&ws, &hs));
                }
            }
        }
    }
}
