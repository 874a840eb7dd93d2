//! Read answers kept as DynamoDB sent them, and decoded by
//! [`dynamo_json`](super::dynamo_json) into records, not by the SDK.
//!
//! The SDK builds an `AttributeValue` map per item before `serde_dynamo`
//! reads it again: most of a list's cost, and a good part of any read's.
//! The store's read client carries [`ReadBodies`]: it takes a successful
//! `BatchGetItem` or `Query` answer's body, hands the SDK `{}` in its place
//! (so the SDK decodes nothing), and returns the body in the output as one
//! item under [`ANSWER`] ([`Answered::text`] takes it out). [`BatchAnswer`]
//! and [`QueryAnswer`] then read the items (as [`RawItem`]s, decoded on
//! demand) and what the store needs of the rest from the text. An error
//! answer is left to the SDK, which classifies it as before.
//!
//! Measured (docs/performance.md): a page of 20 items costs a quarter to a
//! third less; a `GetItem` of one item cost 2-3 µs more this way, so it
//! stays with the SDK; marking single calls with `customize()` instead of a
//! client of their own cost about 20 µs a call.

use super::{PageKey, StoreError};
use crate::keys;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, FinalizerInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::Blob;
use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};

/// What the SDK deserialises instead of a captured answer.
const EMPTY: &[u8] = b"{}";

/// The attribute of the one item under which an answer's body comes back.
const ANSWER: &str = "answer body";

/// The operations whose answers come back as text.
const READS: [&str; 2] = ["BatchGetItem", "Query"];

/// Returns successful read answers as their text: see the module.
#[derive(Debug)]
pub(super) struct ReadBodies;

/// One attempt's answer body, once read.
#[derive(Debug, Clone, Default)]
struct Capture(Arc<Mutex<Option<Bytes>>>);

impl Storable for Capture {
    type Storer = StoreReplace<Self>;
}

impl Capture {
    fn take(&self) -> Option<Bytes> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn keep(&self, body: Bytes) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(body);
    }
}

impl Intercept for ReadBodies {
    fn name(&self) -> &'static str {
        "ReadBodies"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let is_read = cfg
            .load::<Metadata>()
            .is_some_and(|m| READS.contains(&m.name()));
        let response = context.response_mut();
        if !is_read || !response.status().is_success() {
            cfg.interceptor_state().unset::<Capture>();
            return Ok(());
        }
        let capture = Capture::default();
        let inner = std::mem::replace(response.body_mut(), SdkBody::taken());
        *response.body_mut() = SdkBody::from_body_1_x(Capturing {
            inner,
            read: BytesMut::new(),
            capture: capture.clone(),
            done: false,
        });
        cfg.interceptor_state().store_put(capture);
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(body) = cfg.load::<Capture>().and_then(Capture::take) else {
            return Ok(());
        };
        let Some(Ok(output)) = context.output_or_error_mut() else {
            return Ok(());
        };
        let answer = HashMap::from([(
            ANSWER.to_owned(),
            AttributeValue::B(Blob::new(Vec::from(body))),
        )]);
        if let Some(query) = output.downcast_mut::<QueryOutput>() {
            query.items = Some(vec![answer]);
        } else if let Some(batch) = output.downcast_mut::<BatchGetItemOutput>() {
            batch.responses = Some(HashMap::from([(ANSWER.to_owned(), vec![answer])]));
        }
        Ok(())
    }
}

/// The output of a read sent through [`ReadBodies`].
pub(super) trait Answered {
    /// The answer's text.
    fn text(self) -> Result<Bytes, StoreError>;
}

fn text_of(item: Option<HashMap<String, AttributeValue>>) -> Result<Bytes, StoreError> {
    match item.and_then(|mut item| item.remove(ANSWER)) {
        Some(AttributeValue::B(blob)) => Ok(Bytes::from(blob.into_inner())),
        _ => Err(StoreError::Backend(
            "a read's answer came without its text".into(),
        )),
    }
}

impl Answered for QueryOutput {
    fn text(self) -> Result<Bytes, StoreError> {
        text_of(self.items.and_then(|items| items.into_iter().next()))
    }
}

