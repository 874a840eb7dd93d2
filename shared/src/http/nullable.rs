//! PATCH fields that may be cleared: an explicit `null` (remove) is told
//! apart from an absent field (keep). Use with
//! `#[serde(default, deserialize_with = "shared::http::nullable")]` on an
//! `Option<Option<T>>`.

use serde::{Deserialize, Deserializer};

pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Patch {
        #[serde(default, deserialize_with = "super::nullable")]
        domain: Option<Option<String>>,
    }

    #[test]
    fn absent_null_and_value_differ() {
        let p = |s: &str| serde_json::from_str::<Patch>(s).unwrap().domain;
        assert_eq!(p("{}"), None);
        assert_eq!(p(r#"{"domain": null}"#), Some(None));
        assert_eq!(p(r#"{"domain": "a.io"}"#), Some(Some("a.io".into())));
    }
}
