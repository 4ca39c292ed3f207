//! Attachments: multipart upload (field `file`, `X-Atlassian-Token: no-check` required, size
//! limit → 413), metadata, deletion and content, which Cloud serves through a redirect to a
//! signed media URL.

use axum::{
    Extension, Json,
    body::Body,
    extract::{FromRequest, Multipart, Path, RawQuery, Request, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::{Bytes, BytesMut};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Actor, Api, App, Params, no_content};
use crate::{
    error::{JiraError, JiraResult},
    model::Attachment,
    repr::Repr,
};

/// What a rejected upload still reads (and discards) so the client gets to see the 413.
const DRAIN_CAP: u64 = 256 * 1024 * 1024;

pub async fn add(
    State(app): State<App>,
    Extension(caller): Actor,
    Extension(api): Api,
    Path(key): Path<String>,
    request: Request,
) -> JiraResult<Response> {
    let token = request
        .headers()
        .get("x-atlassian-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // `nocheck` is the deprecated spelling Jira still honours.
    if !token.eq_ignore_ascii_case("no-check") && !token.eq_ignore_ascii_case("nocheck") {
        return Err(JiraError::xsrf_failed());
    }
    let (limit, exists) = {
        let state = app.state();
        (
            state.limits.max_attachment_bytes,
            state.issue(&key).is_some(),
        )
    };
    if !exists {
        return Err(JiraError::issue_not_found());
    }
    let mut multipart = Multipart::from_request(request, &app).await.map_err(|e| {
        JiraError::message(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Expected a multipart/form-data request: {e}"),
        )
    })?;
    let mut files: Vec<(String, String, Bytes)> = Vec::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| JiraError::bad_request(format!("Malformed multipart body: {e}")))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("file").to_owned();
        let mime = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let mut content = BytesMut::new();
        let mut seen: u64 = 0;
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| JiraError::bad_request(format!("Malformed multipart body: {e}")))?
        {
            seen += chunk.len() as u64;
            if seen > limit {
                if seen > DRAIN_CAP {
                    break;
                }
                continue;
            }
            content.extend_from_slice(&chunk);
        }
        if seen > limit {
            return Err(JiraError::message(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "The file '{filename}' is too large: the maximum attachment size is {limit} bytes."
                ),
            ));
        }
        files.push((filename, mime, content.freeze()));
    }
    if files.is_empty() {
        return Err(JiraError::bad_request(
            "No attachment was found in the request: use the multipart field 'file'.",
        ));
    }
    let mut state = app.state();
    let repr = Repr::for_api(api);
    let mut out = Vec::new();
    for (filename, mime, content) in files {
        let a = state.add_attachment(&caller.account_id, &key, filename, mime, content)?;
        out.push(state.attachment_json(&a, repr));
    }
    Ok(Json(out).into_response())
}

pub async fn meta(State(app): State<App>) -> Response {
    let limit = app.state().limits.max_attachment_bytes;
    Json(json!({"enabled": true, "uploadLimit": limit})).into_response()
}

fn not_found(id: &str) -> JiraError {
    JiraError::not_found(format!("The attachment with id '{id}' does not exist"))
}

pub async fn get(
    State(app): State<App>,
    Extension(api): Api,
    Path(id): Path<String>,
) -> JiraResult<Response> {
    let state = app.state();
    let a = state.attachment(&id).ok_or_else(|| not_found(&id))?;
    Ok(Json(state.attachment_json(a, Repr::for_api(api))).into_response())
}

pub async fn delete(
    State(app): State<App>,
    Extension(caller): Actor,
    Path(id): Path<String>,
) -> JiraResult<Response> {
    app.state().delete_attachment(&caller.account_id, &id)?;
    Ok(no_content())
}

fn bytes_response(a: &Attachment) -> Response {
    let mut r = Body::from(a.content.clone()).into_response();
    if let Ok(v) = HeaderValue::from_str(&a.mime_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        a.filename.replace('"', "")
    )) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

pub fn media_token(key: &str, id: &str) -> String {
    hex::encode(Sha256::digest(format!("{key}:{id}").as_bytes()))
}

/// Cloud's `GET /attachment/content/{id}`: a 303 to the media URL unless `redirect=false`.
pub async fn content(
    State(app): State<App>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> JiraResult<Response> {
    let params = Params::from_query(query.as_deref());
    let state = app.state();
    let a = state.attachment(&id).ok_or_else(|| not_found(&id))?;
    let redirect = state.limits.attachment_redirect && params.get("redirect") != Some("false");
    if !redirect {
        return Ok(bytes_response(a));
    }
    let location = format!(
        "{}/_media/attachment/{}?token={}",
        state.site.base_url,
        a.id,
        media_token(&app.media_key, &a.id)
    );
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

/// Data Center's content URL, `/secure/attachment/{id}/{filename}`.
pub async fn secure_content(
    State(app): State<App>,
    Path((id, _name)): Path<(String, String)>,
) -> JiraResult<Response> {
    let state = app.state();
    let a = state.attachment(&id).ok_or_else(|| not_found(&id))?;
    Ok(bytes_response(a))
}

/// The media URL a content redirect points at: no Jira credentials, a signed token instead.
pub async fn media(
    State(app): State<App>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> JiraResult<Response> {
    let params = Params::from_query(query.as_deref());
    if params.get("token") != Some(media_token(&app.media_key, &id).as_str()) {
        return Err(JiraError::message(
            StatusCode::UNAUTHORIZED,
            "invalid media token",
        ));
    }
    let state = app.state();
    let a = state.attachment(&id).ok_or_else(|| not_found(&id))?;
    Ok(bytes_response(a))
}
