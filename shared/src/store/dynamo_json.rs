//! Records read straight from DynamoDB's JSON (`{"name": {"S": "Ada"}}`).
//!
//! The SDK parses an answer into `AttributeValue` maps (a `HashMap` of owned
//! strings and boxed values per item), which `serde_dynamo` then walks into
//! the record. For a page of items that was most of a list's cost. This
//! deserialiser reads the same JSON text in one pass, with `serde_json`
//! underneath, and gives the record what `serde_dynamo` would give it:
//! `N` is parsed as the field asks (as `i64`, then `u64`, then `f64` when
//! the field takes anything), `NULL` is `None` or `()`, a string is also a
//! unit enum variant and a one-entry `M` any other variant. `SS` and `L`
//! are sequences, `B` and `BS` base64 bytes. The tests hold it to
//! `serde_dynamo` for every kind of value.

use base64::Engine as _;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IgnoredAny, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde::Deserialize as _;
use std::fmt;

/// One item's JSON text (an object of typed values) into `T`.
///
/// Text, not bytes: `serde_json` then checks no string's UTF-8 again, which
/// was 3 % of a page (one check of the whole answer costs far less).
pub fn from_item<T: DeserializeOwned>(json: &str) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = T::deserialize(Document(&mut de))?;
    de.end()?;
    Ok(value)
}

/// What the record asked for: the `deserialize_*` method it called.
#[derive(Clone, Copy)]
enum Hint {
    Any,
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
    Char,
    Str,
    String,
    Bytes,
    ByteBuf,
    Option,
    Unit,
    UnitStruct(&'static str),
    NewtypeStruct(&'static str),
    Seq,
    Tuple(usize),
    TupleStruct(&'static str, usize),
    Map,
    Struct(&'static str, &'static [&'static str]),
    Enum(&'static str, &'static [&'static str]),
    Identifier,
    IgnoredAny,
}

/// Calls `de`'s method for `hint`.
fn ask<'de, D: de::Deserializer<'de>, V: Visitor<'de>>(
    de: D,
    hint: Hint,
    v: V,
) -> Result<V::Value, D::Error> {
    match hint {
        Hint::Any => de.deserialize_any(v),
        Hint::Bool => de.deserialize_bool(v),
        Hint::I8 => de.deserialize_i8(v),
        Hint::I16 => de.deserialize_i16(v),
        Hint::I32 => de.deserialize_i32(v),
        Hint::I64 => de.deserialize_i64(v),
        Hint::U8 => de.deserialize_u8(v),
        Hint::U16 => de.deserialize_u16(v),
        Hint::U32 => de.deserialize_u32(v),
        Hint::U64 => de.deserialize_u64(v),
        Hint::F32 => de.deserialize_f32(v),
        Hint::F64 => de.deserialize_f64(v),
        Hint::Char => de.deserialize_char(v),
        Hint::Str => de.deserialize_str(v),
        Hint::String => de.deserialize_string(v),
        Hint::Bytes => de.deserialize_bytes(v),
        Hint::ByteBuf => de.deserialize_byte_buf(v),
        Hint::Option => de.deserialize_option(v),
        Hint::Unit => de.deserialize_unit(v),
        Hint::UnitStruct(name) => de.deserialize_unit_struct(name, v),
        Hint::NewtypeStruct(name) => de.deserialize_newtype_struct(name, v),
        Hint::Seq => de.deserialize_seq(v),
        Hint::Tuple(len) => de.deserialize_tuple(len, v),
        Hint::TupleStruct(name, len) => de.deserialize_tuple_struct(name, len, v),
        Hint::Map => de.deserialize_map(v),
        Hint::Struct(name, fields) => de.deserialize_struct(name, fields, v),
        Hint::Enum(name, variants) => de.deserialize_enum(name, variants, v),
        Hint::Identifier => de.deserialize_identifier(v),
        Hint::IgnoredAny => de.deserialize_ignored_any(v),
    }
}

/// Implements every `deserialize_*` method as `self.with(Hint, visitor)`.
macro_rules! by_hint {
    () => {
        fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::Any, v)
        }
        fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::Bool, v)
        }
        fn deserialize_i8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::I8, v)
        }
        fn deserialize_i16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::I16, v)
        }
        fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::I32, v)
        }
        fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::I64, v)
        }
        fn deserialize_u8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::U8, v)
        }
        fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::U16, v)
        }
        fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::U32, v)
        }
        fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::U64, v)
        }
        fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::F32, v)
        }
        fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::F64, v)
        }
        fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::Char, v)
        }
        fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::Str, v)
        }
        fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::String, v)
        }
        fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::Bytes, v)
        }
        fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::ByteBuf, v)
        }
        fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::Option, v)
        }
        fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::Unit, v)
        }
        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            v: V,
        ) -> Result<V::Value, Self::Error> {
            self.with(Hint::UnitStruct(name), v)
        }
        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            v: V,
        ) -> Result<V::Value, Self::Error> {
            self.with(Hint::NewtypeStruct(name), v)
        }
        fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::Seq, v)
        }
        fn deserialize_tuple<V: Visitor<'de>>(
            self,
            len: usize,
            v: V,
        ) -> Result<V::Value, Self::Error> {
            self.with(Hint::Tuple(len), v)
        }
        fn deserialize_tuple_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            len: usize,
            v: V,
        ) -> Result<V::Value, Self::Error> {
            self.with(Hint::TupleStruct(name, len), v)
        }
        fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::Map, v)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            fields: &'static [&'static str],
            v: V,
        ) -> Result<V::Value, Self::Error> {
            self.with(Hint::Struct(name, fields), v)
        }
        fn deserialize_enum<V: Visitor<'de>>(
            self,
            name: &'static str,
            variants: &'static [&'static str],
            v: V,
        ) -> Result<V::Value, Self::Error> {
            self.with(Hint::Enum(name, variants), v)
        }
        fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::Identifier, v)
        }
        fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.with(Hint::IgnoredAny, v)
        }
    };
}

