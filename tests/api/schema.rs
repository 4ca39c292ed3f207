//! Contracts others build on: the event schema (consumers on the bus) and the OpenAPI document
//! (API clients). The committed copies must be what the code produces. Regenerate both with
//! `UPDATE_CONTRACTS=1 cargo test contracts` and commit them.

use crate::helpers::TestApp;

fn check(relative: &str, generated: String) {
    let path = format!("{}/{relative}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_CONTRACTS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(&path).parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{relative} is stale: run `UPDATE_CONTRACTS=1 cargo test contracts` and commit it"
    );
}

#[test]
fn contracts_event_schema_is_committed() {
    let schema = sir_jira_bridge::event::json_schema();
    check(
        "docs/events.schema.json",
        serde_json::to_string_pretty(&schema).unwrap() + "\n",
    );
}

#[test]
fn contracts_openapi_document_is_committed() {
    let doc = sir_jira_bridge::http::openapi_document()
        .to_pretty_json()
        .unwrap();
    check("openapi/openapi.json", doc + "\n");
}

#[tokio::test]
async fn contracts_served_openapi_is_the_committed_one() {
    let app = TestApp::spawn().await;
    let served: serde_json::Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(served, committed);
    assert_eq!(served["openapi"], "3.1.0");
}
