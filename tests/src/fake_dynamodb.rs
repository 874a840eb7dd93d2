//! An in-process stand-in for DynamoDB's HTTP endpoint, for benchmarks:
//! the SDK builds, signs and sends each request as usual, and this client
//! answers it from items held in memory, with no network.
//!
//! It knows just enough of the API for the store's calls: `GetItem`,
//! `BatchGetItem`, `TransactGetItems`, `Query` (key conditions, order,
//! `Limit`, `ExclusiveStartKey`; filter expressions are ignored), the
//! `ProjectionExpression` of the reads but `TransactGetItems`,
//! `PutItem`, `DeleteItem` and the puts and deletes of
//! `TransactWriteItems`. Updates and conditions always succeed and change
//! nothing. Items are kept in DynamoDB's JSON wire format, as the store's
//! own writes sent them, so every answer deserialises into real records.
//! After [`FakeDynamo::freeze`] writes are answered but not kept, so a
//! benchmark's writes leave its reads unchanged.
//!
//! Once frozen the fake costs next to nothing, so a benchmark measures the
//! function rather than the fake: each distinct request is answered once
//! and its response bytes replayed after (as the SDK's replay clients do),
//! and writes are answered without reading their bodies. Requests are told
//! apart by a hash that ignores the order of their objects' entries: the
//! SDK writes a map of more than one entry (`ExpressionAttributeNames`) in
//! a new order each time.

