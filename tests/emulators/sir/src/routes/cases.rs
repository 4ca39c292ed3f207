//! Case operations: CreateCase, GetCase, UpdateCase, UpdateCaseStatus, CloseCase,
//! UpdateResolverType, ListCases, ListCaseEdits.

use std::collections::BTreeMap;

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
use crate::model::{AWS_REGIONS, CaseStatus, EngagementType, ResolverType, Timestamp};
use crate::paging;
use crate::state::{Case, CaseUpdate, NewCase, State, ThreatActorIp, Watcher};
use crate::validate::{
    Validator, is_account_id, is_aws_service, is_email, is_file_name, is_ip_address,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WatcherIn {
    email: Option<String>,
    name: Option<String>,
    job_title: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ThreatActorIpIn {
    ip_address: Option<String>,
    user_agent: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct RegionIn {
    region: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct MetadataIn {
    key: Option<String>,
    value: Option<String>,
}

fn watchers(v: &mut Validator, name: &str, list: Vec<WatcherIn>) -> Vec<Watcher> {
    v.list_size(name, &list, 0, 30);
    list.into_iter()
        .enumerate()
        .map(|(i, w)| {
            let at = format!("{name}.{}.member", i + 1);
            if let Some(email) = v.required(&format!("{at}.email"), &w.email) {
                v.length(&format!("{at}.email"), email, 6, 254);
                v.pattern(
                    &format!("{at}.email"),
                    is_email(email),
                    "[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)*",
                );
            }
            v.opt_length(&format!("{at}.name"), &w.name, 1, 50);
            v.opt_length(&format!("{at}.jobTitle"), &w.job_title, 1, 50);
            Watcher {
                email: w.email.unwrap_or_default(),
                name: w.name,
                job_title: w.job_title,
            }
        })
        .collect()
}

fn threat_actor_ips(
    v: &mut Validator,
    name: &str,
    list: Vec<ThreatActorIpIn>,
) -> Vec<ThreatActorIp> {
    v.list_size(name, &list, 0, 200);
    list.into_iter()
        .enumerate()
        .map(|(i, ip)| {
            let at = format!("{name}.{}.member", i + 1);
            if let Some(addr) = v.required(&format!("{at}.ipAddress"), &ip.ip_address) {
                v.pattern(
                    &format!("{at}.ipAddress"),
                    is_ip_address(addr),
                    "an IPv4 or IPv6 address",
                );
            }
            v.opt_length(&format!("{at}.userAgent"), &ip.user_agent, 1, 500);
            ThreatActorIp {
                ip_address: ip.ip_address.unwrap_or_default(),
                user_agent: ip.user_agent,
            }
        })
        .collect()
}

fn regions(v: &mut Validator, name: &str, list: Vec<RegionIn>) -> Vec<String> {
    v.list_size(name, &list, 0, 50);
    list.into_iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let at = format!("{name}.{}.member.region", i + 1);
            let region = v.required(&at, &r.region)?.clone();
            v.enum_value(
                &at,
                &region,
                |s| AWS_REGIONS.contains(&s).then_some(()),
                &AWS_REGIONS.join(", "),
            )?;
            Some(region)
        })
        .collect()
}

fn services(v: &mut Validator, name: &str, list: Vec<String>) -> Vec<String> {
    v.list_size(name, &list, 0, 600);
    for (i, s) in list.iter().enumerate() {
        let at = format!("{name}.{}.member", i + 1);
        v.length(&at, s, 2, 50);
        v.pattern(&at, is_aws_service(s), "[a-zA-Z0-9 -.():]+");
    }
    list
}

fn accounts(v: &mut Validator, name: &str, list: Vec<String>) -> Vec<String> {
    v.list_size(name, &list, 0, 200);
    for (i, a) in list.iter().enumerate() {
        let at = format!("{name}.{}.member", i + 1);
        v.pattern(&at, is_account_id(a), "[0-9]{12}");
    }
    list
}

fn timestamp(v: &mut Validator, name: &str, secs: f64) -> Timestamp {
    if !secs.is_finite() {
        v.fail(name, "Member must be a timestamp");
    }
    Timestamp::from_secs_f64(secs)
}

fn engagement(v: &mut Validator, value: &str) -> Option<EngagementType> {
    v.enum_value(
        "engagementType",
        value,
        EngagementType::from_wire,
        &EngagementType::wire_values(),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateCaseInput {
    client_token: Option<String>,
    resolver_type: Option<String>,
    title: Option<String>,
    description: Option<String>,
    engagement_type: Option<String>,
    reported_incident_start_date: Option<f64>,
    impacted_accounts: Option<Vec<String>>,
    watchers: Option<Vec<WatcherIn>>,
    threat_actor_ip_addresses: Option<Vec<ThreatActorIpIn>>,
    impacted_services: Option<Vec<String>>,
    impacted_aws_regions: Option<Vec<RegionIn>>,
    tags: Option<BTreeMap<String, String>>,
}

pub(super) async fn create_case(
    app: App,
    Extension(actor): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: CreateCaseInput = parse_body(&body)?;
    let mut v = Validator::new();
    v.opt_length("clientToken", &input.client_token, 1, 255);
    let resolver_type = v
        .required("resolverType", &input.resolver_type)
        .and_then(|r| {
            v.enum_value(
                "resolverType",
                r,
                ResolverType::from_wire,
                &ResolverType::wire_values(),
            )
        });
    if let Some(t) = v.required("title", &input.title) {
        v.length("title", t, 1, 300);
    }
    if let Some(d) = v.required("description", &input.description) {
        v.length("description", d, 1, 8000);
    }
    let engagement_type = v
        .required("engagementType", &input.engagement_type)
        .and_then(|e| engagement(&mut v, e));
    let reported = v
        .required(
            "reportedIncidentStartDate",
            &input.reported_incident_start_date,
        )
        .copied()
        .map(|s| timestamp(&mut v, "reportedIncidentStartDate", s));
    v.required("impactedAccounts", &input.impacted_accounts);
    v.required("watchers", &input.watchers);
    let impacted_accounts = accounts(
        &mut v,
        "impactedAccounts",
        input.impacted_accounts.unwrap_or_default(),
    );
    let watcher_list = watchers(&mut v, "watchers", input.watchers.unwrap_or_default());
    let ips = threat_actor_ips(
        &mut v,
        "threatActorIpAddresses",
        input.threat_actor_ip_addresses.unwrap_or_default(),
    );
    let impacted_services = services(
        &mut v,
        "impactedServices",
        input.impacted_services.unwrap_or_default(),
    );
    let impacted_regions = regions(
        &mut v,
        "impactedAwsRegions",
        input.impacted_aws_regions.unwrap_or_default(),
    );
    let tags = input.tags.unwrap_or_default();
    if tags.len() > 200 {
        v.fail("tags", "Member must have length less than or equal to 200");
    }
    for (k, val) in &tags {
        v.length(&format!("tags.{k}.key"), k, 1, 128);
        v.length(&format!("tags.{k}.value"), val, 0, 256);
    }
    v.finish()?;

    let new = NewCase {
        title: input.title.unwrap_or_default(),
        description: input.description.unwrap_or_default(),
        engagement_type: engagement_type.expect("validated"),
        resolver_type: resolver_type.expect("validated"),
        reported_incident_start_date: reported.expect("validated"),
        impacted_accounts,
        watchers: watcher_list,
        threat_actor_ip_addresses: ips,
        impacted_services,
        impacted_aws_regions: impacted_regions,
        tags,
    };
    let token = input.client_token;
    let fp = fingerprint(&body);
    let case_id = app.mutate(|s| -> Result<String, ApiError> {
        let op = Operation::CreateCase;
        if let Some(id) = s.idempotent_result(op, &actor, "", token.as_deref(), &fp)? {
            return Ok(id);
        }
        let id = s.create_case(&actor, new);
        s.remember_idempotent(op, &actor, "", token.as_deref(), &fp, &id);
        Ok(id)
    })?;
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "caseId": case_id }),
    ))
}

