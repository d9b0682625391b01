//! `/api/system/info`, `/api/system/ping`, `/api/me`, `/api/schemas` and the login page.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::model::MetaType;
use super::query::{Params, apply_fields, parse_fields};
use super::response::ok_json;
use super::{Shared, clock, schemas};

pub async fn info(State(sim): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.as_deref());
    let body = json!({
        "contextPath": sim.base_url,
        "calendar": "iso8601",
        "dateFormat": "yyyy-mm-dd",
        "serverDate": clock::format(clock::now()),
        "version": sim.version().full(),
        "revision": "5ec1d0e",
        "buildTime": "2024-06-01T08:00:00.000",
        "environmentVariable": "DHIS2_HOME",
        "databaseInfo": {"type": "PostgreSQL", "spatialSupport": true},
        "encryption": false,
        "systemId": format!("5e5e5e5e-0000-4000-8000-{:012x}", sim.opts.seed),
        "systemName": format!("syncdeck simulator (seed {})", sim.opts.seed),
        "serverTimeZoneId": clock::zone().id,
        "isMetadataVersionEnabled": true,
        "isMetadataSyncEnabled": false,
    });
    // Without ALL the sensitive fields are nulled, and nulls are not written
    // (2.39.6 dhis-api system/SystemInfo.java `clearSensitiveInfo`, 2.41.3/2.42.1
    // `withoutSensitiveInfo`; webapi/controller/SystemController.java `getSystemInfo`).
    let mut body = body;
    if !sim.opts.has_authority("ALL") {
        body.as_object_mut()
            .map(|b| b.remove("environmentVariable"));
        body["encryption"] = json!(false);
    }
    // `fields` (default `*`) in every version read, 2.38.0 to 2.42.1:
    // `@RequestParam(defaultValue = "*") List<String> fields`, FieldFilterService.
    match params.get("fields") {
        Some(fields) => {
            let obj = body.as_object().cloned().unwrap_or_default();
            ok_json(&Value::Object(apply_fields(&obj, &parse_fields(fields))))
        }
        None => ok_json(&body),
    }
}

pub async fn ping() -> Response {
    let mut resp = (StatusCode::OK, "pong").into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=UTF-8"),
    );
    resp
}

pub async fn me(State(sim): State<Shared>) -> Response {
    let root = sim
        .read()
        .meta(MetaType::OrganisationUnit)
        .iter()
        .find(|(_, o)| o.body.get("level").and_then(Value::as_u64) == Some(1))
        .map(|(id, _)| id.clone());
    let mut body = json!({
        "id": super::generate::ADMIN_USER,
        "username": sim.opts.username,
        "name": "Simulated Superuser",
        "displayName": "Simulated Superuser",
        "firstName": "Simulated",
        "surname": "Superuser",
        "authorities": sim.opts.authorities,
        "organisationUnits": root.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
        "userRoles": [{"id": "yrB6vc5Ip3r", "name": "Superuser"}],
        "userGroups": [],
        "settings": {"keyUiLocale": "en"},
    });
    // `userCredentials` was folded into the user in 2.38 and removed in 2.42.
    if sim.version().minor() < 42 {
        body["userCredentials"] = json!({"id": "ZyjSDLHGPv4", "username": sim.opts.username});
    }
    ok_json(&body)
}

/// `GET /api/schemas`: every schema of the version, metadata or not, in
/// `getSortedSchemas()` order (see `schemas`).
pub async fn schemas(State(sim): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.as_deref());
    let mut schemas: Vec<Value> = schemas::sorted(sim.version(), sim.opts.seed)
        .into_iter()
        .map(|s| {
            json!({
                "klass": s.klass,
                "singular": s.singular,
                "plural": s.plural,
                "name": s.singular,
                "displayName": pretty_class_name(s.short_klass()),
                "metadata": s.metadata,
                "order": s.order,
                "relativeApiEndpoint": format!("/{}", s.plural),
            })
        })
        .collect();
    if let Some(fields) = params.get("fields") {
        let spec = parse_fields(fields);
        schemas = schemas
            .into_iter()
            .map(|s| Value::Object(apply_fields(s.as_object().unwrap_or(&Map::new()), &spec)))
            .collect();
    }
    ok_json(&json!({"schemas": schemas}))
}

/// `TextUtils.getPrettyClassName`: `DataElement` → `Data Element`.
fn pretty_class_name(short: &str) -> String {
    let mut out = String::with_capacity(short.len() + 4);
    for (i, c) in short.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

const LOGIN_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>DHIS 2</title></head><body>\
<form id=\"loginForm\" action=\"/dhis-web-commons-security/login.action\" method=\"post\">\
<input type=\"text\" id=\"j_username\" name=\"j_username\"><input type=\"password\" id=\"j_password\" name=\"j_password\">\
<input type=\"submit\" value=\"Sign in\"></form></body></html>\n";

pub fn login_html() -> Response {
    let mut resp = (StatusCode::OK, LOGIN_PAGE).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=UTF-8"),
    );
    resp
}

pub async fn login_page() -> Response {
    login_html()
}
