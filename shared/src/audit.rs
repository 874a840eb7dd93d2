//! The audit log: who changed what, written in the same transaction as the
//! change so that a change and its record exist together or not at all.

use crate::auth::{Actor, SuperAdmin};
use crate::entity::codec::json_text;
use crate::keys;
use crate::records::AuditRecord;
use crate::store::{Condition, Label, TenantScope, Transaction};
use serde::Serialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// The fields that differ between two versions of a record, as
/// `{"field": {"before": .., "after": ..}}`. Either side may be absent
/// (creation, deletion). Fields named in `hidden` are left out. A document
/// stored as its text (`json_text`, such as a user's `preferences`) shows
/// as the document.
pub fn changes<T: Serialize>(before: Option<&T>, after: Option<&T>, hidden: &[&str]) -> Value {
    let shown = |r: &T| json_text::as_documents(|| serde_json::to_value(r));
    let as_map = |v: Option<&T>| match v.map(shown) {
        Some(Ok(Value::Object(m))) => m,
        _ => Map::new(),
    };
    let (before, after) = (as_map(before), as_map(after));
    let mut out = Map::new();
    let fields: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for field in fields {
        if hidden.contains(&field.as_str()) {
            continue;
        }
        let (b, a) = (before.get(field), after.get(field));
        if b != a {
            out.insert(field.clone(), json!({"before": b, "after": a}));
        }
    }
    Value::Object(out)
}

/// Who made a change, as the audit log names them.
#[derive(Clone, Copy)]
pub enum By<'a> {
    /// A signed-in user (or a super admin acting inside a tenant), logged
    /// in the tenant they act on.
    User(&'a Actor),
    /// A super admin changing platform-wide records (plans), logged in
    /// their own tenant.
    SuperAdmin(&'a SuperAdmin),
    /// The platform itself (the billing scheduler, say), logged in `scope`
    /// as `system:<name>`.
    System(&'a TenantScope, &'a str),
    /// A user acting on their own account without a session (asking for
    /// or completing a password reset), logged in their tenant.
    Account(&'a AccountHolder<'a>),
}

/// Who acts in [`By::Account`].
pub struct AccountHolder<'a> {
    pub scope: &'a TenantScope,
    pub user_id: Uuid,
    pub email: &'a str,
    pub request_id: &'a str,
}

impl<'a> From<&'a Actor> for By<'a> {
    fn from(actor: &'a Actor) -> Self {
        By::User(actor)
    }
}

/// Adds an audit entry for a change to `tx`: `by` may be an `&Actor`.
pub fn record<'a>(
    tx: &mut Transaction<'_>,
    by: impl Into<By<'a>>,
    action: &str,
    entity: &str,
    entity_id: impl ToString,
    changes: Value,
) {
    let at = OffsetDateTime::now_utc();
    let id = Uuid::new_v4();
    let admin;
    let by = by.into();
    if let By::Account(holder) = by {
        let entry = AuditRecord {
            id,
            tenant_id: holder.scope.tenant_id(),
            at,
            actor_id: holder.user_id,
            actor_email: holder.email.to_owned(),
            via_super_admin: false,
            action: action.to_owned(),
            entity_type: entity.to_owned(),
            entity_id: entity_id.to_string(),
            changes,
            request_id: holder.request_id.to_owned(),
        };
        tx.tenant(holder.scope).put(
            &keys::audit_entry(at.unix_timestamp_nanos(), id),
            &entry,
            Condition::NotExists,
            Label::Audit,
        );
        return;
    }
    let (scope, actor, email) = match by {
        By::User(actor) => (actor.scope(), Some(actor), actor.email().to_owned()),
        By::Account(_) => return,
        By::SuperAdmin(super_admin) => {
            admin = super_admin.actor_with(super_admin.principal().scope().clone());
            (admin.scope(), Some(&admin), admin.email().to_owned())
        }
        By::System(scope, name) => (scope, None, format!("system:{name}")),
    };
    let entry = AuditRecord {
        id,
        tenant_id: scope.tenant_id(),
        at,
        actor_id: actor.map_or(Uuid::nil(), Actor::user_id),
        actor_email: email,
        via_super_admin: actor.is_some_and(Actor::via_super_admin),
        action: action.to_owned(),
        entity_type: entity.to_owned(),
        entity_id: entity_id.to_string(),
        changes,
        request_id: actor.map_or(String::new(), |a| a.request_id().to_owned()),
    };
    tx.tenant(scope).put(
        &keys::audit_entry(at.unix_timestamp_nanos(), id),
        &entry,
        Condition::NotExists,
        Label::Audit,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct R {
        name: String,
        size: u8,
        secret: String,
    }

    #[test]
    fn lists_only_changed_fields_and_hides_secrets() {
        let a = R {
            name: "A".into(),
            size: 1,
            secret: "x".into(),
        };
        let b = R {
            name: "B".into(),
            size: 1,
            secret: "y".into(),
        };
        assert_eq!(
            changes(Some(&a), Some(&b), &["secret"]),
            json!({"name": {"before": "A", "after": "B"}})
        );
        let created = changes(None, Some(&a), &["secret"]);
        assert_eq!(created["size"], json!({"before": null, "after": 1}));
        assert!(created.get("secret").is_none());
    }

    #[derive(Serialize)]
    struct WithDocument {
        #[serde(with = "json_text")]
        preferences: Value,
    }

    #[test]
    fn stored_documents_show_as_documents() {
        let (a, b) = (
            WithDocument {
                preferences: json!({}),
            },
            WithDocument {
                preferences: json!({"theme": "dark"}),
            },
        );
        assert_eq!(
            changes(Some(&a), Some(&b), &[]),
            json!({"preferences": {"before": {}, "after": {"theme": "dark"}}})
        );
    }
}
