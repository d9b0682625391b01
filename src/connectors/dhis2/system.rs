//! `system/info`, `me`, `schemas`, `system/ping`.

use chrono::NaiveDateTime;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::Dhis2Client;
use super::error::{Dhis2Error, Result, sanitize};
use super::params::Query;
use super::reports::short_klass;
use super::response::{ResponseMeta, check, html_error, parse_json};
use super::time::parse_timestamp;
use super::version::DhisVersion;

/// `GET /api/system/info`.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemInfo {
    /// As reported, e.g. `2.40.4.1`.
    pub version: String,
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub revision: Option<String>,
    pub build_time: Option<String>,
    /// Server-local wall time: the source of every watermark.
    pub server_date: NaiveDateTime,
    pub server_time_zone_id: Option<String>,
    pub system_id: Option<String>,
    pub system_name: Option<String>,
    pub context_path: Option<String>,
    pub calendar: Option<String>,
}

impl SystemInfo {
    pub fn dhis_version(&self) -> DhisVersion {
        DhisVersion::new(self.major, self.minor, self.patch)
    }
}

fn str_field(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// Parses a `system/info` response. Anything not DHIS2-shaped is `NotDhis2`.
pub fn system_info_from(meta: &ResponseMeta, body: &[u8]) -> Result<SystemInfo> {
    let not_dhis2 = |reason: &str| Dhis2Error::NotDhis2 {
        url: meta.url.clone(),
        reason: reason.to_string(),
    };
    match check(meta, body) {
        Ok(()) => {}
        Err(Dhis2Error::NotFound { .. }) => return Err(not_dhis2("HTTP 404 on /api/system/info")),
        Err(Dhis2Error::BadRequest { status, .. }) if status == 405 || status == 400 => {
            return Err(not_dhis2(&format!("HTTP {status} on /api/system/info")));
        }
        Err(e) => return Err(e),
    }
    let v: Value =
        serde_json::from_slice(body).map_err(|_| not_dhis2("system/info is not valid JSON"))?;
    let Some(version) = v.get("version").and_then(Value::as_str) else {
        return Err(not_dhis2("JSON without a DHIS2 `version`"));
    };
    let parsed = DhisVersion::parse(version)
        .ok_or_else(|| not_dhis2(&format!("unrecognised version {:?}", sanitize(version, 50))))?;
    let server_date = v
        .get("serverDate")
        .and_then(Value::as_str)
        .and_then(parse_timestamp)
        .ok_or_else(|| {
            Dhis2Error::bad_payload(
                "system/info has no parsable serverDate (needed for watermarks)",
                body,
            )
        })?;
    Ok(SystemInfo {
        version: version.to_string(),
        major: parsed.major,
        minor: parsed.minor,
        patch: parsed.patch,
        revision: str_field(&v, "revision"),
        build_time: str_field(&v, "buildTime"),
        server_date,
        server_time_zone_id: str_field(&v, "serverTimeZoneId"),
        system_id: str_field(&v, "systemId"),
        system_name: str_field(&v, "systemName"),
        context_path: str_field(&v, "contextPath"),
        calendar: str_field(&v, "calendar"),
    })
}

/// [`system_info_from`] for a JSON body with this HTTP status.
pub fn parse_system_info(http_status: u16, body: &[u8]) -> Result<SystemInfo> {
    system_info_from(&ResponseMeta::json(http_status), body)
}

/// `GET /api/me`, the parts a sync needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Me {
    pub id: Option<String>,
    pub username: String,
    pub display_name: Option<String>,
    pub authorities: Vec<String>,
    pub organisation_units: Vec<String>,
    pub user_roles: Vec<String>,
}

impl Me {
    /// A superuser holds the `ALL` authority.
    pub fn is_superuser(&self) -> bool {
        self.authorities.iter().any(|a| a == "ALL")
    }

    /// `ALL` implies every authority.
    pub fn has_authority(&self, auth: &str) -> bool {
        self.is_superuser() || self.authorities.iter().any(|a| a == auth)
    }
}

