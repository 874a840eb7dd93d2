//! Profile fields a member may change about themselves, validated once for
//! both the self-service and the admin endpoints.

use serde_json::Value;
use shared::http::ValidationErrors;
use shared::records::UserRecord;
use shared::validate;

/// Largest accepted `preferences` document, serialised.
pub const MAX_PREFERENCES_BYTES: usize = 16 * 1024;

/// Declares a PATCH body holding the fields of [`ProfilePatch`]:
/// `profile_patch! { pub struct ProfilePatch {} }` is that body itself;
/// `profile_patch! { undocumented pub struct UserPatch { .. } }` adds its own
/// fields after them, and a `split` into the two, and leaves out the profile
/// fields' descriptions (the admins' `UserPatch` never had them in the
/// document). `#[serde(flatten)]` would lose `deny_unknown_fields`, so the
/// fields are stated here once and expanded into each body.
macro_rules! profile_patch {
    (
        undocumented
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$extra_meta:meta])* $extra_vis:vis $extra:ident : $extra_ty:ty),+ $(,)?
        }
    ) => {
        $crate::users::profile::profile_patch!(@fields struct_with undocumented [$(#[$meta])*] $vis $name {
            $($(#[$extra_meta])* $extra_vis $extra: $extra_ty,)+
        });

        impl $name {
            /// The profile fields, and this body's own fields.
            pub fn split(self) -> ($crate::users::profile::ProfilePatch, ($($extra_ty,)+)) {
                $crate::users::profile::profile_patch!(@fields split_with self [$($extra)+])
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {}
    ) => {
        $crate::users::profile::profile_patch!(@fields struct_with documented [$(#[$meta])*] $vis $name {});
    };
    (@fields $callback:ident $($args:tt)*) => {
        $crate::users::profile::profile_patch! { @$callback $($args)* [
            [] #[schema(max_length = 150)]
            first_name: Option<String>,
            [] #[schema(max_length = 150)]
            last_name: Option<String>,
            [] #[serde(default, deserialize_with = "shared::http::nullable")]
            #[schema(pattern = r"^\s*[0-9+()\- ]{0,32}\s*$", value_type = Option<String>)]
            phone: Option<Option<String>>,
            [
                /// IANA time zone name, e.g. `Europe/Madrid`.
            ]
            #[schema(pattern = r"^\s*[A-Za-z0-9/_+-]{1,64}\s*$")]
            timezone: Option<String>,
            [
                /// Free-form JSON object, at most 16 KiB.
            ]
            #[schema(value_type = Option<Object>)]
            preferences: Option<::serde_json::Value>,
            [] #[serde(default, deserialize_with = "shared::http::nullable")]
            #[schema(max_length = 2048, pattern = r"^(https?://[\s\S]*)?$", value_type = Option<String>)]
            profile_picture: Option<Option<String>>,
        ]}
    };
    (@struct_with documented [$($meta:tt)*] $vis:vis $name:ident { $($own:tt)* } [
        $([$($doc:tt)*] $(#[$field_meta:meta])* $field:ident : $field_ty:ty,)+
    ]) => {
        $($meta)*
        #[derive(Debug, Default, ::serde::Deserialize, ::utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        $vis struct $name {
            $($($doc)* $(#[$field_meta])* pub $field: $field_ty,)+
            $($own)*
        }
    };
    (@struct_with undocumented [$($meta:tt)*] $vis:vis $name:ident { $($own:tt)* } [
        $([$($doc:tt)*] $(#[$field_meta:meta])* $field:ident : $field_ty:ty,)+
    ]) => {
        $($meta)*
        #[derive(Debug, Default, ::serde::Deserialize, ::utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        $vis struct $name {
            $($(#[$field_meta])* pub $field: $field_ty,)+
            $($own)*
        }
    };
    (@split_with $this:ident [$($extra:ident)+] [
        $([$($doc:tt)*] $(#[$field_meta:meta])* $field:ident : $field_ty:ty,)+
    ]) => {{
        let Self { $($field,)+ $($extra,)+ } = $this;
        ($crate::users::profile::ProfilePatch { $($field,)+ }, ($($extra,)+))
    }};
}
pub(crate) use profile_patch;

profile_patch! {
    /// What a member may change about themselves — never roles, tenant or flags.
    pub struct ProfilePatch {}
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