impl Answered for BatchGetItemOutput {
    fn text(self) -> Result<Bytes, StoreError> {
        let mut responses = self.responses.unwrap_or_default();
        text_of(
            responses
                .remove(ANSWER)
                .and_then(|items| items.into_iter().next()),
        )
    }
}

/// Reads the answer whole into the capture, then yields [`EMPTY`].
struct Capturing {
    inner: SdkBody,
    read: BytesMut,
    capture: Capture,
    done: bool,
}

impl Body for Capturing {
    type Data = Bytes;
    type Error = aws_smithy_types::body::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if this.read.is_empty() {
                            // Most answers come in one piece: no copy.
                            this.read = BytesMut::from(data);
                        } else {
                            this.read.extend_from_slice(&data);
                        }
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    this.done = true;
                    this.capture.keep(std::mem::take(&mut this.read).freeze());
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(EMPTY)))));
                }
            }
        }
    }
}

fn decode<'a, T: Deserialize<'a>>(text: &'a [u8]) -> Result<T, StoreError> {
    serde_json::from_slice(text).map_err(StoreError::Decode)
}

/// One item of an answer, as its JSON text.
#[derive(Debug, Clone)]
pub(crate) struct RawItem(Bytes);

impl RawItem {
    fn within(body: &Bytes, raw: &RawValue) -> Self {
        Self(body.slice_ref(raw.get().as_bytes()))
    }

    /// The record.
    pub(super) fn decode<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        super::dynamo_json::from_item(&self.0).map_err(StoreError::Decode)
    }

    /// The item's string attributes `attrs` (its keys, as a cursor
    /// position); an error if one is missing.
    pub(super) fn key(&self, attrs: &[&str]) -> Result<PageKey, StoreError> {
        let scanned = self.scan(attrs)?;
        attrs
            .iter()
            .zip(scanned.strings)
            .map(|(a, s)| match s {
                Some(s) => Ok(((*a).to_owned(), s)),
                None => Err(missing(a)),
            })
            .collect()
    }

    /// The string attributes `attrs` (`None` where missing) and the expiry,
    /// in one pass that skips the rest.
    pub(super) fn scan(&self, attrs: &[&str]) -> Result<Scanned, StoreError> {
        let mut de = serde_json::Deserializer::from_slice(&self.0);
        de.deserialize_map(Scan { attrs })
            .map_err(StoreError::Decode)
    }
}

fn missing(attr: &str) -> StoreError {
    StoreError::Backend(format!("item lacks key attribute {attr}").into())
}

/// What [`RawItem::scan`] found.
pub(super) struct Scanned {
    /// The asked string attributes, in the order asked.
    pub(super) strings: Vec<Option<String>>,
    /// The item's expiry (`expires_at`), in Unix seconds.
    pub(super) expires_at: Option<i64>,
}

impl Scanned {
    /// Whether DynamoDB may not have deleted the item yet, though it expired.
    pub(super) fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

struct Scan<'a> {
    attrs: &'a [&'a str],
}

impl<'de> Visitor<'de> for Scan<'_> {
    type Value = Scanned;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an item")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scanned, A::Error> {
        let mut scanned = Scanned {
            strings: vec![None; self.attrs.len()],
            expires_at: None,
        };
        while let Some(name) = map.next_key::<Name<'de>>()? {
            let name = name.0.as_ref();
            if let Some(i) = self.attrs.iter().position(|a| *a == name) {
                scanned.strings[i] = map.next_value::<Attribute>()?.s;
            } else if name == keys::TTL {
                scanned.expires_at = map
                    .next_value::<Attribute>()?
                    .n
                    .and_then(|n| n.parse().ok());
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(scanned)
    }
}

/// An attribute name, borrowed from the text unless it has escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an attribute name")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A typed value of which only a string or a number matters: every key
/// attribute of the table and its indexes is a string, the expiry a number.
#[derive(Deserialize)]
struct Attribute {
    #[serde(rename = "S")]
    s: Option<String>,
    #[serde(rename = "N")]
    n: Option<String>,
}