/// GetCase's output: every member of the case except `caseId`, which GetCase does not return.
pub(crate) fn case_json(case: &Case, s: &State) -> Value {
    let mut v = json!({
        "title": case.title,
        "caseArn": case.case_arn,
        "description": case.description,
        "caseStatus": case.case_status,
        "engagementType": case.engagement_type,
        "reportedIncidentStartDate": case.reported_incident_start_date,
        "impactedAwsRegions": case.impacted_aws_regions.iter().map(|r| json!({ "region": r })).collect::<Vec<_>>(),
        "threatActorIpAddresses": case.threat_actor_ip_addresses,
        "pendingAction": case.pending_action,
        "impactedAccounts": case.impacted_accounts,
        "watchers": case.watchers,
        "createdDate": case.created_date,
        "lastUpdatedDate": case.last_updated_date,
        "resolverType": case.resolver_type,
        "impactedServices": case.impacted_services,
        "caseAttachments": case.attachments.iter().map(|a| json!({
            "attachmentId": a.attachment_id,
            "fileName": a.file_name,
            "attachmentStatus": a.status,
            "creator": s.principal_value(&a.creator),
            "createdDate": a.created_date,
        })).collect::<Vec<_>>(),
        "caseMetadata": case.case_metadata.iter().map(|(k, val)| json!({ "key": k, "value": val })).collect::<Vec<_>>(),
    });
    if let Some(d) = case.actual_incident_start_date {
        v["actualIncidentStartDate"] = json!(d);
    }
    if let Some(c) = case.closure_code {
        v["closureCode"] = json!(c);
    }
    if let Some(d) = case.closed_date {
        v["closedDate"] = json!(d);
    }
    v
}

