//! The JSON body SNS POSTs to an HTTP/S subscription, and the string its signature covers.

use serde::Deserialize;

/// `Type` of an SNS message (also sent in `x-amz-sns-message-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    SubscriptionConfirmation,
    Notification,
    UnsubscribeConfirmation,
}

impl MessageType {
    pub fn parse(value: &str) -> Option<MessageType> {
        match value {
            "SubscriptionConfirmation" => Some(MessageType::SubscriptionConfirmation),
            "Notification" => Some(MessageType::Notification),
            "UnsubscribeConfirmation" => Some(MessageType::UnsubscribeConfirmation),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::SubscriptionConfirmation => "SubscriptionConfirmation",
            MessageType::Notification => "Notification",
            MessageType::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }
}

/// Why a body is not an SNS message; the text goes back to the sender in a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("body is not an SNS message: {0}")]
    Json(String),
    #[error("SNS message lacks `{0}`")]
    Missing(&'static str),
    #[error("unknown SNS message Type `{0}`")]
    UnknownType(String),
    #[error("SNS message `{0}` is empty or longer than 256 characters")]
    Invalid(&'static str),
}

/// An SNS message with every field as the JSON-decoded string that was received: the
/// signature covers these exact strings, so nothing here is ever re-serialised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsMessage {
    pub kind: MessageType,
    pub message_id: String,
    pub topic_arn: String,
    /// Notifications only, and only when the publisher set one.
    pub subject: Option<String>,
    pub message: String,
    pub timestamp: String,
    /// Kept as sent: an unsupported version is a verification failure, not a parse error.
    pub signature_version: String,
    pub signature: String,
    pub signing_cert_url: String,
    /// Confirmations only.
    pub subscribe_url: Option<String>,
    /// Confirmations only.
    pub token: Option<String>,
}

/// The wire shape. Every field a signature covers must be a JSON string: serde refuses any
/// other type and any duplicated key, so two readers can never disagree about a value.
/// Unknown keys (`UnsubscribeURL`, `MessageAttributes`, …) are not signed and not used.
#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(rename = "MessageId")]
    message_id: Option<String>,
    #[serde(rename = "TopicArn")]
    topic_arn: Option<String>,
    #[serde(rename = "Subject")]
    subject: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
    #[serde(rename = "Timestamp")]
    timestamp: Option<String>,
    #[serde(rename = "SignatureVersion")]
    signature_version: Option<String>,
    #[serde(rename = "Signature")]
    signature: Option<String>,
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: Option<String>,
    #[serde(rename = "SubscribeURL")]
    subscribe_url: Option<String>,
    #[serde(rename = "Token")]
    token: Option<String>,
}

impl SnsMessage {
    pub fn parse(body: &[u8]) -> Result<SnsMessage, MessageError> {
        let wire: Wire =
            serde_json::from_slice(body).map_err(|e| MessageError::Json(e.to_string()))?;
        let kind_text = wire.kind.ok_or(MessageError::Missing("Type"))?;
        let kind = MessageType::parse(&kind_text)
            .ok_or_else(|| MessageError::UnknownType(kind_text.chars().take(64).collect()))?;
        let confirmation = kind != MessageType::Notification;
        let required = |v: Option<String>, name| v.ok_or(MessageError::Missing(name));
        // The MessageId becomes the dedupe key; SNS sends a UUID.
        let message_id = required(wire.message_id, "MessageId")?;
        if message_id.is_empty() || message_id.chars().count() > 256 {
            return Err(MessageError::Invalid("MessageId"));
        }
        Ok(SnsMessage {
            kind,
            message_id,
            topic_arn: required(wire.topic_arn, "TopicArn")?,
            // A confirmation's signature does not cover Subject, so it is not kept.
            subject: wire.subject.filter(|_| !confirmation),
            message: required(wire.message, "Message")?,
            timestamp: required(wire.timestamp, "Timestamp")?,
            signature_version: required(wire.signature_version, "SignatureVersion")?,
            signature: required(wire.signature, "Signature")?,
            signing_cert_url: required(wire.signing_cert_url, "SigningCertURL")?,
            subscribe_url: match confirmation {
                true => Some(required(wire.subscribe_url, "SubscribeURL")?),
                false => None,
            },
            token: match confirmation {
                true => Some(required(wire.token, "Token")?),
                false => None,
            },
        })
    }

