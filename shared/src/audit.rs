//! The audit log: who changed what, written in the same transaction as the
//! change so that a change and its record exist together or not at all.

use crate::auth::Actor;
use crate::keys;
use crate::records::AuditRecord;
use crate::store::{Condition, TenantScope, Transaction};
use serde::Serialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// The fields that differ between two versions of a record, as
/// `{"field": {"before": .., "after": ..}}`. Either side may be absent
/// (creation, deletion). Fields named in `hidden` are left out.
pub fn changes<T: Serialize>(before: Option<&T>, after: Option<&T>, hidden: &[&str]) -> Value {
    let as_map = |v: Option<&T>| match v.map(serde_json::to_value) {
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

/// Adds an audit entry for a change to `tx`.
pub fn record(
    tx: &mut Transaction<'_>,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: impl ToString,
    changes: Value,
) {
    let at = OffsetDateTime::now_utc();
    let id = Uuid::new_v4();
    let entry = AuditRecord {
        id,
        tenant_id: actor.scope().tenant_id(),
        at,
        actor_id: actor.user_id(),
        actor_email: actor.email().to_owned(),
        via_super_admin: actor.via_super_admin(),
        action: action.to_owned(),
        entity_type: entity.to_owned(),
        entity_id: entity_id.to_string(),
        changes,
        request_id: actor.request_id().to_owned(),
    };
    tx.put(
        actor.scope(),
        &keys::audit_entry(at.unix_timestamp_nanos(), id),
        &entry,
        Condition::NotExists,
        "audit",
    );
}

/// Adds an audit entry for a change made by the platform itself (the
/// billing scheduler, say) rather than by a signed-in user.
pub fn record_system(
    tx: &mut Transaction<'_>,
    scope: &TenantScope,
    system: &str,
    action: &str,
    entity: &str,
    entity_id: impl ToString,
    changes: Value,
) {
    let at = OffsetDateTime::now_utc();
    let id = Uuid::new_v4();
    let entry = AuditRecord {
        id,
        tenant_id: scope.tenant_id(),
        at,
        actor_id: Uuid::nil(),
        actor_email: format!("system:{system}"),
        via_super_admin: false,
        action: action.to_owned(),
        entity_type: entity.to_owned(),
        entity_id: entity_id.to_string(),
        changes,
        request_id: String::new(),
    };
    tx.put(
        scope,
        &keys::audit_entry(at.unix_timestamp_nanos(), id),
        &entry,
        Condition::NotExists,
        "audit",
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
}
