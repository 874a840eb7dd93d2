//! Flat form for tokens: `{"crm.leads.view": "team", "crm.leads.create": true}`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

use super::error::{PermissionError, PermissionErrors};
use super::permission_key::PermissionKey;
use super::set::{Grant, PermissionSet};

/// Granted permissions keyed by dotted key, sorted. Holds only grants (no
/// `false`, no none), so its JSON is as small as possible for tokens.
///
/// Deserialising is lenient about keys (a token may predate a catalog
/// change): unknown keys are kept but never match a [`PermissionKey`], and
/// `false` entries are dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, ToSchema)]
#[schema(example = json!({"crm.leads.view": "team", "crm.leads.create": true}))]
pub struct FlatPermissions(BTreeMap<Cow<'static, str>, Grant>);

impl FlatPermissions {
    /// The grant held for a dotted key, if any.
    pub fn get(&self, key: &str) -> Option<Grant> {
        self.0.get(key).copied()
    }

    /// The grant held for a typed key, if any.
    pub fn grant(&self, key: PermissionKey) -> Option<Grant> {
        self.get(key.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, Grant)> + '_ {
        self.0.iter().map(|(k, g)| (k.as_ref(), *g))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every catalog action at its highest grant (`all`, `true`): what a
    /// platform super admin is treated as holding.
    pub fn everything() -> &'static FlatPermissions {
        static EVERYTHING: std::sync::OnceLock<FlatPermissions> = std::sync::OnceLock::new();
        EVERYTHING.get_or_init(|| {
            FlatPermissions(
                super::actions::ALL
                    .iter()
                    .map(|key| {
                        let grant = match key.kind() {
                            super::catalog::ActionKind::Scope => {
                                Grant::Scope(super::catalog::Scope::All)
                            }
                            super::catalog::ActionKind::Boolean => Grant::Bool(true),
                        };
                        (Cow::Borrowed(key.as_str()), grant)
                    })
                    .collect(),
            )
        })
    }
}

/// The flat form of a set: only granted entries, in key order.
pub fn flatten(permissions: &PermissionSet) -> FlatPermissions {
    FlatPermissions(
        permissions
            .iter()
            .map(|(key, grant)| (Cow::Borrowed(key.as_str()), grant))
            .collect(),
    )
}

/// Inverse of [`flatten`]; fails on keys missing from the catalog or grants of
/// the wrong kind.
pub fn unflatten(flat: &FlatPermissions) -> Result<PermissionSet, PermissionErrors> {
    let mut set = PermissionSet::empty();
    let mut errors = Vec::new();
    for (key, grant) in flat.iter() {
        match PermissionKey::parse(key) {
            Some(k) => {
                if let Err(err) = set.set(k, Some(grant)) {
                    errors.push(err);
                }
            }
            None => errors.push(PermissionError::new(key, "unknown permission")),
        }
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(PermissionErrors(errors))
    }
}

impl PermissionSet {
    pub fn flatten(&self) -> FlatPermissions {
        flatten(self)
    }
}

impl From<&PermissionSet> for FlatPermissions {
    fn from(set: &PermissionSet) -> Self {
        flatten(set)
    }
}

impl TryFrom<&FlatPermissions> for PermissionSet {
    type Error = PermissionErrors;

    fn try_from(flat: &FlatPermissions) -> Result<Self, Self::Error> {
        unflatten(flat)
    }
}

/// Tenant admin is derived, not a flag: it means holding every
/// `administration` grant.
pub fn is_tenant_admin(permissions: &FlatPermissions) -> bool {
    super::actions::ALL
        .iter()
        .filter(|key| key.module().is_none())
        .all(|key| permissions.grant(*key) == Some(Grant::Bool(true)))
}

impl Serialize for FlatPermissions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

// By hand so known keys borrow the catalog's string (no allocation per key)
// and `false` entries are dropped as they are read.
impl<'de> Deserialize<'de> for FlatPermissions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FlatVisitor)
    }
}

struct FlatVisitor;

impl<'de> Visitor<'de> for FlatVisitor {
    type Value = FlatPermissions;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of permission keys to grants")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FlatPermissions, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(FlatKey(key)) = map.next_key()? {
            let grant: Grant = map.next_value()?;
            if grant != Grant::Bool(false) {
                out.insert(key, grant);
            }
        }
        Ok(FlatPermissions(out))
    }
}