/// A JSON object of typed values (an item, or an `M`'s content), whatever
/// the record asks: `serde_dynamo` reads an item as a map too.
struct Document<D>(D);

impl<'de, D: de::Deserializer<'de>> Document<D> {
    fn with<V: Visitor<'de>>(self, hint: Hint, v: V) -> Result<V::Value, D::Error> {
        match hint {
            Hint::IgnoredAny => self.0.deserialize_ignored_any(v),
            _ => self.0.deserialize_map(Fields(v)),
        }
    }
}

impl<'de, D: de::Deserializer<'de>> de::Deserializer<'de> for Document<D> {
    type Error = D::Error;
    by_hint!();
}

/// Hands the record a map whose values are typed values.
struct Fields<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for Fields<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of DynamoDB attribute values")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(TypedMap(map))
    }
}

struct TypedMap<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for TypedMap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(seed)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.0.next_value_seed(TypedSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// Passes the record's seed a [`Typed`] value.
struct TypedSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for TypedSeed<S> {
    type Value = S::Value;

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Typed(de))
    }
}

/// One typed value: `{"S": "..."}`, `{"N": "1"}`, `{"M": {...}}`...
struct Typed<D>(D);

impl<'de, D: de::Deserializer<'de>> Typed<D> {
    fn with<V: Visitor<'de>>(self, hint: Hint, v: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(TagVisitor { hint, v })
    }
}

impl<'de, D: de::Deserializer<'de>> de::Deserializer<'de> for Typed<D> {
    type Error = D::Error;
    by_hint!();
}

/// Reads the type tag, then the value as the record asked.
struct TagVisitor<V> {
    hint: Hint,
    v: V,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for TagVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB attribute value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let tag: Tag = map
            .next_key()?
            .ok_or_else(|| de::Error::custom("an attribute value without a type"))?;
        // serde_json refuses a second entry when the map ends.
        map.next_value_seed(Value {
            tag,
            hint: self.hint,
            v: self.v,
        })
    }
}

