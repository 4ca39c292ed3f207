//! Each synced field, both ways: how it is rendered into Jira from the case, and how what Jira
//! holds is read back for SIR. The description, the one field with a part of the service's own,
//! has its module; summary, labels and custom fields are here.

pub mod description;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::{sir::Case, sync::mappings::CaseField};

/// The label naming the case; how a lost mapping is found again.
pub fn case_label(case_id: &str) -> String {
    format!("aws-sir-{case_id}")
}

/// Jira's summary: one line, at most 255 characters.
pub fn summary(title: &str) -> String {
    let one_line: String = title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    let s = if trimmed.is_empty() {
        "AWS Security Incident Response case"
    } else {
        trimmed
    };
    s.chars().take(255).collect()
}

/// The case's region: from its ARN, else the configured default.
pub fn region<'a>(case: &'a Case, default: &'a str) -> &'a str {
    case.arn
        .as_deref()
        .and_then(|arn| arn.split(':').nth(3))
        .filter(|r| !r.is_empty())
        .unwrap_or(default)
}

pub fn console_url(case: &Case, default_region: &str) -> String {
    let region = region(case, default_region);
    format!(
        "https://{region}.console.aws.amazon.com/security-ir/home?region={region}#/incidents/{}",
        case.id
    )
}

pub(crate) fn date(t: Option<time::OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "not reported".into())
}

pub(crate) fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// The configured custom fields' values for this case (strings; lists comma-separated).
pub fn custom_fields(
    case: &Case,
    fields: &BTreeMap<String, CaseField>,
    default_region: &str,
) -> BTreeMap<String, Value> {
    fields
        .iter()
        .map(|(id, source)| {
            let v = match source {
                CaseField::CaseId => case.id.to_string(),
                CaseField::CaseArn => case.arn.clone().unwrap_or_default(),
                CaseField::Title => case.title.clone(),
                CaseField::Status => case.status.as_str().to_owned(),
                CaseField::EngagementType => case.engagement_type.clone().unwrap_or_default(),
                CaseField::ResolverType => case.resolver_type.clone().unwrap_or_default(),
                CaseField::ConsoleUrl => console_url(case, default_region),
                CaseField::ReportedIncidentStart => case
                    .reported_incident_start
                    .and_then(|t| t.format(&Rfc3339).ok())
                    .unwrap_or_default(),
                CaseField::ImpactedAccounts => case.impacted_accounts.join(", "),
                CaseField::ImpactedRegions => case.impacted_regions.join(", "),
                CaseField::ImpactedServices => case.impacted_services.join(", "),
                CaseField::ClosureCode => case
                    .closure_code
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default(),
            };
            (id.clone(), json!(v))
        })
        .collect()
}
