//! Read-only memberships: the account has one active membership (the service requires one
//! before cases can be created), listed by ListMemberships and described by GetMembership.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{App, json_response, parse_body};
use crate::errors::ApiError;
use crate::paging;
use crate::state::Settings;

/// `m-` and 10–32 lowercase letters or digits, as the model's `MembershipId` pattern wants.
pub(crate) fn membership_id(settings: &Settings) -> String {
    format!("m-emu{}", settings.account_id)
}

fn membership_arn(settings: &Settings) -> String {
    format!(
        "arn:aws:security-ir:{}:{}:membership/{}",
        settings.region,
        settings.account_id,
        membership_id(settings)
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListInput {
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub(super) async fn list_memberships(app: App, raw: Bytes) -> Result<Response, ApiError> {
    let input: ListInput = parse_body(&raw)?;
    let token = paging::present(&input.next_token);
    let body = app.read(|s| -> Result<Value, ApiError> {
        paging::page_size(input.max_results, token, s.settings.default_max_results)?;
        if let Some(t) = token {
            // There is one page only, so no token this service issued can be presented.
            paging::decode(t, "memberships", "")?;
        }
        let st = &s.settings;
        Ok(json!({
            "items": [{
                "membershipId": membership_id(st),
                "accountId": st.account_id,
                "region": st.region,
                "membershipArn": membership_arn(st),
                "membershipStatus": "Active",
            }]
        }))
    })?;
    Ok(json_response(StatusCode::OK, body))
}

pub(super) async fn get_membership(
    app: App,
    Path(membership_id_in): Path<String>,
) -> Result<Response, ApiError> {
    let body = app.read(|s| -> Result<Value, ApiError> {
        let st = &s.settings;
        if membership_id_in != membership_id(st) {
            return Err(ApiError::ResourceNotFound(format!(
                "Membership {membership_id_in} not found"
            )));
        }
        Ok(json!({
            "membershipId": membership_id(st),
            "accountId": st.account_id,
            "region": st.region,
            "membershipName": "sir-emulator",
            "membershipArn": membership_arn(st),
            "membershipStatus": "Active",
            "membershipActivationTimestamp": 1_704_067_200,
            "customerType": "Standalone",
            "numberOfAccountsCovered": 1,
            "incidentResponseTeam": [
                {"name": "Security Operations", "jobTitle": "Security Engineer", "email": "secops@example.com"},
                {"name": "Incident Commander", "jobTitle": "Incident Manager", "email": "ic@example.com"}
            ],
            "optInFeatures": [{"featureName": "Triage", "isEnabled": false}],
        }))
    })?;
    Ok(json_response(StatusCode::OK, body))
}
