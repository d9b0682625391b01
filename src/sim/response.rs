//! DHIS2's WebMessage envelope and other response helpers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

fn reason(code: StatusCode) -> String {
    // DHIS2 writes the enum name of Spring's HttpStatus: "Conflict", "Not Found"...
    code.canonical_reason().unwrap_or("Unknown").to_string()
}

/// `{"httpStatus","httpStatusCode","status","message"}` plus extra fields.
pub fn web_message(code: StatusCode, status: &str, message: &str, extra: Value) -> Response {
    let mut body = json!({
        "httpStatus": reason(code),
        "httpStatusCode": code.as_u16(),
        "status": status,
        "message": message,
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    json_response(code, &body)
}

pub fn error(code: StatusCode, message: &str) -> Response {
    web_message(code, "ERROR", message, Value::Null)
}

pub fn conflict(message: &str, error_code: &str) -> Response {
    web_message(
        StatusCode::CONFLICT,
        "ERROR",
        message,
        json!({"errorCode": error_code}),
    )
}

pub fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

pub fn json_response(code: StatusCode, body: &Value) -> Response {
    let mut resp = (code, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    resp
}

pub fn ok_json(body: &Value) -> Response {
    json_response(StatusCode::OK, body)
}

pub async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}