    /// The string SNS signs: `Key\nValue\n` for each key in AWS's documented order. A
    /// Notification covers Message, MessageId, Subject (when present), Timestamp, TopicArn and
    /// Type; the confirmations cover Message, MessageId, SubscribeURL, Timestamp, Token,
    /// TopicArn and Type.
    pub fn string_to_sign(&self) -> String {
        let fields: [(&str, Option<&str>); 8] = [
            ("Message", Some(&self.message)),
            ("MessageId", Some(&self.message_id)),
            ("Subject", self.subject.as_deref()),
            ("SubscribeURL", self.subscribe_url.as_deref()),
            ("Timestamp", Some(&self.timestamp)),
            ("Token", self.token.as_deref()),
            ("TopicArn", Some(&self.topic_arn)),
            ("Type", Some(self.kind.as_str())),
        ];
        let mut out = String::with_capacity(
            fields
                .iter()
                .map(|(k, v)| k.len() + v.map_or(0, str::len) + 2)
                .sum(),
        );
        for (key, value) in fields {
            if let Some(value) = value {
                out.push_str(key);
                out.push('\n');
                out.push_str(value);
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTIFICATION: &str = r#"{
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:T",
        "Subject": "S",
        "Message": "{\"automationData\":{\"IssueId\":\"SEC-42\"}}\n",
        "Timestamp": "2026-11-26T14:15:01.123Z",
        "SignatureVersion": "2",
        "Signature": "c2ln",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/x.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        "MessageAttributes": {"a": {"Type": "String", "Value": "b"}}
    }"#;

    #[test]
    fn notification_string_to_sign_uses_decoded_values_in_order() {
        let m = SnsMessage::parse(NOTIFICATION.as_bytes()).unwrap();
        assert_eq!(
            m.string_to_sign(),
            "Message\n{\"automationData\":{\"IssueId\":\"SEC-42\"}}\n\nMessageId\nm-1\nSubject\nS\n\
             Timestamp\n2026-11-26T14:15:01.123Z\nTopicArn\narn:aws:sns:us-east-1:123456789012:T\n\
             Type\nNotification\n"
        );
        let no_subject = NOTIFICATION.replace("\"Subject\": \"S\",", "");
        let m = SnsMessage::parse(no_subject.as_bytes()).unwrap();
        assert!(!m.string_to_sign().contains("Subject"));
    }

    #[test]
    fn confirmation_string_to_sign_covers_token_and_subscribe_url() {
        let body = r#"{"Type":"SubscriptionConfirmation","MessageId":"m","Token":"t",
            "TopicArn":"arn","Message":"hello","SubscribeURL":"https://s/?a=b",
            "Timestamp":"ts","SignatureVersion":"1","Signature":"x","SigningCertURL":"u",
            "Subject":"not signed"}"#;
        let m = SnsMessage::parse(body.as_bytes()).unwrap();
        assert_eq!(
            m.string_to_sign(),
            "Message\nhello\nMessageId\nm\nSubscribeURL\nhttps://s/?a=b\nTimestamp\nts\n\
             Token\nt\nTopicArn\narn\nType\nSubscriptionConfirmation\n"
        );
    }

    #[test]
    fn refuses_malformed_messages() {
        let cases = [
            ("[]", "not an SNS message"),
            (r#"{"Type":"Notification"}"#, "MessageId"),
            (r#"{"Type":"Other"}"#, "unknown SNS message Type"),
            (r#"{"Type":7}"#, "not an SNS message"),
        ];
        for (body, want) in cases {
            let err = SnsMessage::parse(body.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{body}: {err}");
        }
        let duplicated = NOTIFICATION.replace(
            "\"MessageId\": \"m-1\",",
            "\"MessageId\": \"m-1\", \"MessageId\": \"m-2\",",
        );
        let err = SnsMessage::parse(duplicated.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("duplicate"), "{err}");
        let subscribe_without_token = r#"{"Type":"SubscriptionConfirmation","MessageId":"m",
            "TopicArn":"arn","Message":"hello","SubscribeURL":"https://s/",
            "Timestamp":"ts","SignatureVersion":"1","Signature":"x","SigningCertURL":"u"}"#;
        assert_eq!(
            SnsMessage::parse(subscribe_without_token.as_bytes()),
            Err(MessageError::Missing("Token"))
        );
    }
}
