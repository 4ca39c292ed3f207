//! Alarms reach a person: every alarm notifies the stack's topic (or the given one), every
//! function has Errors and Throttles alarms, the consumers one on their oldest waiting event;
//! the gateway and the consumers reserve (and so cap) their concurrency.

use serde_norway::Value;

use crate::{
    dry_run::{SEED, run, text},
    helpers::{moto_sdk, template, unique, untagged},
};

fn resources_of<'a>(t: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (id.as_str().unwrap(), r))
        .collect()
}

fn tag(value: &Value) -> String {
    match value {
        Value::Tagged(t) => t.tag.to_string(),
        _ => String::new(),
    }
}

/// The function an alarm watches (its `FunctionName` dimension's `!Ref`).
fn watched_function(alarm: &Value) -> Option<&str> {
    alarm["Properties"]["Dimensions"]
        .as_sequence()?
        .iter()
        .find(|d| d["Name"].as_str() == Some("FunctionName"))
        .and_then(|d| untagged(&d["Value"]).as_str())
}

#[test]
fn every_alarm_notifies_the_stacks_topic_or_the_given_one() {
    let t = template();
    let alarms = resources_of(&t, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 14, "{}", alarms.len());
    for (id, alarm) in alarms {
        let actions = alarm["Properties"]["AlarmActions"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{id} has no AlarmActions list"));
        assert_eq!(actions.len(), 1, "{id}");
        assert_eq!(tag(&actions[0]), "!If", "{id}");
        let branches = untagged(&actions[0]).as_sequence().unwrap();
        assert_eq!(branches[0].as_str(), Some("CreateAlarmTopic"), "{id}");
        assert_eq!(untagged(&branches[1]).as_str(), Some("AlarmTopic"), "{id}");
        assert_eq!(
            untagged(&branches[2]).as_str(),
            Some("AlarmTopicArn"),
            "{id}"
        );
    }
    let topic = &t["Resources"]["AlarmTopic"];
    assert_eq!(topic["Type"].as_str(), Some("AWS::SNS::Topic"));
    assert_eq!(topic["Condition"].as_str(), Some("CreateAlarmTopic"));
    let email = &t["Resources"]["AlarmEmailSubscription"];
    assert_eq!(email["Properties"]["Protocol"].as_str(), Some("email"));
    assert_eq!(
        untagged(&email["Properties"]["Endpoint"]).as_str(),
        Some("AlarmEmail")
    );
}

#[test]
fn every_function_has_errors_and_throttles_alarms_and_consumers_an_event_age_alarm() {
    let t = template();
    let alarms = resources_of(&t, "AWS::CloudWatch::Alarm");
    let watching = |function: &str, metric: &str| {
        alarms.iter().any(|(_, a)| {
            watched_function(a) == Some(function)
                && a["Properties"]["MetricName"].as_str() == Some(metric)
                && a["Properties"]["Namespace"].as_str() == Some("AWS/Lambda")
        })
    };
    let functions = resources_of(&t, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 4);
    for (id, _) in &functions {
        assert!(watching(id, "Errors"), "{id}: no Errors alarm");
        assert!(watching(id, "Throttles"), "{id}: no Throttles alarm");
    }
    // Consumers: functions that a rule on the service's bus (or SIR's) invokes.
    for id in [
        "SecurityIncidentResponseJiraClient",
        "SecurityIncidentResponseClient",
    ] {
        assert!(
            watching(id, "AsyncEventAge"),
            "{id}: no AsyncEventAge alarm"
        );
    }
}

#[test]
fn the_gateway_and_the_consumers_reserve_concurrency_from_parameters_with_defaults() {
    let t = template();
    for (function, parameter) in [
        ("JiraNotificationsHandler", "GatewayReservedConcurrency"),
        (
            "SecurityIncidentResponseJiraClient",
            "ConsumerReservedConcurrency",
        ),
        (
            "SecurityIncidentResponseClient",
            "ConsumerReservedConcurrency",
        ),
    ] {
        let reserved = &t["Resources"][function]["Properties"]["ReservedConcurrentExecutions"];
        let text = serde_norway::to_string(reserved).unwrap();
        assert!(text.contains(parameter), "{function}: {text}");
        let default = t["Parameters"][parameter]["Default"].as_u64();
        assert!(default.is_some_and(|d| d >= 1), "{parameter}: {default:?}");
    }

    let out = run(&[SEED, &["--dry-run"]].concat());
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("GatewayReservedConcurrency = 20"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ConsumerReservedConcurrency = 5"),
        "{stdout}"
    );
    let out = run(&[
        SEED,
        &[
            "--gateway-concurrency",
            "100",
            "--consumer-concurrency",
            "none",
            "--dry-run",
        ],
    ]
    .concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("GatewayReservedConcurrency = 100"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ConsumerReservedConcurrency = -1"),
        "{stdout}"
    );
}

#[test]
fn alarm_email_or_topic_reach_the_stack() {
    let out = run(&[SEED, &["--alarm-email", "oncall@example.com", "--dry-run"]].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("AlarmEmail               = oncall@example.com"),
        "{stdout}"
    );
    let out = run(&[
        SEED,
        &[
            "--alarm-email",
            "a@example.com",
            "--alarm-topic-arn",
            "arn:aws:sns:us-east-1:1:t",
        ],
    ]
    .concat());
    assert_eq!(out.status.code(), Some(2), "one or the other");
}

/// A dimension's value as a deployed stack `stack` would have it: the resource a `!Ref` or
/// `!GetAtt` names, under a name of the stack's.
fn deployed_value(stack: &str, value: &Value) -> String {
    let target = untagged(value).as_str().unwrap();
    let resource = target.split('.').next().unwrap();
    format!("{stack}-{resource}")
}

#[tokio::test]
async fn cloudwatch_takes_every_alarm_as_the_template_writes_it_notifying_the_topic() {
    let sdk = moto_sdk().await;
    let topic = aws_sdk_sns::Client::new(&sdk)
        .create_topic()
        .name(unique("alarms"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let stack = unique("stack");
    let t = template();
    let alarms = resources_of(&t, "AWS::CloudWatch::Alarm");
    for (id, alarm) in &alarms {
        let p = &alarm["Properties"];
        let dimensions = p["Dimensions"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|d| {
                aws_sdk_cloudwatch::types::Dimension::builder()
                    .name(d["Name"].as_str().unwrap())
                    .value(deployed_value(&stack, &d["Value"]))
                    .build()
            })
            .collect();
        let number = |key: &str| p[key].as_f64().unwrap_or_else(|| panic!("{id}: {key}"));
        cloudwatch
            .put_metric_alarm()
            .alarm_name(format!("{stack}-{id}"))
            .alarm_description(p["AlarmDescription"].as_str().unwrap())
            .namespace(p["Namespace"].as_str().unwrap())
            .metric_name(p["MetricName"].as_str().unwrap())
            .set_dimensions(Some(dimensions))
            .statistic(p["Statistic"].as_str().unwrap().into())
            .set_unit(p["Unit"].as_str().map(Into::into))
            .period(number("Period") as i32)
            .evaluation_periods(number("EvaluationPeriods") as i32)
            .threshold(number("Threshold"))
            .comparison_operator(p["ComparisonOperator"].as_str().unwrap().into())
            .treat_missing_data(p["TreatMissingData"].as_str().unwrap())
            // What `!If [CreateAlarmTopic, !Ref AlarmTopic, ...]` becomes: the topic's ARN.
            .alarm_actions(&topic)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{id}: {e:?}"));
    }
    let described = cloudwatch
        .describe_alarms()
        .alarm_name_prefix(format!("{stack}-"))
        .max_records(100)
        .send()
        .await
        .unwrap()
        .metric_alarms
        .unwrap_or_default();
    assert_eq!(described.len(), alarms.len());
    for alarm in &described {
        let name = alarm.alarm_name().unwrap();
        assert_eq!(
            alarm.alarm_actions(),
            std::slice::from_ref(&topic),
            "{name}"
        );
        assert!(!alarm.dimensions().is_empty(), "{name}");
        if name.ends_with("ErrorsAlarm") || name.ends_with("ThrottlesAlarm") {
            assert_eq!(alarm.namespace(), Some("AWS/Lambda"), "{name}");
        }
    }
}
