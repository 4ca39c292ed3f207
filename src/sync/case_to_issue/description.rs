//! What the issue should say about its case: summary, the ADF description (the case's own text,
//! then a details section kept current on every update), labels and mapped custom fields.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::{jira::adf, sir::Case, sync::mappings::CaseField};

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

fn date(t: Option<time::OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "not reported".into())
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// The details leave out the case's status and closure code on purpose: the issue's own status
/// and resolution carry them, and a copy here would turn every status change made in Jira into
/// a description write back to Jira (an echo loop of one write per change).
pub fn description(case: &Case, default_region: &str) -> Value {
    let mut blocks = adf::paragraphs(&case.description);
    if blocks.is_empty() {
        blocks.push(adf::paragraph(vec![adf::em("No description.")]));
    }
    blocks.push(adf::rule());
    blocks.push(adf::heading(
        3,
        vec![adf::text("AWS Security Incident Response case details")],
    ));
    let item = |label: &str, value: Vec<Value>| {
        let mut inlines = vec![adf::strong(&format!("{label}:")), adf::text(" ")];
        inlines.extend(value);
        vec![adf::paragraph(inlines)]
    };
    let plain = |s: String| vec![adf::text(&s)];
    let ips: Vec<String> = case
        .threat_actor_ips
        .iter()
        .map(|ip| match &ip.user_agent {
            Some(ua) => format!("{} ({ua})", ip.ip_address),
            None => ip.ip_address.clone(),
        })
        .collect();
    let watchers: Vec<String> = case
        .watchers
        .iter()
        .map(|w| match &w.name {
            Some(name) => format!("{name} <{}>", w.email),
            None => w.email.clone(),
        })
        .collect();
    blocks.push(adf::bullet_list(vec![
        item(
            "Case",
            vec![adf::link(
                case.id.as_str(),
                &console_url(case, default_region),
            )],
        ),
        item(
            "Engagement type",
            plain(case.engagement_type.clone().unwrap_or_else(|| "—".into())),
        ),
        item(
            "Resolver",
            plain(case.resolver_type.clone().unwrap_or_else(|| "—".into())),
        ),
        item("Reported start", plain(date(case.reported_incident_start))),
        item("Impacted accounts", plain(list(&case.impacted_accounts))),
        item("Regions", plain(list(&case.impacted_regions))),
        item("Services", plain(list(&case.impacted_services))),
        item("Threat-actor IPs", plain(list(&ips))),
        item("Watchers", plain(list(&watchers))),
    ]));
    blocks.push(adf::paragraph(vec![adf::em(
        "Kept in step with the case by sir-jira-bridge; edit the case in AWS to change these details.",
    )]));
    adf::doc(blocks)
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
