//! Errors as the API answers them: a status and `{"error": "…", "kind": "…"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::engine::handle::EngineError;

pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    /// A configuration's problems, each by file, line and key.
    pub problems: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.into(),
            problems: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let message = e.to_string();
        match e {
            EngineError::UnknownConfig(_) | EngineError::UnknownJob(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
            }
            EngineError::Invalid(_) => ApiError::new(StatusCode::CONFLICT, "invalid", message),
            EngineError::InvalidConfig(errors) => ApiError {
                problems: serde_json::to_value(&errors.0).ok(),
                ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_config", message)
            },
            EngineError::Store(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store", message)
            }
            // Only an API in front of a remote engine (not served today).
            EngineError::Unreachable(_) | EngineError::Unauthorized(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "unreachable", message)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.message, "kind": self.kind});
        if let Some(p) = self.problems {
            body["problems"] = p;
        }
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