#[derive(Clone, Copy, serde::Deserialize)]
enum Tag {
    S,
    N,
    B,
    #[serde(rename = "BOOL")]
    Bool,
    #[serde(rename = "NULL")]
    Null,
    M,
    L,
    #[serde(rename = "SS")]
    Ss,
    #[serde(rename = "NS")]
    Ns,
    #[serde(rename = "BS")]
    Bs,
}

/// The JSON under a type tag, read as the record asked.
struct Value<V> {
    tag: Tag,
    hint: Hint,
    v: V,
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for Value<V> {
    type Value = V::Value;

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        ask(Tagged { tag: self.tag, de }, self.hint, self.v)
    }
}

/// The JSON under a known type tag.
struct Tagged<D> {
    tag: Tag,
    de: D,
}

impl<'de, D: de::Deserializer<'de>> Tagged<D> {
    fn with<V: Visitor<'de>>(self, hint: Hint, v: V) -> Result<V::Value, D::Error> {
        match (self.tag, hint) {
            (Tag::Null, Hint::Option) => {
                IgnoredAny::deserialize(self.de)?;
                v.visit_none()
            }
            (Tag::Null, _) => {
                IgnoredAny::deserialize(self.de)?;
                v.visit_unit()
            }
            (_, Hint::Option) => v.visit_some(self),
            // JSON strings, booleans and arrays of strings are what the
            // record expects of S, BOOL and SS (a string is also a unit
            // variant, as in serde_dynamo).
            (Tag::S | Tag::Bool | Tag::Ss, _) => ask(self.de, hint, v),
            (Tag::N, _) => self.de.deserialize_str(Number { hint, v }),
            (Tag::Ns, _) => self.de.deserialize_seq(Elements {
                v,
                element: Element::Number,
            }),
            (Tag::B, _) => self.de.deserialize_str(Binary(v)),
            (Tag::Bs, _) => self.de.deserialize_seq(Elements {
                v,
                element: Element::Binary,
            }),
            (Tag::M, Hint::Enum(..)) => self.de.deserialize_map(Variant(v)),
            (Tag::M, _) => self.de.deserialize_map(Fields(v)),
            (Tag::L, _) => self.de.deserialize_seq(Elements {
                v,
                element: Element::Typed,
            }),
        }
    }
}

impl<'de, D: de::Deserializer<'de>> de::Deserializer<'de> for Tagged<D> {
    type Error = D::Error;
    by_hint!();
}

/// A number's text, parsed as the record asked.
struct Number<V> {
    hint: Hint,
    v: V,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Number<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number as text")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<V::Value, E> {
        fn parse<T: std::str::FromStr, E: de::Error>(s: &str) -> Result<T, E>
        where
            T::Err: fmt::Display,
        {
            s.parse().map_err(E::custom)
        }
        let v = self.v;
        match self.hint {
            Hint::I8 => v.visit_i8(parse(s)?),
            Hint::I16 => v.visit_i16(parse(s)?),
            Hint::I32 => v.visit_i32(parse(s)?),
            Hint::I64 => v.visit_i64(parse(s)?),
            Hint::U8 => v.visit_u8(parse(s)?),
            Hint::U16 => v.visit_u16(parse(s)?),
            Hint::U32 => v.visit_u32(parse(s)?),
            Hint::U64 => v.visit_u64(parse(s)?),
            Hint::F32 => v.visit_f32(parse(s)?),
            Hint::F64 => v.visit_f64(parse(s)?),
            Hint::IgnoredAny => v.visit_unit(),
            // As serde_dynamo: the first of i64, u64 and f64 that fits.
            _ => {
                if let Ok(i) = s.parse::<i64>() {
                    v.visit_i64(i)
                } else if let Ok(u) = s.parse::<u64>() {
                    v.visit_u64(u)
                } else {
                    v.visit_f64(parse(s)?)
                }
            }
        }
    }
}