/// A key as DynamoDB writes it: `{"PK": {"S": ...}, "SK": {"S": ...}}`.
fn string_key(mut key: BTreeMap<String, Attribute>, attrs: &[&str]) -> Result<PageKey, StoreError> {
    attrs
        .iter()
        .map(|a| match key.remove(*a).and_then(|v| v.s) {
            Some(s) => Ok(((*a).to_owned(), s)),
            None => Err(missing(a)),
        })
        .collect()
}

/// What a `BatchGetItem` of one table answered.
pub(super) struct BatchAnswer {
    pub(super) items: Vec<RawItem>,
    /// The (PK, SK) of the keys DynamoDB left for another call.
    pub(super) unprocessed: Vec<(String, String)>,
}

impl BatchAnswer {
    pub(super) fn parse(body: &Bytes, table: &str) -> Result<Self, StoreError> {
        #[derive(Deserialize)]
        struct Answer<'a> {
            #[serde(rename = "Responses", borrow, default)]
            responses: HashMap<String, Vec<&'a RawValue>>,
            #[serde(rename = "UnprocessedKeys", default)]
            unprocessed: HashMap<String, Unprocessed>,
        }
        #[derive(Deserialize)]
        struct Unprocessed {
            #[serde(rename = "Keys", default)]
            keys: Vec<BTreeMap<String, Attribute>>,
        }
        let mut answer: Answer = decode(body)?;
        let items = answer
            .responses
            .remove(table)
            .unwrap_or_default()
            .into_iter()
            .map(|raw| RawItem::within(body, raw))
            .collect();
        let unprocessed = answer
            .unprocessed
            .remove(table)
            .map(|u| u.keys)
            .unwrap_or_default()
            .into_iter()
            .map(|key| {
                let mut key = string_key(key, &[keys::PK, keys::SK])?;
                match (key.remove(keys::PK), key.remove(keys::SK)) {
                    (Some(pk), Some(sk)) => Ok((pk, sk)),
                    _ => Err(missing(keys::SK)),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { items, unprocessed })
    }
}

/// What a `Query` answered.
pub(super) struct QueryAnswer {
    pub(super) items: Vec<RawItem>,
    pub(super) scanned_count: usize,
    pub(super) last_evaluated_key: Option<PageKey>,
}

impl QueryAnswer {
    /// Reads a `Query` answer; `key_attrs` are the attributes of its
    /// `LastEvaluatedKey`.
    pub(super) fn parse(body: &Bytes, key_attrs: &[&str]) -> Result<Self, StoreError> {
        #[derive(Deserialize)]
        struct Answer<'a> {
            #[serde(rename = "Items", borrow, default)]
            items: Vec<&'a RawValue>,
            #[serde(rename = "ScannedCount", default)]
            scanned_count: usize,
            #[serde(rename = "LastEvaluatedKey", default)]
            last_evaluated_key: Option<BTreeMap<String, Attribute>>,
        }
        let answer: Answer = decode(body)?;
        Ok(Self {
            items: answer
                .items
                .into_iter()
                .map(|raw| RawItem::within(body, raw))
                .collect(),
            scanned_count: answer.scanned_count,
            last_evaluated_key: answer
                .last_evaluated_key
                .map(|key| string_key(key, key_attrs))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::collections::VecDeque;

    /// A body that arrives in `chunks`, as a socket may deliver it.
    struct Chunks(VecDeque<&'static [u8]>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(
                self.0
                    .pop_front()
                    .map(|c| Ok(Frame::data(Bytes::from_static(c)))),
            )
        }
    }

