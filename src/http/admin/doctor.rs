use axum::{Json, extract::State};

use crate::{
    http::{ApiError, AppState, ErrorBody},
    onboard::DoctorReport,
};

/// Checks every link the integration depends on, as `sir-jira-bridge doctor` does: the
/// configuration, Jira (reachable, credentials, project, issue type, mapped statuses and
/// resolutions, workflow paths, the webhook), SIR (ListCases), the state store, the bus, the
/// consumers' queue and the SNS subscriptions. Read-only: it registers and changes nothing.
///
/// Answers 200 whatever the checks found: `ok` is false when one failed, and each failed check
/// carries its fix. Every check has a time-out, so the answer comes within about ten seconds.
#[utoipa::path(operation_id = "get_doctor", get, path = "/doctor", tag = "admin", security(("admin_token" = [])),
    responses(
        (status = 200, description = "The checks and what they found", body = DoctorReport),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 503, description = "The checks are not wired in this process", body = ErrorBody),
    ))]
pub async fn doctor(State(state): State<AppState>) -> Result<Json<DoctorReport>, ApiError> {
    let doctor = state
        .doctor
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("doctor is not available in this process".into()))?;
    let report = doctor.run().await;
    if !report.ok {
        tracing::warn!(
            failed = ?report
                .checks
                .iter()
                .filter(|c| c.status == crate::onboard::CheckStatus::Fail)
                .map(|c| c.id)
                .collect::<Vec<_>>(),
            "doctor found failing links"
        );
    }
    Ok(Json(report))
}
