use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Page, page_size};
use crate::{
    bus::{EventFilter, QueuedEvent},
    http::{ApiError, AppState, ErrorBody, extract::Query},
};

/// Event types, as filters take them.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum EventType {
    #[serde(rename = "jira.issue.created")]
    JiraIssueCreated,
    #[serde(rename = "jira.issue.updated")]
    JiraIssueUpdated,
    #[serde(rename = "jira.issue.deleted")]
    JiraIssueDeleted,
    #[serde(rename = "jira.comment.created")]
    JiraCommentCreated,
    #[serde(rename = "jira.comment.updated")]
    JiraCommentUpdated,
    #[serde(rename = "jira.comment.deleted")]
    JiraCommentDeleted,
    #[serde(rename = "sir.case.changed")]
    SirCaseChanged,
    #[serde(rename = "sync.case.requested")]
    SyncCaseRequested,
    #[serde(rename = "sync.issue.requested")]
    SyncIssueRequested,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::JiraIssueCreated => "jira.issue.created",
            EventType::JiraIssueUpdated => "jira.issue.updated",
            EventType::JiraIssueDeleted => "jira.issue.deleted",
            EventType::JiraCommentCreated => "jira.comment.created",
            EventType::JiraCommentUpdated => "jira.comment.updated",
            EventType::JiraCommentDeleted => "jira.comment.deleted",
            EventType::SirCaseChanged => "sir.case.changed",
            EventType::SyncCaseRequested => "sync.case.requested",
            EventType::SyncIssueRequested => "sync.issue.requested",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventState {
    /// Waiting (new, or retrying after a failure).
    Ready,
    /// Held by a worker.
    Leased,
    Done,
    /// Failed for good; see the dead letters.
    Dead,
}

impl EventState {
    fn as_str(self) -> &'static str {
        match self {
            EventState::Ready => "ready",
            EventState::Leased => "leased",
            EventState::Done => "done",
            EventState::Dead => "dead",
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListEvents {
    #[serde(rename = "type")]
    #[param(rename = "type", inline)]
    pub event_type: Option<EventType>,
    #[param(inline)]
    pub state: Option<EventState>,
    /// Only events older than this cursor (the `next` of the previous page).
    #[param(minimum = 1)]
    pub before: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// An accepted event and how far its processing got.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// `ready`, `leased`, `done` or `dead`.
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivery_id: String,
    pub received_at: String,
    /// The whole event envelope (see docs/events.schema.json).
    pub event: serde_json::Value,
}

impl From<QueuedEvent> for EventView {
    fn from(q: QueuedEvent) -> Self {
        let env = q.envelope;
        EventView {
            id: env.id.to_string(),
            event_type: env.event.type_name().to_owned(),
            state: q.state,
            attempts: q.attempts,
            last_error: q.last_error,
            delivery_id: env.delivery_id.clone(),
            received_at: env
                .received_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            event: serde_json::to_value(&env).unwrap_or_default(),
        }
    }
}

/// Recent accepted events, newest first, with their processing state.
///
/// Available with the embedded queue; with EventBridge the events are on the bus, not here.
#[utoipa::path(operation_id = "list_events", get, path = "/events", tag = "admin", security(("admin_token" = [])),
    params(ListEvents),
    responses(
        (status = 200, description = "OK", body = Page<EventView>),
        (status = 400, description = "Invalid parameters", body = ErrorBody), (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "The configured bus keeps no event log", body = ErrorBody),
        (status = 503, description = "State store or bus unavailable; retry", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListEvents>,
) -> Result<Json<Page<EventView>>, ApiError> {
    let limit = page_size(q.limit)?;
    if q.before.is_some_and(|b| b < 1) {
        return Err(ApiError::BadRequest("before must be at least 1".into()));
    }
    let log = state
        .event_log
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("the configured bus keeps no event log".into()))?;
    let items = log
        .recent(&EventFilter {
            event_type: q.event_type.map(|t| t.as_str().to_owned()),
            state: q.state.map(|s| s.as_str().to_owned()),
            before: q.before,
            limit,
        })
        .await?;
    Ok(Json(Page::of(items, limit, |e| e.seq.to_string())))
}

#[cfg(test)]
mod tests {
    use super::EventType;
    use crate::event::{
        Event, SyncCaseRequest, SyncIssueRequest,
        jira::{CommentEvent, IssueEvent},
        sir::{CaseChange, CaseChanged},
    };

    /// The filter's names are the events' own: every event type can be filtered on, by the
    /// name it is stored under.
    #[test]
    fn filter_names_are_the_event_type_names() {
        let case = CaseChanged {
            case_id: "1234567890".into(),
            change: CaseChange::Updated,
            actor: None,
            last_updated: None,
        };
        let events = [
            Event::JiraIssueCreated(IssueEvent::default()),
            Event::JiraIssueUpdated(IssueEvent::default()),
            Event::JiraIssueDeleted(IssueEvent::default()),
            Event::JiraCommentCreated(CommentEvent::default()),
            Event::JiraCommentUpdated(CommentEvent::default()),
            Event::JiraCommentDeleted(CommentEvent::default()),
            Event::SirCaseChanged(case),
            Event::SyncCaseRequested(SyncCaseRequest {
                case_id: "1234567890".into(),
            }),
            Event::SyncIssueRequested(SyncIssueRequest {
                issue_key: "SEC-1".into(),
            }),
        ];
        for event in events {
            let name = event.type_name();
            let filter: EventType = serde_json::from_value(name.into())
                .unwrap_or_else(|e| panic!("{name} cannot be filtered on: {e}"));
            assert_eq!(filter.as_str(), name);
        }
    }
}
