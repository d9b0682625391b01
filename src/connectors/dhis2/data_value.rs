//! One aggregate data value, and a whole data value set, as DHIS2 exports
//! and imports them (`/api/dataValueSets`).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::error::Result;
use super::response::parse_json;

/// One aggregate data value as DHIS2 exports and imports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataValue {
    pub data_element: String,
    pub period: String,
    pub org_unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_option_combo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_option_combo: Option<String>,
    /// Always a string on the wire; numbers/booleans are accepted and stringified.
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_by: Option<String>,
    /// Kept as sent (server-local); parse with `time::parse_timestamp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followup: Option<bool>,
    /// Soft-deleted (with `includeDeleted=true`); importing it deletes at the destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
}

fn lenient_string<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string, number, boolean or null")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Self::Value, E> {
            Ok(Some(s.to_string()))
        }
        fn visit_string<E: de::Error>(self, s: String) -> std::result::Result<Self::Value, E> {
            Ok(Some(s))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> std::result::Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> std::result::Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> std::result::Result<Self::Value, E> {
            Ok(Some(n.to_string()))
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> std::result::Result<Self::Value, E> {
            Ok(Some(b.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A whole (small) data value set document, e.g. an import payload.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataValueSet {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_set: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_unit: Option<String>,
    pub data_values: Vec<DataValue>,
}

/// Parses a whole data value set in memory (small documents only; exports
/// go through [`Dhis2Client::data_values`]).
pub fn parse_data_value_set(body: &[u8]) -> Result<DataValueSet> {
    parse_json(body, "data value set")
}
