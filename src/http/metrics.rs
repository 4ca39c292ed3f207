use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{ApiError, AppState, ErrorBody, admin};
use crate::metrics::HttpLabels;

/// What the body is: prometheus-client writes the OpenMetrics text format (it ends `# EOF`).
/// Served as Prometheus's older `text/plain; version=0.0.4`, a scraper would parse it with the
/// wrong grammar and type every counter "unknown".
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Metrics in the OpenMetrics text format (admin token only with `metrics_require_token`).
#[utoipa::path(operation_id = "metrics", get, path = "/metrics", tag = "health",
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "OpenMetrics text exposition format",
            content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String),
        (status = 401, description = "`metrics_require_token` is on and the admin token is missing or wrong", body = ErrorBody),
    ))]
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if state.metrics_require_token {
        admin::check_token(&headers, state.admin_token.as_ref())?;
    }
    let queue = match &state.event_log {
        Some(log) => log.stats().await.ok(),
        None => None,
    };
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        state.metrics.render(queue),
    ))
}

/// Counts every request by its route template (not the raw path, which would explode the
/// label set), method and status.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    state
        .metrics
        .http_requests
        .get_or_create(&HttpLabels {
            route,
            method,
            status: response.status().as_u16(),
        })
        .inc();
    response
}