    async fn capture(chunks: &[&'static [u8]]) -> (Bytes, Bytes) {
        let capture = Capture::default();
        let body = Capturing {
            inner: SdkBody::from_body_1_x(Chunks(chunks.iter().copied().collect())),
            read: BytesMut::new(),
            capture: capture.clone(),
            done: false,
        };
        let handed_on = body.collect().await.unwrap().to_bytes();
        (handed_on, capture.take().unwrap())
    }

    #[tokio::test]
    async fn the_sdk_gets_an_empty_object_and_the_store_the_whole_body() {
        for chunks in [
            &[&br#"{"Count":0,"Items":[]}"#[..]][..],
            &[&b"{\"Cou"[..], b"nt\":0,\"It", b"ems\":[]}"],
            &[],
        ] {
            let (handed_on, kept) = capture(chunks).await;
            assert_eq!(handed_on, EMPTY);
            assert_eq!(kept, chunks.concat());
        }
    }

    #[test]
    fn an_answer_gives_its_items_count_and_where_it_stopped() {
        let body = Bytes::from_static(
            br#"{"Count":2,"ScannedCount":3,
                "Items":[{"PK":{"S":"T#1"},"SK":{"S":"USER#a"},"n":{"N":"1"}},
                         {"PK":{"S":"T#1"},"SK":{"S":"USER#b"},"n":{"N":"2"}}],
                "LastEvaluatedKey":{"PK":{"S":"T#1"},"SK":{"S":"USER#c"}}}"#,
        );
        let answer = QueryAnswer::parse(&body, &["PK", "SK"]).unwrap();
        assert_eq!(answer.scanned_count, 3);
        let stopped = answer.last_evaluated_key.unwrap();
        assert_eq!(stopped["SK"], "USER#c");
        let second = &answer.items[1];
        assert_eq!(second.key(&["SK"]).unwrap()["SK"], "USER#b");
        #[derive(Deserialize)]
        struct N {
            n: u8,
        }
        assert_eq!(second.decode::<N>().unwrap().n, 2);

        let last = QueryAnswer::parse(&Bytes::from_static(br#"{"Items":[]}"#), &["PK"]).unwrap();
        assert!(last.items.is_empty() && last.last_evaluated_key.is_none());
        // A cursor needs every key attribute.
        assert!(QueryAnswer::parse(&body, &["PK", "GSI1SK"]).is_err());
        assert!(second.key(&["GSI1SK"]).is_err());
    }

    #[test]
    fn an_item_gives_its_own_keys_and_expiry() {
        let body = Bytes::from_static(
            br#"{"Items":[{"PK":{"S":"T#1"},"SK":{"S":"USER#a"},"expires_at":{"N":"100"},"m":{"M":{"PK":{"S":"no"}}}}]}"#,
        );
        let answer = QueryAnswer::parse(&body, &["PK", "SK"]).unwrap();
        let scanned = answer.items[0].scan(&["SK", "PK", "GSI1SK"]).unwrap();
        // Only the item's own attributes: not a nested map's.
        assert_eq!(
            scanned.strings,
            [Some("USER#a".to_owned()), Some("T#1".to_owned()), None]
        );
        assert_eq!(scanned.expires_at, Some(100));
        assert!(scanned.is_expired(100) && !scanned.is_expired(99));
    }

    #[test]
    fn a_batch_gives_its_tables_items_and_the_keys_left_unprocessed() {
        let body = Bytes::from_static(
            br#"{"Responses":{"main":[{"PK":{"S":"T#1"},"SK":{"S":"A"}}],"other":[{"PK":{"S":"X"},"SK":{"S":"Y"}}]},
                "UnprocessedKeys":{"main":{"Keys":[{"PK":{"S":"T#1"},"SK":{"S":"B"}}],"ConsistentRead":true}}}"#,
        );
        let answer = BatchAnswer::parse(&body, "main").unwrap();
        assert_eq!(answer.items.len(), 1);
        assert_eq!(answer.items[0].key(&["SK"]).unwrap()["SK"], "A");
        assert_eq!(answer.unprocessed, [("T#1".to_owned(), "B".to_owned())]);
        let none = BatchAnswer::parse(&Bytes::from_static(br#"{"Responses":{}}"#), "main").unwrap();
        assert!(none.items.is_empty() && none.unprocessed.is_empty());
    }

    #[test]
    fn an_output_without_its_text_is_an_error() {
        let output = QueryOutput::builder().set_items(Some(Vec::new())).build();
        assert!(output.text().is_err());
        let output = QueryOutput::builder()
            .items(HashMap::from([(
                ANSWER.to_owned(),
                AttributeValue::B(Blob::new(b"{}".to_vec())),
            )]))
            .build();
        assert_eq!(output.text().unwrap(), &b"{}"[..]);
    }
}
