//! Every rule pattern the docs and the template give for the service's own events routes every
//! event type the service publishes (docs/events.schema.json): one event of each type is put on
//! a bus in moto, with the pattern's rule targeting a queue, and the queue must receive it.

use std::collections::BTreeSet;

use serde_json::{Value as Json, json};

use crate::helpers::{moto_sdk, read, template, unique, untagged};

const SOURCE: &str = "sir-jira-bridge";

/// The `type` constants of the event schema.
fn event_types() -> BTreeSet<String> {
    let schema: Json = serde_json::from_str(&read("docs/events.schema.json")).unwrap();
    let types: BTreeSet<String> = schema["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v["properties"]["type"]["const"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(types.len() >= 9, "{types:?}");
    types
}

/// Every pattern for the service's source written in the user-facing docs, as (file, JSON).
fn documented_patterns() -> Vec<(String, Json)> {
    let mut found = Vec::new();
    for file in [
        "README.md",
        "docs/reference.md",
        "docs/events.md",
        "docs/user-guide.md",
        "deploy/README.md",
        "deploy/container.md",
    ] {
        let text = read(file);
        let needle = format!("{{\"source\": [\"{SOURCE}\"]");
        for (at, _) in text.match_indices(&needle) {
            let mut depth = 0;
            let end = text[at..]
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| at + i + 1)
                .unwrap();
            // A pattern may wrap across lines in prose.
            let pattern: Json = serde_json::from_str(&text[at..end].replace('\n', " "))
                .unwrap_or_else(|e| panic!("{file}: {e}: {}", &text[at..end]));
            found.push((file.to_owned(), pattern));
        }
    }
    assert!(found.len() >= 3, "{found:?}");
    found
}

/// The template's rule on the service's bus, as the pattern it deploys.
fn template_pattern(rule: &str) -> Json {
    let t = template();
    let pattern = &t["Resources"][rule]["Properties"]["EventPattern"];
    assert!(
        matches!(untagged(&pattern["source"][0]), serde_norway::Value::String(s) if s == "EventSource"),
        "{rule}: source is the EventSource parameter"
    );
    json!({
        "source": [SOURCE],
        "detail-type": serde_json::to_value(&pattern["detail-type"]).unwrap(),
    })
}

struct Moto {
    events: aws_sdk_eventbridge::Client,
    sqs: aws_sdk_sqs::Client,
    bus: String,
}

impl Moto {
    async fn new() -> Moto {
        let sdk = moto_sdk().await;
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        let bus = unique("routing");
        events.create_event_bus().name(&bus).send().await.unwrap();
        Moto {
            events,
            sqs: aws_sdk_sqs::Client::new(&sdk),
            bus,
        }
    }

    /// A queue the rule with `pattern` delivers to; returns its URL.
    async fn rule_to_queue(&self, pattern: &Json) -> String {
        let name = unique("routed");
        let url = self
            .sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        self.events
            .put_rule()
            .name(&name)
            .event_bus_name(&self.bus)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .unwrap();
        self.events
            .put_targets()
            .rule(&name)
            .event_bus_name(&self.bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        url
    }

    /// Puts one event of each type, as the service publishes it.
    async fn publish(&self, types: &BTreeSet<String>) {
        for kind in types {
            let out = self
                .events
                .put_events()
                .entries(
                    aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus)
                        .source(SOURCE)
                        .detail_type(kind)
                        .detail(json!({"type": kind}).to_string())
                        .build(),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(out.failed_entry_count, 0, "{kind}");
        }
    }

    /// The detail-types the queue received.
    async fn received(&self, url: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return seen;
            }
            for m in messages {
                let body: Json = serde_json::from_str(m.body().unwrap()).unwrap();
                seen.insert(body["detail-type"].as_str().unwrap().to_owned());
                self.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

#[tokio::test]
async fn every_documented_pattern_routes_every_event_type() {
    let types = event_types();
    for (file, pattern) in documented_patterns() {
        let moto = Moto::new().await;
        let queue = moto.rule_to_queue(&pattern).await;
        moto.publish(&types).await;
        let received = moto.received(&queue).await;
        assert_eq!(
            received, types,
            "{file}'s pattern {pattern} drops the types missing on the left"
        );
    }
}

#[tokio::test]
async fn the_templates_rules_route_each_event_type_to_exactly_one_consumer() {
    let types = event_types();
    let moto = Moto::new().await;
    let case_to_issue = moto
        .rule_to_queue(&template_pattern("CaseToIssueRule"))
        .await;
    let issue_to_case = moto
        .rule_to_queue(&template_pattern("IssueToCaseRule"))
        .await;
    moto.publish(&types).await;
    let a = moto.received(&case_to_issue).await;
    let b = moto.received(&issue_to_case).await;
    assert!(
        a.is_disjoint(&b),
        "both consumers get {:?}",
        a.intersection(&b)
    );
    let routed: BTreeSet<String> = a.union(&b).cloned().collect();
    assert_eq!(
        routed, types,
        "types no consumer gets are missing on the left"
    );
    assert!(
        a.contains("sir.case.changed") && a.contains("sync.case.requested"),
        "{a:?}"
    );
    assert!(
        b.contains("jira.issue.updated") && b.contains("sync.issue.requested"),
        "{b:?}"
    );
}
