//! Profile fields a member may change about themselves, validated once for
//! both the self-service and the admin endpoints.

use serde::Deserialize;
use serde_json::Value;
use shared::http::ValidationErrors;
use shared::records::UserRecord;
use shared::validate;
use utoipa::ToSchema;

/// Largest accepted `preferences` document, serialised.
pub const MAX_PREFERENCES_BYTES: usize = 16 * 1024;

/// What a member may change about themselves — never roles, tenant or flags.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    #[schema(max_length = 150)]
    pub first_name: Option<String>,
    #[schema(max_length = 150)]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(pattern = r"^\s*[0-9+()\- ]{0,32}\s*$", value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// IANA time zone name, e.g. `Europe/Madrid`.
    #[schema(pattern = r"^\s*[A-Za-z0-9/_+-]{1,64}\s*$")]
    pub timezone: Option<String>,
    /// Free-form JSON object, at most 16 KiB.
    #[schema(value_type = Option<Object>)]
    pub preferences: Option<Value>,
    #[serde(default, deserialize_with = "shared::http::nullable")]
    #[schema(max_length = 2048, pattern = r"^(https?://[\s\S]*)?$", value_type = Option<String>)]
    pub profile_picture: Option<Option<String>>,
}

/// Applies the given fields to `user`, adding an error per invalid field.
pub fn apply(errors: &mut ValidationErrors, user: &mut UserRecord, patch: ProfilePatch) {
    if let Some(v) = &patch.first_name {
        user.first_name = validate::optional_name(errors, "first_name", Some(v), 150);
    }
    if let Some(v) = &patch.last_name {
        user.last_name = validate::optional_name(errors, "last_name", Some(v), 150);
    }
    if let Some(v) = &patch.phone {
        user.phone = phone(errors, v.as_deref());
    }
    if let Some(tz) = &patch.timezone {
        user.timezone = timezone(errors, tz);
    }
    if let Some(prefs) = patch.preferences {
        preferences(errors, &prefs);
        user.preferences = prefs;
    }
    if let Some(pic) = &patch.profile_picture {
        user.profile_picture = pic.clone().filter(|p| !p.is_empty());
        if user.profile_picture.as_ref().is_some_and(|p| {
            p.len() > 2048 || !(p.starts_with("https://") || p.starts_with("http://"))
        }) {
            errors.add(
                "profile_picture",
                "Enter an http(s) URL of at most 2048 characters.",
            );
        }
    }
}

pub fn phone(errors: &mut ValidationErrors, value: Option<&str>) -> Option<String> {
    let phone = value.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
    if phone.as_ref().is_some_and(|p| {
        p.len() > 32 || !p.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c))
    }) {
        errors.add(
            "phone",
            "Enter a phone number of digits, spaces and + - ( ), at most 32 characters.",
        );
    }
    phone
}

pub fn timezone(errors: &mut ValidationErrors, value: &str) -> String {
    let tz = value.trim();
    if tz.is_empty()
        || tz.len() > 64
        || !tz
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
    {
        errors.add(
            "timezone",
            "Enter an IANA time zone name, such as Europe/Madrid.",
        );
    }
    tz.to_owned()
}

pub fn preferences(errors: &mut ValidationErrors, value: &Value) {
    if !value.is_object() {
        errors.add("preferences", "Expected a JSON object.");
    } else if value.to_string().len() > MAX_PREFERENCES_BYTES {
        errors.add(
            "preferences",
            format!("Preferences may not exceed {MAX_PREFERENCES_BYTES} bytes."),
        );
    }
}
