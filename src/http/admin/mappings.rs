use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, case_id, issue_key, page_size};
use crate::{
    http::{
        ApiError, AppState, ErrorBody,
        extract::{Path, Query},
    },
    store::Mapping,
};

/// A SIR case and the Jira issue that mirrors it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MappingView {
    pub case_id: String,
    pub issue_key: String,
    pub issue_id: Option<String>,
}

impl From<Mapping> for MappingView {
    fn from(m: Mapping) -> Self {
        Self {
            case_id: m.case_id,
            issue_key: m.issue_key,
            issue_id: m.issue_id,
        }
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
    let items = state.store.list_mappings(after, limit).await?;
    Ok(Json(Page::of(items, limit, |m| m.case_id.clone())))
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
        Some(m) => Ok(Json(m.into())),
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
        Some(m) => Ok(Json(m.into())),
        None => Err(ApiError::NotFound(format!("no mapping for issue {key}"))),
    }
}
