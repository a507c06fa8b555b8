//! Reading the body of a request to `/mcp` before the MCP transport sees it, within
//! [`MAX_REQUEST_BODY_BYTES`], so that a body the client garbled is answered as the client's
//! mistake: rmcp 3.11 answers a body it cannot read (broken chunked framing, a connection cut
//! mid-body) with 500, as if the fault were the server's.

use axum::Json;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde_json::json;

/// The largest request body `/mcp` reads: far above any tool call's arguments, and the limit
/// the MCP transport itself applies.
pub const MAX_REQUEST_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Reads the whole body, then hands the request on; a body over the limit is answered 413 and
/// one that cannot be read 400, both `invalid_request`.
pub(crate) async fn read_whole(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, MAX_REQUEST_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            let description = format!("the request body exceeds {MAX_REQUEST_BODY_BYTES} bytes");
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, &description);
        }
        Err(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            );
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn refuse(status: StatusCode, description: &str) -> Response {
    tracing::info!(
        http.status = status.as_u16(),
        reason = description,
        "MCP request refused"
    );
    let body = json!({ "error": "invalid_request", "error_description": description });
    (status, Json(body)).into_response()
}
