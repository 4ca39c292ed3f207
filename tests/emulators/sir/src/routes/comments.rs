//! Comment operations: CreateCaseComment, UpdateCaseComment, ListComments.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{App, check_case_id, fingerprint, json_response, parse_body};
use crate::auth::Principal;
use crate::errors::ApiError;
use crate::log::Operation;
use crate::paging;
use crate::validate::{Validator, is_comment_id};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateCommentInput {
    client_token: Option<String>,
    body: Option<String>,
}

pub(super) async fn create_comment(
    app: App,
    Extension(actor): Extension<Principal>,
    Path(case_id): Path<String>,
    raw: Bytes,
) -> Result<Response, ApiError> {
    check_case_id(&case_id)?;
    let input: CreateCommentInput = parse_body(&raw)?;
    let mut v = Validator::new();
    v.opt_length("clientToken", &input.client_token, 1, 255);
    if let Some(b) = v.required("body", &input.body) {
        v.length("body", b, 1, 12_000);
    }
    v.finish()?;
    let body = input.body.unwrap_or_default();
    let token = input.client_token;
    let fp = fingerprint(&raw);
    let comment_id = app.mutate(|s| -> Result<String, ApiError> {
        let op = Operation::CreateCaseComment;
        // The case must exist even for a replayed token (a retry to a missing case is a 404).
        s.case(&case_id)?;
        if let Some(id) = s.idempotent_result(op, &actor, &case_id, token.as_deref(), &fp)? {
            return Ok(id);
        }
        let id = s.add_comment(&case_id, &actor, body)?;
        s.remember_idempotent(op, &actor, &case_id, token.as_deref(), &fp, &id);
        Ok(id)
    })?;
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "commentId": comment_id }),
    ))
}

#[derive(Deserialize)]
pub(super) struct UpdateCommentInput {
    body: Option<String>,
}

pub(super) async fn update_comment(
    app: App,
    Extension(actor): Extension<Principal>,
    Path((case_id, comment_id)): Path<(String, String)>,
    raw: Bytes,
) -> Result<Response, ApiError> {
    check_case_id(&case_id)?;
    let input: UpdateCommentInput = parse_body(&raw)?;
    let mut v = Validator::new();
    v.pattern("commentId", is_comment_id(&comment_id), "\\d{6}");
    if let Some(b) = v.required("body", &input.body) {
        v.length("body", b, 1, 12_000);
    }
    v.finish()?;
    let body = input.body.unwrap_or_default();
    app.mutate(|s| s.update_comment(&case_id, &comment_id, &actor, body.clone()))?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "commentId": comment_id, "body": body }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListCommentsInput {
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub(super) async fn list_comments(
    app: App,
    Path(case_id): Path<String>,
    raw: Bytes,
) -> Result<Response, ApiError> {
    check_case_id(&case_id)?;
    let input: ListCommentsInput = parse_body(&raw)?;
    let token = paging::present(&input.next_token);
    let body = app.read(|s| -> Result<Value, ApiError> {
        let size = paging::page_size(input.max_results, token, s.settings.default_max_results)?;
        let case = s.case(&case_id)?;
        // Oldest comment first; a token holds the position after the last one returned.
        let start = match token {
            Some(t) => paging::decode(t, "comments", &case_id)?,
            None => 0,
        }
        .min(case.comments.len());
        let end = (start + size).min(case.comments.len());
        let items: Vec<Value> = case.comments[start..end]
            .iter()
            .map(|c| {
                json!({
                    "commentId": c.comment_id,
                    "createdDate": c.created_date,
                    "lastUpdatedDate": c.last_updated_date,
                    "creator": s.principal_value(&c.creator),
                    "lastUpdatedBy": s.principal_value(&c.last_updated_by),
                    "body": c.body,
                })
            })
            .collect();
        let mut out = json!({ "items": items, "total": case.comments.len() });
        if end < case.comments.len() {
            out["nextToken"] = json!(paging::encode("comments", &case_id, end));
        }
        Ok(out)
    })?;
    Ok(json_response(StatusCode::OK, body))
}
