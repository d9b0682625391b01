//! Canonical JSON and MD5: the same content always hashes the same, whatever the
//! key order or whitespace it arrived with (the simulator's digest), and the
//! MD5 a Python program computes for a JSON document (`python_json_md5`, for
//! the HTTP-pull connector's change detection).

mod python_json;

use md5::{Digest, Md5};
use serde_json::Value;

pub use python_json::PyJsonError;

/// The text [`python_json_md5`] hashes: `json.dumps(json.loads(text), sort_keys=True)`.
pub fn python_json_dumps(text: &[u8], without: Option<&str>) -> Result<String, PyJsonError> {
    python_json::dumps_sorted(text, without)
}

/// The MD5 (lowercase hex) a Python backend or agent computes for this JSON
/// document: `md5(json.dumps(json.loads(text), sort_keys=True))`, leaving out
/// the top-level key `without` (the document's own hash field) when given.
/// See `python_json` for what that takes.
pub fn python_json_md5(text: &[u8], without: Option<&str>) -> Result<String, PyJsonError> {
    let dumped = python_json_dumps(text, without)?;
    let mut h = Md5Hex::default();
    h.update(dumped.as_bytes());
    Ok(h.finish())
}

/// JSON with object keys sorted at every level and no whitespace.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Removes the given keys at every level (timestamps and other volatile fields).
pub fn strip_keys(value: &mut Value, keys: &[&str]) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !keys.contains(&k.as_str()));
            for v in map.values_mut() {
                strip_keys(v, keys);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| strip_keys(v, keys)),
        _ => {}
    }
}

/// An incremental MD5 rendered as lowercase hex.
#[derive(Default)]
pub struct Md5Hex(Md5);

impl Md5Hex {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    pub fn finish(self) -> String {
        self.0
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md5_hex(bytes: &[u8]) -> String {
        let mut h = Md5Hex::default();
        h.update(bytes);
        h.finish()
    }
    use serde_json::json;

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": "s"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":"s","y":[1,2]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":"s","y":[1,2]},"b":1}"#);
        let c = json!({"a": {"x": "s", "y": [2, 1]}, "b": 1});
        assert_ne!(
            canonical_json(&a),
            canonical_json(&c),
            "array order is content"
        );
    }

    #[test]
    fn md5_matches_known_vector() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn strips_nested_keys() {
        let mut v = json!({"id": "a", "lastUpdated": "t", "items": [{"lastUpdated": "t", "n": 1}]});
        strip_keys(&mut v, &["lastUpdated"]);
        assert_eq!(v, json!({"id": "a", "items": [{"n": 1}]}));
    }
}