pub(super) async fn get_case(app: App, Path(case_id): Path<String>) -> Result<Response, ApiError> {
    check_case_id(&case_id)?;
    let body = app.read(|s| s.case(&case_id).map(|c| case_json(c, s)))?;
    Ok(json_response(StatusCode::OK, body))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateCaseInput {
    title: Option<String>,
    description: Option<String>,
    reported_incident_start_date: Option<f64>,
    actual_incident_start_date: Option<f64>,
    engagement_type: Option<String>,
    watchers_to_add: Option<Vec<WatcherIn>>,
    watchers_to_delete: Option<Vec<WatcherIn>>,
    threat_actor_ip_addresses_to_add: Option<Vec<ThreatActorIpIn>>,
    threat_actor_ip_addresses_to_delete: Option<Vec<ThreatActorIpIn>>,
    impacted_services_to_add: Option<Vec<String>>,
    impacted_services_to_delete: Option<Vec<String>>,
    impacted_aws_regions_to_add: Option<Vec<RegionIn>>,
    impacted_aws_regions_to_delete: Option<Vec<RegionIn>>,
    impacted_accounts_to_add: Option<Vec<String>>,
    impacted_accounts_to_delete: Option<Vec<String>>,
    case_metadata: Option<Vec<MetadataIn>>,
}

pub(super) async fn update_case(
    app: App,
    Extension(actor): Extension<Principal>,
    Path(case_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_case_id(&case_id)?;
    let input: UpdateCaseInput = parse_body(&body)?;
    let mut v = Validator::new();
    v.opt_length("title", &input.title, 1, 300);
    v.opt_length("description", &input.description, 1, 8000);
    let engagement_type = input
        .engagement_type
        .as_deref()
        .and_then(|e| engagement(&mut v, e));
    let metadata = input.case_metadata.map(|list| {
        v.list_size("caseMetadata", &list, 1, 30);
        list.into_iter()
            .enumerate()
            .map(|(i, m)| {
                let at = format!("caseMetadata.{}.member", i + 1);
                if let Some(k) = v.required(&format!("{at}.key"), &m.key) {
                    v.length(&format!("{at}.key"), k, 1, 500);
                }
                if let Some(val) = v.required(&format!("{at}.value"), &m.value) {
                    v.length(&format!("{at}.value"), val, 1, 2000);
                }
                (m.key.unwrap_or_default(), m.value.unwrap_or_default())
            })
            .collect()
    });
    let upd = CaseUpdate {
        reported_incident_start_date: input
            .reported_incident_start_date
            .map(|s| timestamp(&mut v, "reportedIncidentStartDate", s)),
        actual_incident_start_date: input
            .actual_incident_start_date
            .map(|s| timestamp(&mut v, "actualIncidentStartDate", s)),
        title: input.title,
        description: input.description,
        engagement_type,
        watchers_to_add: watchers(
            &mut v,
            "watchersToAdd",
            input.watchers_to_add.unwrap_or_default(),
        ),
        watchers_to_delete: watchers(
            &mut v,
            "watchersToDelete",
            input.watchers_to_delete.unwrap_or_default(),
        ),
        threat_actor_ip_addresses_to_add: threat_actor_ips(
            &mut v,
            "threatActorIpAddressesToAdd",
            input.threat_actor_ip_addresses_to_add.unwrap_or_default(),
        ),
        threat_actor_ip_addresses_to_delete: threat_actor_ips(
            &mut v,
            "threatActorIpAddressesToDelete",
            input
                .threat_actor_ip_addresses_to_delete
                .unwrap_or_default(),
        ),
        impacted_services_to_add: services(
            &mut v,
            "impactedServicesToAdd",
            input.impacted_services_to_add.unwrap_or_default(),
        ),
        impacted_services_to_delete: services(
            &mut v,
            "impactedServicesToDelete",
            input.impacted_services_to_delete.unwrap_or_default(),
        ),
        impacted_aws_regions_to_add: regions(
            &mut v,
            "impactedAwsRegionsToAdd",
            input.impacted_aws_regions_to_add.unwrap_or_default(),
        ),
        impacted_aws_regions_to_delete: regions(
            &mut v,
            "impactedAwsRegionsToDelete",
            input.impacted_aws_regions_to_delete.unwrap_or_default(),
        ),
        impacted_accounts_to_add: accounts(
            &mut v,
            "impactedAccountsToAdd",
            input.impacted_accounts_to_add.unwrap_or_default(),
        ),
        impacted_accounts_to_delete: accounts(
            &mut v,
            "impactedAccountsToDelete",
            input.impacted_accounts_to_delete.unwrap_or_default(),
        ),
        case_metadata: metadata,
    };
    v.finish()?;
    app.mutate(|s| s.update_case(&case_id, &actor, upd))?;
    Ok(json_response(StatusCode::OK, json!({})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateCaseStatusInput {
    case_status: Option<String>,
}

pub(super) async fn update_case_status(
    app: App,
    Extension(actor): Extension<Principal>,
    Path(case_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_case_id(&case_id)?;
    let input: UpdateCaseStatusInput = parse_body(&body)?;
    let mut v = Validator::new();
    // The member's type is SelfManagedCaseStatus: any other status fails its enum constraint.
    let status = v.required("caseStatus", &input.case_status).and_then(|s| {
        v.enum_value(
            "caseStatus",
            s,
            |w| CaseStatus::from_wire(w).filter(|c| c.is_self_managed()),
            &CaseStatus::self_managed_wire_values(),
        )
    });
    v.finish()?;
    let status = status.expect("validated");
    let now = app.mutate(|s| s.set_status(&case_id, &actor, status, true))?;
    Ok(json_response(
        StatusCode::CREATED,
        json!({ "caseStatus": now }),
    ))
}

pub(super) async fn close_case(
    app: App,
    Extension(actor): Extension<Principal>,
    Path(case_id): Path<String>,
) -> Result<Response, ApiError> {
    check_case_id(&case_id)?;
    let closed = app.mutate(|s| {
        let code = s.settings.api_close_closure_code;
        s.close_case(&case_id, &actor, code)
    })?;
    Ok(json_response(
        StatusCode::OK,
        json!({ "caseStatus": CaseStatus::Closed, "closedDate": closed }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateResolverTypeInput {
    resolver_type: Option<String>,
}

pub(super) async fn update_resolver_type(
    app: App,
    Extension(actor): Extension<Principal>,
    Path(case_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_case_id(&case_id)?;
    let input: UpdateResolverTypeInput = parse_body(&body)?;
    let mut v = Validator::new();
    let to = v
        .required("resolverType", &input.resolver_type)
        .and_then(|r| {
            v.enum_value(
                "resolverType",
                r,
                ResolverType::from_wire,
                &ResolverType::wire_values(),
            )
        });
    v.finish()?;
    let to = to.expect("validated");
    let body = app.mutate(|s| {
        s.update_resolver_type(&case_id, &actor, to).map(|c| {
            json!({
                "caseId": c.case_id,
                "caseStatus": c.case_status,
                "resolverType": c.resolver_type,
            })
        })
    })?;
    Ok(json_response(StatusCode::OK, body))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListInput {
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub(super) async fn list_cases(app: App, body: Bytes) -> Result<Response, ApiError> {
    let input: ListInput = parse_body(&body)?;
    let token = paging::present(&input.next_token);
    let body = app.read(|s| -> Result<Value, ApiError> {
        let size = paging::page_size(input.max_results, token, s.settings.default_max_results)?;
        // Newest case first; a token holds the position of the last case it returned.
        let end = match token {
            Some(t) => paging::decode(t, "cases", "")?.min(s.case_count()),
            None => s.case_count(),
        };
        let start = end.saturating_sub(size);
        let items: Vec<Value> = s.cases()[start..end]
            .iter()
            .rev()
            .map(|c| {
                let mut item = json!({
                    "caseId": c.case_id,
                    "lastUpdatedDate": c.last_updated_date,
                    "title": c.title,
                    "caseArn": c.case_arn,
                    "engagementType": c.engagement_type,
                    "caseStatus": c.case_status,
                    "createdDate": c.created_date,
                    "resolverType": c.resolver_type,
                    "pendingAction": c.pending_action,
                });
                if let Some(d) = c.closed_date {
                    item["closedDate"] = json!(d);
                }
                item
            })
            .collect();
        let mut out = json!({ "items": items, "total": s.case_count() });
        if start > 0 {
            out["nextToken"] = json!(paging::encode("cases", "", start));
        }
        Ok(out)
    })?;
    Ok(json_response(StatusCode::OK, body))
}

pub(super) async fn list_case_edits(
    app: App,
    Path(case_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_case_id(&case_id)?;
    let input: ListInput = parse_body(&body)?;
    let token = paging::present(&input.next_token);
    let body = app.read(|s| -> Result<Value, ApiError> {
        let size = paging::page_size(input.max_results, token, s.settings.default_max_results)?;
        let case = s.case(&case_id)?;
        let start = match token {
            Some(t) => paging::decode(t, "edits", &case_id)?,
            None => 0,
        }
        .min(case.edits.len());
        let end = (start + size).min(case.edits.len());
        let items: Vec<Value> = case.edits[start..end]
            .iter()
            .map(|e| {
                json!({
                    "eventTimestamp": e.event_timestamp,
                    "principal": s.principal_value(&e.principal),
                    "action": e.action,
                    "message": e.message,
                })
            })
            .collect();
        let mut out = json!({ "items": items, "total": case.edits.len() });
        if end < case.edits.len() {
            out["nextToken"] = json!(paging::encode("edits", &case_id, end));
        }
        Ok(out)
    })?;
    Ok(json_response(StatusCode::OK, body))
}

// Shared with the attachment routes, which validate file names the same way.
pub(super) fn file_name(v: &mut Validator, name: &Option<String>) {
    if let Some(f) = v.required("fileName", name) {
        v.length("fileName", f, 1, 255);
        v.pattern("fileName", is_file_name(f), "[a-zA-Z0-9._-]+");
    }
}