fn ids(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|o| o.get("id").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Parses `/api/me`: `username` at top level (2.38+) or in `userCredentials` (before 2.42).
pub fn me_from(meta: &ResponseMeta, body: &[u8]) -> Result<Me> {
    check(meta, body)?;
    let v: Value = parse_json(body, "/api/me")?;
    let creds = v.get("userCredentials");
    let username = str_field(&v, "username")
        .or_else(|| creds.and_then(|c| str_field(c, "username")))
        .ok_or_else(|| Dhis2Error::bad_payload("/api/me has no username", body))?;
    let mut authorities = strings(v.get("authorities"));
    if authorities.is_empty() {
        // Older shapes only list authorities per role.
        let roles = v
            .get("userRoles")
            .or_else(|| creds.and_then(|c| c.get("userRoles")));
        for role in roles.and_then(Value::as_array).into_iter().flatten() {
            for a in strings(role.get("authorities")) {
                if !authorities.contains(&a) {
                    authorities.push(a);
                }
            }
        }
    }
    let user_roles = {
        let top = ids(v.get("userRoles"));
        if top.is_empty() {
            ids(creds.and_then(|c| c.get("userRoles")))
        } else {
            top
        }
    };
    Ok(Me {
        id: str_field(&v, "id"),
        username,
        display_name: str_field(&v, "displayName").or_else(|| str_field(&v, "name")),
        authorities,
        organisation_units: ids(v.get("organisationUnits")),
        user_roles,
    })
}

/// [`me_from`] for a JSON body with this HTTP status.
pub fn parse_me(http_status: u16, body: &[u8]) -> Result<Me> {
    me_from(&ResponseMeta::json(http_status), body)
}

/// One entry of `/api/schemas`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Schema {
    /// Long class name, e.g. `org.hisp.dhis.dataelement.DataElement`.
    pub klass: String,
    pub plural: String,
    pub singular: Option<String>,
    pub name: Option<String>,
    pub metadata: bool,
    pub order: i64,
}

/// Metadata schemas in DHIS2's own import order (`order` ascending).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportOrder {
    pub schemas: Vec<Schema>,
}

impl ImportOrder {
    /// Plural (API path) for a long or short class name.
    pub fn plural_for(&self, klass: &str) -> Option<&str> {
        let short = short_klass(klass);
        self.schemas
            .iter()
            .find(|s| s.klass == klass || short_klass(&s.klass) == short)
            .map(|s| s.plural.as_str())
    }

    /// Position of a plural in the import order.
    pub fn position(&self, plural: &str) -> Option<usize> {
        self.schemas.iter().position(|s| s.plural == plural)
    }

    pub fn plurals(&self) -> impl Iterator<Item = &str> {
        self.schemas.iter().map(|s| s.plural.as_str())
    }
}

/// Parses `/api/schemas`, keeps `metadata=true`, sorts by `order` (ties by plural).
pub fn schemas_from(meta: &ResponseMeta, body: &[u8]) -> Result<ImportOrder> {
    #[derive(Deserialize)]
    struct Schemas {
        schemas: Vec<Schema>,
    }
    check(meta, body)?;
    let all: Schemas = parse_json(body, "/api/schemas")?;
    let mut schemas: Vec<Schema> = all.schemas.into_iter().filter(|s| s.metadata).collect();
    schemas.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.plural.cmp(&b.plural)));
    Ok(ImportOrder { schemas })
}

/// [`schemas_from`] for a JSON body with this HTTP status.
pub fn parse_schemas(http_status: u16, body: &[u8]) -> Result<ImportOrder> {
    schemas_from(&ResponseMeta::json(http_status), body)
}

impl Dhis2Client {
    /// `GET /api/system/info`; also caches the version for version-aware calls.
    pub async fn system_info(&self) -> Result<SystemInfo> {
        let (meta, body) = self
            .request(Method::GET, &["system", "info"], &[], None)
            .await?;
        let info = system_info_from(&meta, &body)?;
        self.set_version(info.dhis_version());
        Ok(info)
    }

    /// `GET /api/me`.
    pub async fn me(&self) -> Result<Me> {
        let (meta, body) = self.request(Method::GET, &["me"], &[], None).await?;
        me_from(&meta, &body)
    }

