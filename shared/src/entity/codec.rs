//! Field encodings that keep records storable everywhere the table lives.
//!
//! DynamoDB Local (the bundled version) refuses empty strings, and nested
//! JSON documents would otherwise be split into DynamoDB maps, changing
//! number precision and refusing empty strings inside. So: optional text is
//! stored as NULL when blank, and free-form JSON as its JSON text.

/// A `String` that may be blank: stored as NULL when empty, read back as
/// `""` when NULL or missing. Use with `#[serde(default, with = "blank")]`.
pub mod blank {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
        if value.is_empty() {
            s.serialize_none()
        } else {
            s.serialize_str(value)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
    }
}

/// A JSON document stored as its JSON text.
pub mod json_text {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;
    use std::cell::Cell;

    std::thread_local! {
        /// Set while [`as_documents`] runs.
        static AS_DOCUMENTS: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `f`, in which documents serialise as JSON values, not as their
    /// text: for showing a record (the audit log's changes) rather than
    /// storing it. `f` is synchronous, so nothing else runs on this thread
    /// meanwhile.
    pub fn as_documents<R>(f: impl FnOnce() -> R) -> R {
        struct Restore(bool);
        impl Drop for Restore {
            fn drop(&mut self) {
                AS_DOCUMENTS.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(AS_DOCUMENTS.with(|c| c.replace(true)));
        f()
    }

    pub fn serialize<S: Serializer>(value: &Value, s: S) -> Result<S::Ok, S::Error> {
        if AS_DOCUMENTS.with(Cell::get) {
            value.serialize(s)
        } else {
            s.serialize_str(&value.to_string())
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(D::Error::custom)
    }

    /// The stored text as it is, checked to be JSON, for a view that only
    /// passes the document on: no tree is built, and the answer copies it.
    pub mod raw {
        use super::*;
        use serde_json::value::RawValue;

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Box<RawValue>, D::Error> {
            let text = String::deserialize(d)?;
            RawValue::from_string(text).map_err(D::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;
    use serde::{Deserialize, Serialize};
    use serde_json::{json, Value};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Rec {
        #[serde(default, with = "super::blank")]
        note: String,
        #[serde(with = "super::json_text")]
        doc: Value,
    }

    #[test]
    fn blank_text_is_null_and_json_is_text() {
        let rec = Rec {
            note: String::new(),
            doc: json!({"empty": "", "n": 1.5, "deep": {"x": [1, ""]}}),
        };
        let item: std::collections::HashMap<String, AttributeValue> =
            serde_dynamo::to_item(&rec).unwrap();
        assert_eq!(item["note"], AttributeValue::Null(true));
        assert!(matches!(&item["doc"], AttributeValue::S(s) if s.contains(r#""empty":"""#)));
        let back: Rec = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back, rec);
    }

    #[test]
    fn documents_show_as_json_only_inside_as_documents() {
        let rec = Rec {
            note: "n".into(),
            doc: json!({"theme": "dark"}),
        };
        let shown = super::json_text::as_documents(|| serde_json::to_value(&rec).unwrap());
        assert_eq!(shown["doc"], json!({"theme": "dark"}));
        // Storage, before and after, keeps the text.
        assert_eq!(
            serde_json::to_value(&rec).unwrap()["doc"],
            json!(r#"{"theme":"dark"}"#)
        );
    }

    #[test]
    fn missing_blank_text_reads_as_empty() {
        let item =
            std::collections::HashMap::from([("doc".to_owned(), AttributeValue::S("{}".into()))]);
        let rec: Rec = serde_dynamo::from_item(item).unwrap();
        assert_eq!(rec.note, "");
    }

    #[derive(Deserialize)]
    struct Raw {
        #[serde(deserialize_with = "super::json_text::raw::deserialize")]
        doc: Box<serde_json::value::RawValue>,
    }

    #[test]
    fn raw_json_text_passes_through_checked() {
        let item = |text: &str| {
            std::collections::HashMap::from([("doc".to_owned(), AttributeValue::S(text.into()))])
        };
        let text = r#"{"name":{"after":"B","before":"A"},"n":1.50}"#;
        let raw: Raw = serde_dynamo::from_item(item(text)).unwrap();
        assert_eq!(raw.doc.get(), text);
        assert!(serde_dynamo::from_item::<_, Raw>(item(r#"{"name":"#)).is_err());
    }
}