/// An `NS` element.
struct NumberText<D>(D);

impl<'de, D: de::Deserializer<'de>> NumberText<D> {
    fn with<V: Visitor<'de>>(self, hint: Hint, v: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_str(Number { hint, v })
    }
}

impl<'de, D: de::Deserializer<'de>> de::Deserializer<'de> for NumberText<D> {
    type Error = D::Error;
    by_hint!();
}

/// A `B` value: base64 text, given to the record as bytes.
struct Binary<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for Binary<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("base64 text")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<V::Value, E> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(E::custom)?;
        self.0.visit_byte_buf(bytes)
    }
}

/// A `BS` element.
struct BinaryText<D>(D);

impl<'de, D: de::Deserializer<'de>> BinaryText<D> {
    fn with<V: Visitor<'de>>(self, _: Hint, v: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_str(Binary(v))
    }
}

impl<'de, D: de::Deserializer<'de>> de::Deserializer<'de> for BinaryText<D> {
    type Error = D::Error;
    by_hint!();
}

/// What a list's elements are.
#[derive(Clone, Copy)]
enum Element {
    /// `L`: typed values.
    Typed,
    /// `NS`: numbers as text.
    Number,
    /// `BS`: base64 text.
    Binary,
}

/// A JSON array of `element`s.
struct Elements<V> {
    v: V,
    element: Element,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Elements<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of DynamoDB values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.v.visit_seq(ElementSeq {
            seq,
            element: self.element,
        })
    }
}

struct ElementSeq<A> {
    seq: A,
    element: Element,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for ElementSeq<A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        self.seq.next_element_seed(ElementSeed {
            seed,
            element: self.element,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.seq.size_hint()
    }
}

struct ElementSeed<S> {
    seed: S,
    element: Element,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for ElementSeed<S> {
    type Value = S::Value;

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        match self.element {
            Element::Typed => self.seed.deserialize(Typed(de)),
            Element::Number => self.seed.deserialize(NumberText(de)),
            Element::Binary => self.seed.deserialize(BinaryText(de)),
        }
    }
}

/// A one-entry `M` as an enum variant: `{"Variant": value}`.
struct Variant<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for Variant<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of one variant")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(VariantMap(map))
    }
}