    /// Metadata schemas in import order (`GET /api/schemas`).
    pub async fn import_order(&self) -> Result<ImportOrder> {
        let q: Query = vec![(
            "fields".into(),
            "klass,plural,singular,name,metadata,order".into(),
        )];
        let (meta, body) = self.request(Method::GET, &["schemas"], &q, None).await?;
        schemas_from(&meta, &body)
    }

    /// `GET /api/system/ping`: liveness. Answers `pong` as text, so any 2xx
    /// that is not an HTML page counts.
    pub async fn ping(&self) -> Result<()> {
        let (meta, body) = self
            .request(Method::GET, &["system", "ping"], &[], None)
            .await?;
        if meta.is_success() {
            let html = meta
                .content_type
                .as_deref()
                .is_some_and(|c| c.to_ascii_lowercase().contains("html"));
            return if html {
                Err(html_error(&meta.url, &body))
            } else {
                Ok(())
            };
        }
        check(&meta, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_info_not_dhis2() {
        let e = parse_system_info(404, b"{}").unwrap_err();
        assert!(matches!(e, Dhis2Error::NotDhis2 { .. }), "{e}");
        let e = parse_system_info(200, br#"{"status":"UP"}"#).unwrap_err();
        assert!(matches!(e, Dhis2Error::NotDhis2 { .. }), "{e}");
        let meta = ResponseMeta {
            status: 200,
            content_type: Some("text/html".into()),
            ..Default::default()
        };
        let e = system_info_from(&meta, b"<html><h1>It works!</h1></html>").unwrap_err();
        assert!(matches!(e, Dhis2Error::NotDhis2 { .. }), "{e}");
        let e = parse_system_info(200, br#"{"version":"2.41.0"}"#).unwrap_err();
        assert!(matches!(e, Dhis2Error::BadPayload { .. }), "{e}");
        let ok = parse_system_info(
            200,
            br#"{"version":"2.42-SNAPSHOT","serverDate":"2024-05-01T10:00:00.000+0000"}"#,
        )
        .unwrap();
        assert_eq!((ok.major, ok.minor), (2, 42));
        assert_eq!(ok.server_date.to_string(), "2024-05-01 10:00:00");
    }

    #[test]
    fn me_before_242_and_roles() {
        let m = parse_me(
            200,
            br#"{"userCredentials":{"username":"old","userRoles":[{"id":"r1","authorities":["ALL"]}]}}"#,
        )
        .unwrap();
        assert_eq!(m.username, "old");
        assert!(m.is_superuser());
        assert!(m.has_authority("F_METADATA_IMPORT"));
        assert_eq!(m.user_roles, vec!["r1"]);
        let m = parse_me(
            200,
            br#"{"username":"u","authorities":["F_METADATA_IMPORT"]}"#,
        )
        .unwrap();
        assert!(!m.is_superuser());
        assert!(m.has_authority("F_METADATA_IMPORT"));
        assert!(parse_me(200, b"{}").is_err());
    }

    #[test]
    fn schema_order_and_klass_lookup() {
        let body = br#"{"schemas":[
          {"klass":"org.hisp.dhis.dataelement.DataElement","plural":"dataElements","singular":"dataElement","metadata":true,"order":1200},
          {"klass":"org.hisp.dhis.attribute.Attribute","plural":"attributes","metadata":true,"order":100},
          {"klass":"org.hisp.dhis.datavalue.DataValue","plural":"dataValues","metadata":false,"order":0},
          {"klass":"org.hisp.dhis.user.UserRole","plural":"userRoles","metadata":true,"order":100}]}"#;
        let o = parse_schemas(200, body).unwrap();
        assert_eq!(
            o.plurals().collect::<Vec<_>>(),
            ["attributes", "userRoles", "dataElements"]
        );
        assert_eq!(o.plural_for("DataElement"), Some("dataElements"));
        assert_eq!(
            o.plural_for("org.hisp.dhis.dataelement.DataElement"),
            Some("dataElements")
        );
        assert_eq!(o.plural_for("DataValue"), None);
        assert_eq!(o.position("dataElements"), Some(2));
    }
}