use aws_sdk_dynamodb::config::RuntimeComponents;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use serde::de::{DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// (table, PK, SK)
type ItemKey = (String, String, String);

/// Request body's [`request_key`] → (status, response body), for one
/// operation.
type Answers = HashMap<u64, (u16, Bytes)>;

#[derive(Debug, Default)]
struct Tables {
    items: RwLock<BTreeMap<ItemKey, Value>>,
    frozen: AtomicBool,
    /// Operations answered since the last [`FakeDynamo::take_calls`].
    calls: Mutex<Vec<String>>,
    /// Responses given while frozen: operation → request key → (status,
    /// body). Emptied whenever an item changes.
    answers: Mutex<HashMap<String, Answers>>,
}

/// The fake endpoint; clones share the same items.
#[derive(Debug, Clone, Default)]
pub struct FakeDynamo(Arc<Tables>);

impl FakeDynamo {
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on writes succeed without changing the items.
    pub fn freeze(&self) {
        self.0.frozen.store(true, Ordering::SeqCst);
    }

    /// The operations answered since the last call, in order.
    pub fn take_calls(&self) -> Vec<String> {
        self.0
            .calls
            .lock()
            .map(|mut calls| std::mem::take(&mut *calls))
            .unwrap_or_default()
    }

    /// Number of items held.
    pub fn len(&self) -> usize {
        self.0.items.read().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every item (wire format) whose `entity` attribute is `entity`.
    pub fn items_of(&self, entity: &str) -> Vec<Value> {
        let items = self.0.items.read().expect("fake table lock");
        items
            .values()
            .filter(|item| string(item, "entity") == Some(entity))
            .cloned()
            .collect()
    }

    /// Stores an item (wire format) even when frozen.
    pub fn put_item(&self, table: &str, item: Value) {
        self.store(table, item);
    }

    fn store(&self, table: &str, item: Value) {
        let (Some(pk), Some(sk)) = (string(&item, "PK"), string(&item, "SK")) else {
            return;
        };
        let key = (table.to_owned(), pk.to_owned(), sk.to_owned());
        self.0
            .items
            .write()
            .expect("fake table lock")
            .insert(key, item);
        self.forget_answers();
    }

    fn forget_answers(&self) {
        if let Ok(mut answers) = self.0.answers.lock() {
            answers.clear();
        }
    }

    fn get(&self, table: &str, key: &Value) -> Option<Value> {
        let (pk, sk) = (string(key, "PK")?, string(key, "SK")?);
        let items = self.0.items.read().expect("fake table lock");
        items
            .get(&(table.to_owned(), pk.to_owned(), sk.to_owned()))
            .cloned()
    }

    fn delete(&self, table: &str, key: &Value) -> Option<Value> {
        let old = self.get(table, key);
        if !self.0.frozen.load(Ordering::SeqCst) {
            if let (Some(pk), Some(sk)) = (string(key, "PK"), string(key, "SK")) {
                self.0.items.write().expect("fake table lock").remove(&(
                    table.to_owned(),
                    pk.to_owned(),
                    sk.to_owned(),
                ));
                self.forget_answers();
            }
        }
        old
    }

    fn write(&self, table: &str, item: &Value) {
        if !self.0.frozen.load(Ordering::SeqCst) {
            self.store(table, item.clone());
        }
    }

    /// The answer to one operation, or an error type and message.
    fn answer(&self, operation: &str, input: &Value) -> Result<Value, (&'static str, String)> {
        let table = input["TableName"].as_str().unwrap_or_default();
        Ok(match operation {
            "GetItem" => match self.get(table, &input["Key"]) {
                Some(mut item) => {
                    project(&mut item, input);
                    json!({ "Item": item })
                }
                None => json!({}),
            },
            "BatchGetItem" => {
                let mut responses = Map::new();
                for (table, request) in object(&input["RequestItems"]) {
                    let found: Vec<Value> = array(&request["Keys"])
                        .iter()
                        .filter_map(|key| self.get(table, key))
                        .map(|mut item| {
                            project(&mut item, request);
                            item
                        })
                        .collect();
                    responses.insert(table.clone(), Value::Array(found));
                }
                json!({ "Responses": responses, "UnprocessedKeys": {} })
            }
            "TransactGetItems" => {
                let responses: Vec<Value> = array(&input["TransactItems"])
                    .iter()
                    .map(|get| {
                        let get = &get["Get"];
                        let table = get["TableName"].as_str().unwrap_or_default();
                        match self.get(table, &get["Key"]) {
                            Some(item) => json!({ "Item": item }),
                            None => json!({}),
                        }
                    })
                    .collect();
                json!({ "Responses": responses })
            }
            "Query" => self.query(table, input),
            "PutItem" => {
                self.write(table, &input["Item"]);
                json!({})
            }
            "UpdateItem" => json!({}),
            "DeleteItem" => match self.delete(table, &input["Key"]) {
                Some(old) if input["ReturnValues"] == "ALL_OLD" => json!({ "Attributes": old }),
                _ => json!({}),
            },
            "TransactWriteItems" => {
                for action in array(&input["TransactItems"]) {
                    if let Some(put) = action.get("Put") {
                        let table = put["TableName"].as_str().unwrap_or_default();
                        self.write(table, &put["Item"]);
                    } else if let Some(delete) = action.get("Delete") {
                        let table = delete["TableName"].as_str().unwrap_or_default();
                        self.delete(table, &delete["Key"]);
                    }
                }
                json!({})
            }
            other => {
                return Err((
                    "UnknownOperationException",
                    format!("the fake does not answer {other}"),
                ))
            }
        })
    }

    fn query(&self, table: &str, input: &Value) -> Value {
        let names = &input["ExpressionAttributeNames"];
        let values = &input["ExpressionAttributeValues"];
        let expression = input["KeyConditionExpression"].as_str().unwrap_or_default();
        let pk_attr = names["#pk"].as_str().unwrap_or("PK");
        let pk = values[":pk"]["S"].as_str().unwrap_or_default();
        // A sparse index holds only items with its sort attribute.
        let sk_attr = names["#sk"].as_str().map(str::to_owned).unwrap_or_else(|| {
            match input["IndexName"].as_str() {
                Some(index) => format!("{index}SK"),
                None => "SK".to_owned(),
            }
        });
        let bound = values[":sk"]["S"].as_str().unwrap_or_default();
        let through = values[":sk_through"]["S"].as_str().unwrap_or_default();
        let matches = |sk: &str| {
            if expression.contains("#sk BETWEEN :sk AND :sk_through") {
                bound <= sk && sk <= through
            } else if expression.contains("begins_with(#sk, :sk)") {
                sk.starts_with(bound)
            } else if expression.contains("#sk <= :sk") {
                sk <= bound
            } else if expression.contains("#sk > :sk") {
                sk > bound
            } else if expression.contains("#sk < :sk") {
                sk < bound
            } else {
                true
            }
        };
        let mut found: Vec<Value> = {
            let items = self.0.items.read().expect("fake table lock");
            items
                .iter()
                .filter(|((t, _, _), item)| {
                    t == table
                        && string(item, pk_attr) == Some(pk)
                        && string(item, &sk_attr).is_some_and(matches)
                })
                .map(|(_, item)| item.clone())
                .collect()
        };
        let order = |item: &Value| {
            (
                string(item, &sk_attr).unwrap_or_default().to_owned(),
                string(item, "PK").unwrap_or_default().to_owned(),
                string(item, "SK").unwrap_or_default().to_owned(),
            )
        };
        found.sort_by_key(order);
        if input["ScanIndexForward"] == false {
            found.reverse();
        }
        if let Some(start) = input.get("ExclusiveStartKey") {
            let at = (string(start, "PK"), string(start, "SK"));
            if let Some(i) = found
                .iter()
                .position(|item| (string(item, "PK"), string(item, "SK")) == at)
            {
                found.drain(..=i);
            }
        }
        let mut answer = Map::new();
        if let Some(limit) = input["Limit"].as_u64() {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            if found.len() > limit {
                found.truncate(limit);
                if let Some(last) = found.last() {
                    let mut key = Map::new();
                    for attr in ["PK", "SK", pk_attr, sk_attr.as_str()] {
                        if let Some(v) = last.get(attr) {
                            key.insert(attr.to_owned(), v.clone());
                        }
                    }
                    answer.insert("LastEvaluatedKey".into(), Value::Object(key));
                }
            }
        }
        for item in &mut found {
            project(item, input);
        }
        answer.insert("Count".into(), json!(found.len()));
        answer.insert("ScannedCount".into(), json!(found.len()));
        answer.insert("Items".into(), Value::Array(found));
        Value::Object(answer)
    }
}

/// Keeps only the attributes of the request's `ProjectionExpression`, if
/// it has one (`request`: the operation's input, or one table's part of a
/// `BatchGetItem`).
fn project(item: &mut Value, request: &Value) {
    let Some(projection) = request["ProjectionExpression"].as_str() else {
        return;
    };
    let names = &request["ExpressionAttributeNames"];
    let attrs: Vec<&str> = projection
        .split(',')
        .map(|a| names[a.trim()].as_str().unwrap_or(a.trim()))
        .collect();
    if let Some(item) = item.as_object_mut() {
        item.retain(|name, _| attrs.contains(&name.as_str()));
    }
}

fn string<'a>(item: &'a Value, attr: &str) -> Option<&'a str> {
    item.get(attr)?.get("S")?.as_str()
}

