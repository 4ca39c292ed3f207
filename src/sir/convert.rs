//! The SDK's shapes turned into the service's case model. Timestamps travel as epoch seconds
//! (the SDK gives `DateTime`); enums as the service's names.

use aws_sdk_securityir::{
    operation::get_case::GetCaseOutput,
    primitives::DateTime,
    types::{ListCasesItem, ListCommentsItem},
};
use time::OffsetDateTime;

use super::{
    Case, CaseAttachment, CaseComment, CaseId, CaseStatus, CaseSummary, ClosureCode, SirError,
    ThreatActorIp, Watcher,
};

/// Rounded to the microsecond: the wire's epoch seconds are a binary float, so
/// `…573.945` arrives as `…573.944999…`; rounding gives back the instant the service meant
/// (and clean watermarks), far below any precision SIR keeps.
pub fn time(t: &DateTime) -> Option<OffsetDateTime> {
    let nanos = t.as_nanos();
    let micros = nanos.div_euclid(1_000) + i128::from(nanos.rem_euclid(1_000) >= 500);
    OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000).ok()
}

fn opt_time(t: Option<&DateTime>) -> Option<OffsetDateTime> {
    t.and_then(time)
}

pub fn case(id: &CaseId, out: GetCaseOutput) -> Result<Case, SirError> {
    let status_name = out.case_status.as_ref().map(|s| s.as_str()).unwrap_or("");
    // An unknown status would be guessed wrong on the Jira side: refuse, loudly.
    let status = CaseStatus::parse(status_name).ok_or_else(|| {
        SirError::validation(format!(
            "GetCase {id} answered with an unknown case status `{status_name}`"
        ))
    })?;
    let created = opt_time(out.created_date.as_ref());
    let last_updated = opt_time(out.last_updated_date.as_ref())
        .or(created)
        .ok_or_else(|| {
            SirError::validation(format!("GetCase {id} answered without lastUpdatedDate"))
        })?;
    Ok(Case {
        id: id.clone(),
        arn: out.case_arn,
        title: out.title.unwrap_or_default(),
        description: out.description.unwrap_or_default(),
        status,
        engagement_type: out.engagement_type.map(|v| v.as_str().to_owned()),
        resolver_type: out.resolver_type.map(|v| v.as_str().to_owned()),
        pending_action: out.pending_action.map(|v| v.as_str().to_owned()),
        reported_incident_start: opt_time(out.reported_incident_start_date.as_ref()),
        actual_incident_start: opt_time(out.actual_incident_start_date.as_ref()),
        impacted_accounts: out.impacted_accounts.unwrap_or_default(),
        impacted_regions: out
            .impacted_aws_regions
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.region.as_str().to_owned())
            .collect(),
        impacted_services: out.impacted_services.unwrap_or_default(),
        threat_actor_ips: out
            .threat_actor_ip_addresses
            .unwrap_or_default()
            .into_iter()
            .map(|ip| ThreatActorIp {
                ip_address: ip.ip_address,
                user_agent: ip.user_agent,
            })
            .collect(),
        watchers: out
            .watchers
            .unwrap_or_default()
            .into_iter()
            .map(|w| Watcher {
                email: w.email,
                name: w.name,
                job_title: w.job_title,
            })
            .collect(),
        attachments: out
            .case_attachments
            .unwrap_or_default()
            .into_iter()
            .map(|a| CaseAttachment {
                created: time(&a.created_date),
                attachment_id: a.attachment_id,
                file_name: a.file_name,
                status: Some(a.attachment_status.as_str().to_owned()),
                creator: Some(a.creator),
            })
            .collect(),
        closure_code: out
            .closure_code
            .as_ref()
            .and_then(|c| ClosureCode::parse(c.as_str())),
        created,
        last_updated,
        closed: opt_time(out.closed_date.as_ref()),
    })
}

/// A ListCases row; `None` when it cannot be used (an id that is no case id, or no
/// `lastUpdatedDate` to compare), which the caller logs.
pub fn summary(item: ListCasesItem) -> Option<CaseSummary> {
    let id = CaseId::parse(&item.case_id).ok()?;
    let last_updated = opt_time(item.last_updated_date.as_ref())?;
    Some(CaseSummary {
        id,
        title: item.title,
        status: item
            .case_status
            .as_ref()
            .and_then(|s| CaseStatus::parse(s.as_str())),
        last_updated,
        closed: opt_time(item.closed_date.as_ref()),
    })
}

pub fn comment(item: ListCommentsItem) -> CaseComment {
    CaseComment {
        id: item.comment_id,
        body: item.body.unwrap_or_default(),
        creator: item.creator,
        last_updated_by: item.last_updated_by,
        created: opt_time(item.created_date.as_ref()),
        last_updated: opt_time(item.last_updated_date.as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_seconds_come_back_as_the_instant_meant() {
        let t = time(&DateTime::from_secs_f64(1_795_723_573.945)).unwrap();
        assert_eq!(t.unix_timestamp_nanos(), 1_795_723_573_945_000_000);
        let t = time(&DateTime::from_secs_f64(-1.5)).unwrap();
        assert_eq!(t.unix_timestamp_nanos(), -1_500_000_000);
    }
}
