//! Attachments: GetCaseAttachmentUploadUrl / GetCaseAttachmentDownloadUrl, and the presigned
//! URLs they hand out, which the emulator serves itself (S3 serves them in AWS).
//!
//! A URL carries a secret in `X-Amz-Signature` and expires like a presigned S3 URL; the upload
//! must send exactly the `contentLength` that was declared, as a signed `content-length` would
//! force. Uploaded bytes become a `Verified` attachment (there is no malware scan).

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::cases::file_name;
use super::{App, check_case_id, fingerprint, json_response, parse_body};
use crate::auth::Principal;
use crate::errors::ApiError;
use crate::log::Operation;
use crate::model::Timestamp;
use crate::state::{Grant, PresignedError};
use crate::validate::{Validator, is_attachment_id};

fn presigned_url(
    base: &str,
    case_id: &str,
    attachment_id: &str,
    grant: &Grant,
    now: Timestamp,
) -> String {
    let ttl = ((grant.expires.as_millis() - now.as_millis()) / 1000).max(1);
    let date = now.to_rfc3339_seconds().replace(['-', ':'], "");
    format!(
        "{base}/_presigned/{case_id}/{attachment_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=SIREMULATOR%2F{day}%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date={date}&X-Amz-Expires={ttl}&X-Amz-SignedHeaders=content-length%3Bhost\
         &X-Amz-Signature={secret}",
        day = &date[..8],
        secret = grant.secret,
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UploadUrlInput {
    file_name: Option<String>,
    content_length: Option<i64>,
    client_token: Option<String>,
}

pub(super) async fn upload_url(
    app: App,
    Extension(actor): Extension<Principal>,
    Path(case_id): Path<String>,
    raw: Bytes,
) -> Result<Response, ApiError> {
    check_case_id(&case_id)?;
    let input: UploadUrlInput = parse_body(&raw)?;
    let mut v = Validator::new();
    file_name(&mut v, &input.file_name);
    if let Some(n) = v.required("contentLength", &input.content_length) {
        v.range("contentLength", *n, 1, 104_857_600);
    }
    v.opt_length("clientToken", &input.client_token, 1, 255);
    v.finish()?;
    let token = input.client_token;
    let fp = fingerprint(&raw);
    let name = input.file_name.unwrap_or_default();
    let length = input.content_length.unwrap_or_default() as u64;
    let base = app.base_url.clone();
    let url = app.mutate(|s| -> Result<String, ApiError> {
        let op = Operation::GetCaseAttachmentUploadUrl;
        s.case(&case_id)?;
        if let Some(url) = s.idempotent_result(op, &actor, &case_id, token.as_deref(), &fp)? {
            return Ok(url);
        }
        let (attachment_id, grant) = s.add_attachment(&case_id, &actor, name, length)?;
        let url = presigned_url(&base, &case_id, &attachment_id, &grant, s.now());
        s.remember_idempotent(op, &actor, &case_id, token.as_deref(), &fp, &url);
        Ok(url)
    })?;
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "attachmentPresignedUrl": url }),
    ))
}

pub(super) async fn download_url(
    app: App,
    Path((case_id, attachment_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    check_case_id(&case_id)?;
    let mut v = Validator::new();
    v.pattern(
        "attachmentId",
        is_attachment_id(&attachment_id),
        "[0-9a-fA-F]{8}\\b-[0-9a-fA-F]{4}\\b-[0-9a-fA-F]{4}\\b-[0-9a-fA-F]{4}\\b-[0-9a-fA-F]{12}",
    );
    v.finish()?;
    let base = app.base_url.clone();
    let url = app.mutate(|s| {
        s.grant_download(&case_id, &attachment_id)
            .map(|g| presigned_url(&base, &case_id, &attachment_id, &g, s.now()))
    })?;
    // The model gives this read-only operation a 201, like the upload URL.
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "attachmentPresignedUrl": url }),
    ))
}

/// S3's XML error shape, which is what a client of a presigned URL gets back.
fn s3_error(e: PresignedError) -> Response {
    let (status, code, message) = match e {
        PresignedError::SignatureDoesNotMatch => (
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided."
                .to_string(),
        ),
        PresignedError::Expired => (
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired".to_string(),
        ),
        PresignedError::NoSuchKey => (
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.".to_string(),
        ),
        PresignedError::LengthMismatch { declared, sent } => (
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            format!("The URL was signed for {declared} bytes but {sent} were sent."),
        ),
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn signature(query: &HashMap<String, String>) -> String {
    query.get("X-Amz-Signature").cloned().unwrap_or_default()
}

pub(super) async fn presigned_put(
    app: App,
    Path((case_id, attachment_id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let secret = signature(&query);
    match app.mutate(|s| s.complete_upload(&case_id, &attachment_id, &secret, body.to_vec())) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::ETAG,
                format!("\"{}\"", uuid::Uuid::new_v4().simple()),
            )],
        )
            .into_response(),
        Err(e) => s3_error(e),
    }
}

pub(super) async fn presigned_get(
    app: App,
    Path((case_id, attachment_id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let secret = signature(&query);
    match app.read(|s| s.download(&case_id, &attachment_id, &secret)) {
        Ok((name, bytes)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => s3_error(e),
    }
}
