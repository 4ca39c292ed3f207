//! The event schema is a contract with other consumers on the bus: the committed copy must be
//! what the code produces. Regenerate with `UPDATE_SCHEMA=1 cargo test schema`.

#[test]
fn committed_event_schema_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/events.schema.json");
    let generated =
        serde_json::to_string_pretty(&sir_jira_bridge::event::json_schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/events.schema.json is stale: run `UPDATE_SCHEMA=1 cargo test schema` and commit it"
    );
}
