//! The emulator exercised through the real `aws-sdk-securityir` client, as production code
//! will use it: every test starts its own emulator on a free loopback port.

mod attachments;
mod binary;
mod cases;
mod comments;
mod errors;
mod eventbridge;
mod events;
mod log;
mod throttling;

use aws_sdk_securityir::Client;
use aws_sdk_securityir::operation::create_case::builders::CreateCaseFluentBuilder;
use aws_sdk_securityir::primitives::DateTime;
use aws_sdk_securityir::types::{EngagementType, ResolverType, Watcher};
use sir_emulator::{EmulatorConfig, EmulatorHandle, SirEmulator};

pub async fn start() -> EmulatorHandle {
    SirEmulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts")
}

/// A CreateCase with every required member set.
pub fn new_case(client: &Client, title: &str) -> CreateCaseFluentBuilder {
    client
        .create_case()
        .title(title)
        .description(format!("Description of {title}"))
        .engagement_type(EngagementType::SecurityIncident)
        .resolver_type(ResolverType::SelfValue)
        .reported_incident_start_date(DateTime::from_secs(1_764_164_400))
        .impacted_accounts("123456789012")
        .watchers(
            Watcher::builder()
                .email("secops@example.com")
                .name("SecOps")
                .build()
                .unwrap(),
        )
}

pub async fn create(client: &Client, title: &str) -> String {
    new_case(client, title)
        .send()
        .await
        .expect("CreateCase succeeds")
        .case_id()
        .to_string()
}

/// A raw request with a SigV4-looking header, to look at the exact JSON on the wire.
pub async fn raw(
    emu: &EmulatorHandle,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", emu.endpoint_url()))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDRAW/20261126/us-east-1/security-ir/aws4_request, SignedHeaders=host, Signature=00",
        );
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.expect("raw request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}
