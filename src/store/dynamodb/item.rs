//! Reading and writing attribute maps: the key layout of the one table (see
//! `docs/dynamodb.md`) and typed access that reports a malformed item as corrupt.

use std::collections::HashMap;

use aws_sdk_dynamodb::{primitives::Blob, types::AttributeValue};

use crate::store::StoreError;

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The TTL attribute (epoch seconds). DynamoDB deletes expired items lazily, so every read and
/// condition uses the precise `expires_at_ms` as well.
pub const TTL: &str = "expires_at";
pub const EXPIRES_MS: &str = "expires_at_ms";

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn b(v: impl Into<Vec<u8>>) -> AttributeValue {
    AttributeValue::B(Blob::new(v))
}

/// An item's key.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// A new item: its key, its type (for people reading the table) and `attrs`.
pub fn item(
    pk: impl Into<String>,
    sk: impl Into<String>,
    kind: &str,
    attrs: impl IntoIterator<Item = (&'static str, AttributeValue)>,
) -> Item {
    let mut item = key(pk, sk);
    item.insert("type".into(), s(kind));
    item.extend(attrs.into_iter().map(|(k, v)| (k.to_owned(), v)));
    item
}

/// The expiry attributes for an item that expires at `expires_ms`.
pub fn expiry(expires_ms: i64) -> [(&'static str, AttributeValue); 2] {
    // Rounded up, so DynamoDB never deletes an item we still count as live.
    [
        (EXPIRES_MS, n(expires_ms)),
        (TTL, n(expires_ms.div_euclid(1000) + 1)),
    ]
}

fn corrupt(item: &Item, name: &str, what: &str) -> StoreError {
    let pk = item.get(PK).and_then(|v| v.as_s().ok()).map_or("?", |v| v);
    StoreError::Corrupt(format!("item {pk}: attribute `{name}` {what}"))
}

pub fn opt_s(item: &Item, name: &str) -> Result<Option<String>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(corrupt(item, name, "is not a string")),
    }
}

pub fn get_s(item: &Item, name: &str) -> Result<String, StoreError> {
    opt_s(item, name)?.ok_or_else(|| corrupt(item, name, "is missing"))
}

pub fn opt_n(item: &Item, name: &str) -> Result<Option<i64>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v
            .parse()
            .map(Some)
            .map_err(|_| corrupt(item, name, "is not an integer")),
        Some(_) => Err(corrupt(item, name, "is not a number")),
    }
}

pub fn get_n(item: &Item, name: &str) -> Result<i64, StoreError> {
    opt_n(item, name)?.ok_or_else(|| corrupt(item, name, "is missing"))
}

pub fn opt_b(item: &Item, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::B(v)) => Ok(Some(v.clone().into_inner())),
        Some(_) => Err(corrupt(item, name, "is not binary")),
    }
}
