//! Secret settings given by reference (`ssm:`, `secretsmanager:`, `file:`), resolved at
//! start-up against moto.

use sir_jira_bridge::{
    app::Application,
    config::{Config, ConfigError},
    secret::Secret,
};

use crate::helpers::*;

const ROTATED: &str = "rotated-webhook-secret-0123456789";
const FROM_FILE: &str = "file-webhook-secret-0123456789";

#[tokio::test]
async fn secrets_load_from_ssm_secrets_manager_and_files() {
    let sdk = moto_sdk().await;
    let parameter = format!("/{}/webhookSecret", unique("sir"));
    // One parameter holds both secrets of a rotation.
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name(&parameter)
        .value(format!("{SECRET_NEW},{ROTATED}"))
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let secret_name = unique("sir-jira");
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&secret_name)
        .secret_string(serde_json::json!({ "automation": AUTOMATION_SECRET }).to_string())
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("webhook-secret");
    std::fs::write(&file, format!("{FROM_FILE}\n")).unwrap();

    let app = AwsApp::spawn(
        &sdk,
        |s| {
            s.jira_webhook_secrets = Some(vec![
                Secret::new(format!("ssm:{parameter}")),
                Secret::new(format!("file:{}", file.display())),
            ]);
            s.automation_secret = Some(Secret::new(format!(
                "secretsmanager:{secret_name}#automation"
            )));
        },
        None,
    )
    .await;
    let body = fixture("issue_created.json");
    for (secret, delivery) in [(SECRET_NEW, "s-1"), (ROTATED, "s-2"), (FROM_FILE, "s-3")] {
        let r = app.post_signed(&body, secret, delivery).await;
        assert_eq!(r.status().as_u16(), 202, "{delivery}");
    }
    assert_eq!(
        app.post_signed(&body, SECRET_OLD, "s-4").await.status(),
        401
    );
    let r = app
        .client
        .post(format!("http://{}/webhooks/jira", app.addr))
        .header(AUTOMATION_HEADER, AUTOMATION_SECRET)
        .header("content-type", "application/json")
        .body(r#"{"IssueId": "SEC-42"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    app.stop().await;
}

#[tokio::test]
async fn a_missing_or_weak_secret_stops_start_up_naming_the_reference_not_the_value() {
    let sdk = moto_sdk().await;
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("/{}/absent", unique("sir"));
    let mut settings = test_settings(dir.path());
    settings.automation_secret = Some(Secret::new(format!("ssm:{missing}")));
    let err =
        Application::build_with_aws(Config::from_settings(settings).unwrap(), Some(sdk.clone()))
            .await
            .err()
            .expect("start-up fails")
            .to_string();
    assert!(err.contains("automation_secret"), "{err}");
    assert!(err.contains(&missing), "{err}");

    let weak = format!("/{}/weak", unique("sir"));
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name(&weak)
        .value("tooshort")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let mut config = Config::from_settings({
        let mut s = test_settings(dir.path());
        s.jira_webhook_secrets = Some(vec![Secret::new(format!("ssm:{weak}"))]);
        s
    })
    .unwrap();
    assert!(config.needs_aws());
    let err = config
        .resolve_secrets(&sir_jira_bridge::aws::SecretResolver::new(Some(&sdk)))
        .await
        .unwrap_err();
    assert!(matches!(err, ConfigError::SecretRef { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("jira_webhook_secrets"), "{message}");
    assert!(message.contains("shorter than 16"), "{message}");
    assert!(
        !message.contains("tooshort"),
        "the value never shows: {message}"
    );
}
