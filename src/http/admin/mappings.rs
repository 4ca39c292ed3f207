use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, case_id, issue_key, page_size, rfc3339_ms};
use crate::{
    http::{
        ApiError, AppState, ErrorBody,
        extract::{Path, Query},
    },
    store::{Mapping, Side},
};

/// A SIR case and the Jira issue that mirrors it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MappingView {
    pub case_id: String,
    pub issue_key: String,
    pub issue_id: Option<String>,
    /// The case in the AWS console; absent when no region is configured.
    pub case_url: Option<String>,
    /// The issue in Jira; absent when no Jira URL is configured.
    pub issue_url: Option<String>,
    /// The integration's last write to either side; absent until it wrote one.
    pub last_sync: Option<LastSync>,
}

/// When the integration last wrote to one side of a mapping, and which way that went.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastSync {
    /// RFC 3339.
    pub at: String,
    pub direction: SyncDirection,
}

// `Direction` in the API document; `event::Direction` is the events' own (not serialized).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = Direction)]
#[serde(rename_all = "snake_case")]
pub enum SyncDirection {
    /// Written to the Jira issue, from the case.
    CaseToIssue,
    /// Written to the SIR case, from the issue.
    IssueToCase,
}

impl MappingView {
    /// The view of `m`: links from the configuration, the last sync from the sync ledgers
    /// (each records the time of the integration's last write to its side).
    async fn of(state: &AppState, m: Mapping) -> Result<MappingView, ApiError> {
        let to_jira = state.store.ledger(Side::Jira, &m.issue_key).await?;
        let to_sir = state.store.ledger(Side::Sir, &m.case_id).await?;
        let last = [
            to_jira.map(|e| (e.updated_at_ms, SyncDirection::CaseToIssue)),
            to_sir.map(|e| (e.updated_at_ms, SyncDirection::IssueToCase)),
        ]
        .into_iter()
        .flatten()
        .max_by_key(|(at, _)| *at);
        Ok(MappingView {
            case_url: state.console.case_url(&m.case_id),
            issue_url: state.console.issue_url(&m.issue_key),
            last_sync: last.map(|(at_ms, direction)| LastSync {
                at: rfc3339_ms(at_ms),
                direction,
            }),
            case_id: m.case_id,
            issue_key: m.issue_key,
            issue_id: m.issue_id,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListMappings {
    /// Return mappings whose case id sorts after this one (the `next` of the previous page).
    #[param(pattern = r"^[0-9]{10,32}$")]
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// Lists case ⇄ issue mappings by case id.
#[utoipa::path(operation_id = "list_mappings", get, path = "/mappings", tag = "admin", security(("admin_token" = [])),
    params(ListMappings),
    responses(
        (status = 200, description = "OK", body = Page<MappingView>),
        (status = 400, description = "Invalid parameters", body = ErrorBody), (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 503, description = "State store or bus unavailable; retry", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListMappings>,
) -> Result<Json<Page<MappingView>>, ApiError> {
    let limit = page_size(q.limit)?;
    let after = q.after.as_deref().map(case_id).transpose()?;
    let rows = state.store.list_mappings(after, limit).await?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|m| m.case_id.clone()))
        .flatten();
    let mut items = Vec::with_capacity(rows.len());
    for m in rows {
        items.push(MappingView::of(&state, m).await?);
    }
    Ok(Json(Page { items, next }))
}

/// The mapping of one SIR case.
#[utoipa::path(operation_id = "get_mapping_by_case", get, path = "/mappings/cases/{case_id}", tag = "admin", security(("admin_token" = [])),
    params(("case_id" = String, Path, pattern = r"^[0-9]{10,32}$")),
    responses(
        (status = 200, description = "OK", body = MappingView),
        (status = 400, description = "Invalid parameters", body = ErrorBody), (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody), (status = 503, description = "State store or bus unavailable; retry", body = ErrorBody),
    ))]
pub async fn by_case(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<MappingView>, ApiError> {
    let id = case_id(&id)?;
    match state.store.mapping_by_case(id).await? {
        Some(m) => Ok(Json(MappingView::of(&state, m).await?)),
        None => Err(ApiError::NotFound(format!("no mapping for case {id}"))),
    }
}

/// The mapping of one Jira issue.
#[utoipa::path(operation_id = "get_mapping_by_issue", get, path = "/mappings/issues/{issue_key}", tag = "admin", security(("admin_token" = [])),
    params(("issue_key" = String, Path, pattern = r"^[A-Z][A-Z0-9_]*-[0-9]+$")),
    responses(
        (status = 200, description = "OK", body = MappingView),
        (status = 400, description = "Invalid parameters", body = ErrorBody), (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody), (status = 503, description = "State store or bus unavailable; retry", body = ErrorBody),
    ))]
pub async fn by_issue(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<MappingView>, ApiError> {
    let key = issue_key(&key)?;
    match state.store.mapping_by_issue(key).await? {
        Some(m) => Ok(Json(MappingView::of(&state, m).await?)),
        None => Err(ApiError::NotFound(format!("no mapping for issue {key}"))),
    }
}