struct VariantMap<A>(A);

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for VariantMap<A> {
    type Error = A::Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(
        mut self,
        seed: S,
    ) -> Result<(S::Value, Self), A::Error> {
        let variant = self
            .0
            .next_key_seed(seed)?
            .ok_or_else(|| de::Error::custom("an enum map without a variant"))?;
        Ok((variant, self))
    }
}

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for VariantMap<A> {
    type Error = A::Error;

    fn unit_variant(mut self) -> Result<(), A::Error> {
        self.0.next_value::<IgnoredAny>().map(|_| ())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        mut self,
        seed: S,
    ) -> Result<S::Value, A::Error> {
        self.0.next_value_seed(TypedSeed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(mut self, len: usize, v: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(HintSeed {
            hint: Hint::Tuple(len),
            v,
        })
    }

    fn struct_variant<V: Visitor<'de>>(
        mut self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(HintSeed {
            hint: Hint::Struct("", fields),
            v,
        })
    }
}

/// A typed value read as `hint`.
struct HintSeed<V> {
    hint: Hint,
    v: V,
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for HintSeed<V> {
    type Value = V::Value;

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        Typed(de).with(self.hint, self.v)
    }
}

#[cfg(test)]
mod tests {
    use super::from_item;
    use crate::permissions::PermissionSet;
    use crate::records::{RoleRecord, TenantRecord};
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_smithy_types::Blob;
    use base64::Engine as _;
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Serialize};
    use serde_json::{json, Map, Value};
    use std::collections::{BTreeMap, HashMap};
    use std::fmt::Debug;
    use time::macros::datetime;
    use uuid::Uuid;

    type Item = HashMap<String, AttributeValue>;

    /// The item as DynamoDB's JSON, as the wire carries it.
    fn text(item: &Item) -> String {
        fn typed(v: &AttributeValue) -> Value {
            let b64 = |b: &Blob| base64::engine::general_purpose::STANDARD.encode(b.as_ref());
            match v {
                AttributeValue::S(s) => json!({ "S": s }),
                AttributeValue::N(n) => json!({ "N": n }),
                AttributeValue::Bool(b) => json!({ "BOOL": b }),
                AttributeValue::Null(b) => json!({ "NULL": b }),
                AttributeValue::Ss(s) => json!({ "SS": s }),
                AttributeValue::Ns(n) => json!({ "NS": n }),
                AttributeValue::B(b) => json!({ "B": b64(b) }),
                AttributeValue::Bs(bs) => json!({ "BS": bs.iter().map(b64).collect::<Vec<_>>() }),
                AttributeValue::L(l) => json!({ "L": l.iter().map(typed).collect::<Vec<_>>() }),
                AttributeValue::M(m) => json!({ "M": object(m) }),
                _ => panic!("no such attribute value"),
            }
        }
        fn object(m: &Item) -> Map<String, Value> {
            m.iter().map(|(k, v)| (k.clone(), typed(v))).collect()
        }
        serde_json::to_string(&object(item)).unwrap()
    }

    /// Decodes `item` both ways and asserts the same record.
    fn same_as_serde_dynamo<T: DeserializeOwned + PartialEq + Debug>(item: Item) -> T {
        let ours: T = from_item(&text(&item)).unwrap();
        let theirs: T = serde_dynamo::from_item(item).unwrap();
        assert_eq!(ours, theirs);
        ours
    }

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(record: &T) {
        let item: Item = serde_dynamo::to_item(record).unwrap();
        let back: T = same_as_serde_dynamo(item);
        assert_eq!(&back, record);
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Dot,
        Circle(f64),
        Pair(i32, i32),
        Rect { w: u32, h: u32 },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Inner {
        name: String,
        tags: Vec<String>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Everything {
        text: String,
        escaped: String,
        none: Option<String>,
        some: Option<i64>,
        negative: i64,
        small: u8,
        huge: u64,
        ratio: f64,
        flag: bool,
        list: Vec<Inner>,
        numbers: Vec<i32>,
        map: BTreeMap<String, u16>,
        shapes: Vec<Shape>,
        unit: (),
        tuple: (u8, String),
        doc: Value,
    }

    #[test]
    fn every_kind_of_value_reads_as_serde_dynamo_reads_it() {
        round_trip(&Everything {
            text: "Ada".into(),
            escaped: "quote \" slash \\ tab \t é ☃ \u{1F600}".into(),
            none: None,
            some: Some(-7),
            negative: i64::MIN,
            small: 255,
            huge: u64::MAX,
            ratio: -1.25e-3,
            flag: true,
            list: vec![Inner {
                name: "x".into(),
                tags: vec!["a".into(), "b".into()],
            }],
            numbers: vec![1, -2, 3],
            map: BTreeMap::from([("one".into(), 1), ("two".into(), 2)]),
            shapes: vec![
                Shape::Dot,
                Shape::Circle(0.5),
                Shape::Pair(1, -1),
                Shape::Rect { w: 3, h: 4 },
            ],
            unit: (),
            tuple: (9, "nine".into()),
            doc: json!({"i": -3, "u": u64::MAX, "f": 2.5, "null": null, "deep": [true, "s", {"k": []}]}),
        });
    }

    #[test]
    fn sets_binary_and_null_read_as_serde_dynamo_reads_them() {
        #[derive(Debug, PartialEq)]
        struct Bytes(Vec<u8>);
        impl<'de> Deserialize<'de> for Bytes {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = Bytes;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E>(self, b: &[u8]) -> Result<Bytes, E> {
                        Ok(Bytes(b.to_vec()))
                    }
                    fn visit_byte_buf<E>(self, b: Vec<u8>) -> Result<Bytes, E> {
                        Ok(Bytes(b))
                    }
                }
                d.deserialize_byte_buf(V)
            }
        }
        #[derive(Debug, PartialEq, Deserialize)]
        struct Sets {
            strings: Vec<String>,
            numbers: Vec<f64>,
            any_numbers: Value,
            blob: Bytes,
            blobs: Vec<Bytes>,
            nothing: Option<u32>,
            unit: (),
        }
        let item = Item::from([
            (
                "strings".into(),
                AttributeValue::Ss(vec!["a".into(), "b".into()]),
            ),
            (
                "numbers".into(),
                AttributeValue::Ns(vec!["1".into(), "-2.5".into()]),
            ),
            (
                "any_numbers".into(),
                AttributeValue::Ns(vec!["3".into(), "0.5".into()]),
            ),
            (
                "blob".into(),
                AttributeValue::B(Blob::new(vec![0, 159, 255])),
            ),
            (
                "blobs".into(),
                AttributeValue::Bs(vec![Blob::new(vec![1]), Blob::new(vec![])]),
            ),
            ("nothing".into(), AttributeValue::Null(true)),
            ("unit".into(), AttributeValue::Null(true)),
        ]);
        let sets: Sets = same_as_serde_dynamo(item);
        assert_eq!(sets.any_numbers, json!([3, 0.5]));
        assert_eq!(sets.blob, Bytes(vec![0, 159, 255]));
    }

    #[test]
    fn records_read_as_serde_dynamo_reads_them() {
        let permissions: PermissionSet = serde_json::from_value(json!({
            "crm": {"leads": {"view": "team", "create": true}},
            "administration": {"roles": {"manage": true}}
        }))
        .unwrap();
        round_trip(&RoleRecord {
            id: Uuid::from_u128(1),
            tenant_id: Uuid::from_u128(2),
            name: "Sales".into(),
            description: String::new(),
            permissions,
            is_active: true,
            is_system: false,
            member_count: 3,
            created_by: None,
            created_by_email: Some("a@example.com".into()),
            created_at: datetime!(2026-01-01 00:00 UTC),
            updated_at: datetime!(2026-01-02 00:00:00.123456 UTC),
            version: 4,
        });
        round_trip(&TenantRecord {
            id: Uuid::from_u128(2),
            name: "Acme".into(),
            slug: "acme".into(),
            domain: None,
            enabled_modules: vec![crate::permissions::Module::Crm],
            settings: json!({"require_verified_email": true, "n": 1.5, "empty": ""}),
            is_active: true,
            trial_ends_at: Some(datetime!(2026-02-01 00:00 UTC)),
            created_at: datetime!(2026-01-01 00:00 UTC),
            updated_at: datetime!(2026-01-01 00:00 UTC),
            version: 1,
        });
    }

    #[test]
    fn keys_and_types_the_item_lacks_are_errors() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Named {
            name: String,
            count: u8,
        }
        for bad in [
            r#"{"name": {"S": "a"}}"#,
            r#"{"name": {"S": "a"}, "count": {"N": "256"}}"#,
            r#"{"name": {"S": "a"}, "count": {"N": "x"}}"#,
            r#"{"name": {"S": "a", "N": "1"}, "count": {"N": "1"}}"#,
            r#"{"name": {}, "count": {"N": "1"}}"#,
            r#"{"name": {"Q": "a"}, "count": {"N": "1"}}"#,
            r#"{"name": {"S": "a"}, "count": {"N": "1"}} trailing"#,
        ] {
            assert!(from_item::<Named>(bad).is_err(), "{bad}");
        }
        let named: Named =
            from_item(r#"{"count": {"N": "1"}, "name": {"S": "a"}, "PK": {"S": "T"}}"#).unwrap();
        assert_eq!((named.name.as_str(), named.count), ("a", 1));
    }
}