fn object(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flat_map(|m| m.iter())
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

impl FakeDynamo {
    /// Status and body of the answer to one request.
    fn respond(&self, operation: &str, body: &[u8]) -> (u16, Bytes) {
        let frozen = self.0.frozen.load(Ordering::SeqCst);
        // Frozen writes change nothing and answer `{}`: no need to read them.
        if frozen && matches!(operation, "PutItem" | "UpdateItem" | "TransactWriteItems") {
            return (200, Bytes::from_static(b"{}"));
        }
        let key = frozen.then(|| request_key(body)).flatten();
        if let Some(key) = key {
            let answers = self.0.answers.lock().expect("fake answers lock");
            if let Some(answer) = answers.get(operation).and_then(|a| a.get(&key)) {
                return answer.clone();
            }
        }
        let input: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let (status, value) = match self.answer(operation, &input) {
            Ok(value) => (200, value),
            Err((kind, message)) => (
                400,
                json!({ "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message }),
            ),
        };
        let answer = (status, Bytes::from(value.to_string()));
        if let Some(key) = key {
            let mut answers = self.0.answers.lock().expect("fake answers lock");
            answers
                .entry(operation.to_owned())
                .or_default()
                .insert(key, answer.clone());
        }
        answer
    }
}

impl HttpConnector for FakeDynamo {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        // "DynamoDB_20120810.GetItem" names the operation.
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.split_once('.'))
            .map(|(_, op)| op)
            .unwrap_or_default();
        if let Ok(mut calls) = self.0.calls.lock() {
            calls.push(operation.to_owned());
        }
        let (status, body) = self.respond(operation, request.body().bytes().unwrap_or_default());
        let mut response = HttpResponse::new(
            StatusCode::try_from(status).expect("valid status"),
            SdkBody::from(body),
        );
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.0");
        HttpConnectorFuture::ready(Ok(response))
    }
}

impl HttpClient for FakeDynamo {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// A hash of a JSON body that is the same whatever the order of its
/// objects' entries (each entry hashed alone, the hashes added); `None`
/// for a body that is not JSON.
fn request_key(body: &[u8]) -> Option<u64> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let key = de.deserialize_any(Hashing).ok()?;
    de.end().ok()?;
    Some(key)
}

fn hash_of(value: impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Hashes one JSON value without building it.
struct Hashing;

impl<'de> DeserializeSeed<'de> for Hashing {
    type Value = u64;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<u64, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Hashing {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_unit<E>(self) -> Result<u64, E> {
        Ok(hash_of('z'))
    }

    fn visit_bool<E>(self, v: bool) -> Result<u64, E> {
        Ok(hash_of(('b', v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<u64, E> {
        Ok(hash_of(('i', v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<u64, E> {
        Ok(hash_of(('u', v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<u64, E> {
        Ok(hash_of(('f', v.to_bits())))
    }

    fn visit_str<E>(self, v: &str) -> Result<u64, E> {
        Ok(hash_of(('s', v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut hasher = DefaultHasher::new();
        'a'.hash(&mut hasher);
        while let Some(element) = seq.next_element_seed(Hashing)? {
            element.hash(&mut hasher);
        }
        Ok(hasher.finish())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
        let mut entries = 0u64;
        while let Some(key) = map.next_key_seed(Hashing)? {
            let value = map.next_value_seed(Hashing)?;
            entries = entries.wrapping_add(hash_of((key, value)));
        }
        Ok(hash_of(('o', entries)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_key_ignores_the_order_of_entries_only() {
        let key = |body: &str| request_key(body.as_bytes()).expect("JSON");
        let sent = key(r#"{"TableName":"t","Key":{"PK":{"S":"A"},"SK":{"S":"B"}},"Limit":2}"#);
        assert_eq!(
            sent,
            key(r#"{"Limit":2,"Key":{"SK":{"S":"B"},"PK":{"S":"A"}},"TableName":"t"}"#)
        );
        for other in [
            r#"{"TableName":"t","Key":{"PK":{"S":"B"},"SK":{"S":"A"}},"Limit":2}"#,
            r#"{"TableName":"t","Key":{"PK":{"S":"A"},"SK":{"S":"B"}},"Limit":3}"#,
            r#"{"TableName":"t","Key":{"PK":{"S":"A"},"SK":{"S":"B"}},"Limit":"2"}"#,
            r#"{"TableName":"t","Key":{"PK":{"S":"A"},"SK":{"S":"B"}}}"#,
        ] {
            assert_ne!(sent, key(other), "{other}");
        }
        // Arrays keep their order.
        assert_ne!(key(r#"["a","b"]"#), key(r#"["b","a"]"#));
        assert_eq!(request_key(b"{\"a\":"), None);
    }

    #[test]
    fn a_frozen_fake_answers_a_request_once_in_any_order_of_its_maps() {
        let fake = FakeDynamo::new();
        fake.put_item(
            "t",
            json!({"PK": {"S": "A"}, "SK": {"S": "B"}, "n": {"N": "1"}}),
        );
        fake.freeze();
        let first = fake.respond(
            "GetItem",
            br#"{"TableName":"t","Key":{"PK":{"S":"A"},"SK":{"S":"B"}}}"#,
        );
        assert_eq!(first.0, 200);
        assert!(String::from_utf8_lossy(&first.1).contains(r#""n":{"N":"1"}"#));
        let reordered = br#"{"Key":{"SK":{"S":"B"},"PK":{"S":"A"}},"TableName":"t"}"#;
        assert_eq!(fake.respond("GetItem", reordered), first);
        let kept = fake.0.answers.lock().expect("fake answers lock")["GetItem"].len();
        assert_eq!(kept, 1);
    }
}