struct FlatKey(Cow<'static, str>);

impl<'de> Deserialize<'de> for FlatKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = FlatKey;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a permission key")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlatKey, E> {
                Ok(FlatKey(match PermissionKey::parse(v) {
                    Some(key) => Cow::Borrowed(key.as_str()),
                    None => Cow::Owned(v.to_owned()),
                }))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::super::actions;
    use super::super::catalog::Scope;
    use super::super::templates::admin_permissions;
    use super::*;
    use serde_json::json;

    #[test]
    fn flat_json_is_sorted_and_only_granted() {
        let set = PermissionSet::empty()
            .with(actions::TASKS_TASKS_VIEW, Grant::Scope(Scope::Own))
            .and_then(|s| s.with(actions::CRM_LEADS_VIEW, Grant::Scope(Scope::Team)))
            .and_then(|s| s.with(actions::CRM_LEADS_CREATE, Grant::Bool(true)))
            .unwrap();
        let flat = flatten(&set);
        assert_eq!(
            serde_json::to_string(&flat).unwrap(),
            r#"{"crm.leads.create":true,"crm.leads.view":"team","tasks.tasks.view":"own"}"#
        );
        assert_eq!(flat.get("crm.leads.view"), Some(Grant::Scope(Scope::Team)));
        assert_eq!(flat.grant(actions::CRM_LEADS_EDIT), None);
        assert_eq!(unflatten(&flat).unwrap(), set);
    }

    #[test]
    fn deserialises_token_json() {
        let flat: FlatPermissions = serde_json::from_value(json!({
            "crm.leads.view": "team", "crm.leads.create": true, "crm.leads.delete": false,
            "legacy.thing.do": true
        }))
        .unwrap();
        assert_eq!(flat.len(), 3);
        assert_eq!(flat.grant(actions::CRM_LEADS_DELETE), None);
        assert_eq!(flat.get("legacy.thing.do"), Some(Grant::Bool(true)));
        assert!(
            serde_json::from_value::<FlatPermissions>(json!({"crm.leads.view": "everyone"}))
                .is_err()
        );
        assert!(serde_json::from_value::<FlatPermissions>(json!(["crm.leads.view"])).is_err());
    }

    #[test]
    fn unflatten_reports_unknown_and_mismatched_keys() {
        let flat: FlatPermissions = serde_json::from_value(json!({
            "crm.leads.view": true, "crm.leads.create": "all", "legacy.thing.do": true
        }))
        .unwrap();
        let mut errs = unflatten(&flat).unwrap_err().to_strings();
        errs.sort();
        assert_eq!(
            errs,
            [
                "crm.leads.create: expected true or false",
                "crm.leads.view: expected one of own, team, all",
                "legacy.thing.do: unknown permission",
            ]
        );
    }

    #[test]
    fn empty_set_flattens_to_empty_object() {
        let flat = flatten(&PermissionSet::empty());
        assert_eq!(serde_json::to_string(&flat).unwrap(), "{}");
        assert!(unflatten(&flat).unwrap().is_empty());
    }

    /// The full set must leave room in a 4 KB access token for the other
    /// claims and the signature (base64 adds a third).
    #[test]
    fn full_permissions_fit_in_a_token() {
        let json = serde_json::to_string(&flatten(&admin_permissions())).unwrap();
        println!(
            "flattened permissions for a user holding everything: {} bytes",
            json.len()
        );
        println!("{json}");
        assert!(json.len() < 2048, "{} bytes", json.len());
    }

    #[test]
    fn tenant_admin_is_derived_from_administration_grants() {
        let admin = flatten(&admin_permissions());
        assert!(is_tenant_admin(&admin));
        let mut set = admin_permissions();
        set.set(actions::ADMINISTRATION_BILLING_VIEW, None).unwrap();
        assert!(!is_tenant_admin(&flatten(&set)));
        let only_admin: PermissionSet = actions::ALL
            .iter()
            .filter(|k| k.module().is_none())
            .try_fold(PermissionSet::empty(), |s, k| s.with(*k, Grant::Bool(true)))
            .unwrap();
        assert!(is_tenant_admin(&flatten(&only_admin)));
        assert!(!is_tenant_admin(&FlatPermissions::default()));
    }

    #[test]
    fn schema_is_object_with_additional_properties() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(FlatPermissions::schema()).unwrap();
        assert_eq!(schema["type"], "object", "{schema}");
        assert!(schema.get("additionalProperties").is_some(), "{schema}");
    }
}
