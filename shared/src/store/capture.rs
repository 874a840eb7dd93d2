//! `Query` answers kept as DynamoDB sent them, and decoded by
//! [`dynamo_json`](super::dynamo_json) into records, not by the SDK.
//!
//! The SDK builds an `AttributeValue` map per item before `serde_dynamo`
//! reads it again: most of a list's cost. The store's query client carries
//! [`QueryBodies`]: it takes a successful `Query` answer's body, hands the
//! SDK `{}` in its place (so the SDK decodes nothing), and returns the body
//! in the output as one item under [`ANSWER`] ([`answer_text`] takes it
//! out). [`QueryAnswer`] then reads the items (as [`RawItem`]s, decoded on
//! demand), the count and `LastEvaluatedKey` from the text. An error answer
//! is left to the SDK, which classifies it as before.
//!
//! Measured (docs/performance.md): a page of 20 items costs a quarter to
//! two fifths less. `GetItem` and `BatchGetItem` (one to a few items) were
//! no quicker this way, or 2-3 µs slower, so they keep the SDK's decoding;
//! marking single calls with `customize()` instead of a client of their
//! own cost about 20 µs a call.

use super::{PageKey, StoreError};
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

/// Returns successful `Query` answers as their text: see the module.
#[derive(Debug)]
pub(super) struct QueryBodies;

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

impl Intercept for QueryBodies {
    fn name(&self) -> &'static str {
        "QueryBodies"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let is_query = cfg.load::<Metadata>().is_some_and(|m| m.name() == "Query");
        let response = context.response_mut();
        if !is_query || !response.status().is_success() {
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
        if let Some(query) = output.downcast_mut::<QueryOutput>() {
            let answer = AttributeValue::B(Blob::new(Vec::from(body)));
            query.items = Some(vec![HashMap::from([(ANSWER.to_owned(), answer)])]);
        }
        Ok(())
    }
}

/// The text of a `Query` answer sent through [`QueryBodies`].
pub(super) fn answer_text(output: QueryOutput) -> Result<Bytes, StoreError> {
    let body = output
        .items
        .and_then(|items| items.into_iter().next())
        .and_then(|mut item| item.remove(ANSWER));
    match body {
        Some(AttributeValue::B(blob)) => Ok(Bytes::from(blob.into_inner())),
        _ => Err(StoreError::Backend(
            "a page's answer came without its text".into(),
        )),
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

fn decode<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(StoreError::Decode)
}

/// `bytes` as text: an answer is checked once, whole, rather than string by
/// string as `serde_json` reads bytes.
fn utf8(bytes: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(bytes).map_err(|e| StoreError::Backend(e.into()))
}

/// One item of an answer, as its JSON text.
#[derive(Debug, Clone)]
pub(super) struct RawItem(Bytes);

impl RawItem {
    fn within(body: &Bytes, raw: &RawValue) -> Self {
        Self(body.slice_ref(raw.get().as_bytes()))
    }

    /// The record.
    pub(super) fn decode<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        // Checked with the whole answer already; the slice is checked again
        // (one quick scan) rather than trusted with `unsafe`.
        super::dynamo_json::from_item(utf8(&self.0)?).map_err(StoreError::Decode)
    }

    /// The item's string attributes `attrs` (its keys, as a cursor
    /// position), in one pass that skips the rest; an error if one is
    /// missing.
    pub(super) fn key(&self, attrs: &[&str]) -> Result<PageKey, StoreError> {
        let mut de = serde_json::Deserializer::from_slice(&self.0);
        let found = de
            .deserialize_map(Scan { attrs })
            .map_err(StoreError::Decode)?;
        attrs
            .iter()
            .zip(found)
            .map(|(a, s)| match s {
                Some(s) => Ok(((*a).to_owned(), s)),
                None => Err(missing(a)),
            })
            .collect()
    }
}

fn missing(attr: &str) -> StoreError {
    StoreError::Backend(format!("item lacks key attribute {attr}").into())
}

/// Finds the string attributes `attrs` of an item, in the order asked.
struct Scan<'a> {
    attrs: &'a [&'a str],
}

impl<'de> Visitor<'de> for Scan<'_> {
    type Value = Vec<Option<String>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an item")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = vec![None; self.attrs.len()];
        while let Some(name) = map.next_key::<Name<'de>>()? {
            let name = name.0.as_ref();
            match self.attrs.iter().position(|a| *a == name) {
                Some(i) => found[i] = map.next_value::<Attribute>()?.s,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
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

/// A typed value of which only a string matters: every key attribute of
/// the table and its indexes is one.
#[derive(Deserialize)]
struct Attribute {
    #[serde(rename = "S")]
    s: Option<String>,
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
        let answer: Answer = decode(utf8(body)?)?;
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
    fn an_item_gives_its_own_keys_only() {
        let body = Bytes::from_static(
            br#"{"Items":[{"m":{"M":{"SK":{"S":"no"}}},"PK":{"S":"T#1"},"SK":{"S":"USER#a"},"n":{"N":"1"}}]}"#,
        );
        let answer = QueryAnswer::parse(&body, &["PK", "SK"]).unwrap();
        let key = answer.items[0].key(&["SK", "PK"]).unwrap();
        // The item's own attributes, not a nested map's.
        assert_eq!(key["SK"], "USER#a");
        assert_eq!(key["PK"], "T#1");
        assert!(answer.items[0].key(&["n"]).is_err());
    }

    #[test]
    fn an_answer_that_is_not_utf8_is_an_error() {
        let body = Bytes::from_static(b"{\"Items\":[{\"n\":{\"S\":\"\xff\"}}]}");
        assert!(matches!(
            QueryAnswer::parse(&body, &["PK"]),
            Err(StoreError::Backend(_))
        ));
    }

    #[test]
    fn an_output_without_its_text_is_an_error() {
        let output = QueryOutput::builder().set_items(Some(Vec::new())).build();
        assert!(answer_text(output).is_err());
        let output = QueryOutput::builder()
            .items(HashMap::from([(
                ANSWER.to_owned(),
                AttributeValue::B(Blob::new(b"{}".to_vec())),
            )]))
            .build();
        assert_eq!(answer_text(output).unwrap(), &b"{}"[..]);
    }
}
