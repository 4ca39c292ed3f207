//! SIR-side events: a case changed and its Jira issue should follow. Produced from SIR's native
//! EventBridge events (`source: aws.security-ir`) and by the poller; carries only what tells the
//! consumer which case to fetch, because SIR's own events carry no more.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaseChanged {
    /// The case id (10 to 32 digits).
    pub case_id: String,
    pub change: CaseChange,
    /// Who made the change, as SIR reports it (account id or principal ARN), when known.
    pub actor: Option<String>,
    /// The case's `lastUpdatedDate` when the change was seen (RFC 3339), when known.
    pub last_updated: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseChange {
    Created,
    Updated,
    Closed,
    CommentAdded,
    CommentUpdated,
    /// The poller saw a newer `lastUpdatedDate` (what changed is unknown).
    Polled,
    /// Backfill of an existing case.
    Backfill,
}

/// `source` of the events SIR itself publishes to EventBridge.
pub const NATIVE_SOURCE: &str = "aws.security-ir";

/// What a native SIR EventBridge event becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Native {
    /// A case event: the consumer fetches the case and follows it.
    Changed(Box<super::EventEnvelope>),
    /// A SIR event about something else (membership events): acknowledge and drop it.
    Ignored { detail_type: String },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NativeEventError {
    #[error("not a SIR event (source `{0}`, expected `aws.security-ir`)")]
    NotSir(String),
    #[error("SIR event without `{0}`")]
    Missing(&'static str),
    #[error("SIR event: {0}")]
    InvalidCaseId(#[from] crate::sir::InvalidCaseId),
}

/// Whether an EventBridge envelope (as an SQS message body or a Lambda payload holds it) is
/// one of SIR's own events.
pub fn is_native(envelope: &serde_json::Value) -> bool {
    envelope.get("source").and_then(serde_json::Value::as_str) == Some(NATIVE_SOURCE)
}

/// Turns SIR's EventBridge envelope into a `sir.case.changed` event (origin `sir_native`,
/// delivery id the EventBridge event id, so a redelivery dedupes like a webhook retry). The
/// SQS consumer and the Lambda consumer both call this.
pub fn from_native(envelope: &serde_json::Value) -> Result<Native, NativeEventError> {
    use serde_json::Value;
    let text = |v: &Value, key: &'static str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let source = text(envelope, "source").unwrap_or_default();
    if source != NATIVE_SOURCE {
        return Err(NativeEventError::NotSir(source));
    }
    let detail_type =
        text(envelope, "detail-type").ok_or(NativeEventError::Missing("detail-type"))?;
    let change = match detail_type.as_str() {
        "Case Created" => CaseChange::Created,
        "Case Updated" => CaseChange::Updated,
        "Case Closed" => CaseChange::Closed,
        "Case Comment Added" => CaseChange::CommentAdded,
        "Case Comment Updated" => CaseChange::CommentUpdated,
        _ => return Ok(Native::Ignored { detail_type }),
    };
    let id = text(envelope, "id").ok_or(NativeEventError::Missing("id"))?;
    let detail = envelope.get("detail").cloned().unwrap_or(Value::Null);
    // The detail names the case; the resource ARN (`…:case/<id>`) does too, should a future
    // detail shape move it.
    let case_id = text(&detail, "caseId")
        .or_else(|| {
            envelope
                .get("resources")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .find_map(|arn| arn.rsplit_once(":case/").map(|(_, id)| id.to_owned()))
        })
        .ok_or(NativeEventError::Missing("detail.caseId"))?;
    let case_id = crate::sir::CaseId::parse(&case_id)?;
    let actor = text(&detail, "updatedBy").or_else(|| text(&detail, "createdBy"));
    Ok(Native::Changed(Box::new(super::EventEnvelope::new(
        super::Origin::SirNative,
        id,
        super::Event::SirCaseChanged(CaseChanged {
            case_id: case_id.into(),
            change,
            actor,
            last_updated: None,
        }),
    ))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::{Event, Origin};

    fn fixture() -> serde_json::Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sir/event_case_updated.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn a_case_event_becomes_sir_case_changed() {
        let value = fixture();
        assert!(is_native(&value));
        let Native::Changed(env) = from_native(&value).unwrap() else {
            panic!("a case event");
        };
        assert_eq!(env.origin, Origin::SirNative);
        assert_eq!(env.delivery_id, "3e1b5f2a-8c4d-4b7e-9f10-2a6c9d8e7f01");
        assert_eq!(
            env.event,
            Event::SirCaseChanged(CaseChanged {
                case_id: "1234567890".into(),
                change: CaseChange::Updated,
                actor: Some("123456789012".into()),
                last_updated: None,
            })
        );
    }

    #[test]
    fn every_case_detail_type_maps_and_others_are_ignored() {
        let mut value = fixture();
        for (detail_type, change) in [
            ("Case Created", CaseChange::Created),
            ("Case Closed", CaseChange::Closed),
            ("Case Comment Added", CaseChange::CommentAdded),
            ("Case Comment Updated", CaseChange::CommentUpdated),
        ] {
            value["detail-type"] = json!(detail_type);
            let Native::Changed(env) = from_native(&value).unwrap() else {
                panic!("{detail_type}");
            };
            let Event::SirCaseChanged(c) = env.event else {
                panic!("{detail_type}");
            };
            assert_eq!(c.change, change);
        }
        value["detail-type"] = json!("Membership Updated");
        assert_eq!(
            from_native(&value).unwrap(),
            Native::Ignored {
                detail_type: "Membership Updated".into()
            }
        );
    }

    #[test]
    fn the_case_id_falls_back_to_the_resource_and_is_validated() {
        let mut value = fixture();
        value["detail"] = json!({"createdBy": "123456789012"});
        let Native::Changed(env) = from_native(&value).unwrap() else {
            panic!("a case event");
        };
        assert_eq!(env.event.case_id(), Some("1234567890"));

        value["resources"] = json!([]);
        assert_eq!(
            from_native(&value).unwrap_err(),
            NativeEventError::Missing("detail.caseId")
        );
        value["detail"] = json!({"caseId": "12"});
        assert!(matches!(
            from_native(&value),
            Err(NativeEventError::InvalidCaseId(_))
        ));
        value["source"] = json!("sir-jira-bridge");
        assert!(matches!(
            from_native(&value),
            Err(NativeEventError::NotSir(_))
        ));
    }
}
