//! `deploy-integrations-solution`: deploys sir-jira-bridge to AWS with one command, as AWS's
//! sample integration does (`deploy-integrations-solution jira --email … --url … --token …
//! --project-key …`). See deploy/README.md.

mod aws;
mod build;
mod cli;
mod plan;
mod template;

use std::collections::BTreeMap;

use clap::Parser;

use crate::{
    aws::{Aws, Stored},
    cli::Cli,
    plan::{ADMIN_TOKEN_PARAMETER, Action, Artifact, Deployment, Plan, WEBHOOK_SECRET_PARAMETER},
    template::Template,
};

#[derive(Debug, thiserror::Error)]
enum DeployError {
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    Build(#[from] build::BuildError),
    #[error(transparent)]
    Aws(#[from] aws::AwsError),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nerror: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), DeployError> {
    let template = Template::parse(template::TEMPLATE)?;
    let plan = Plan::from_cli(cli, &template)?;
    print!("{}", plan.render(&template));
    if plan.dry_run {
        return Ok(());
    }
    let aws = Aws::connect(plan.region.as_deref()).await?;
    match &plan.action {
        Action::Destroy => {
            let outputs = aws.destroy(&plan.stack_name).await?;
            println!("\nstack {} deleted", plan.stack_name);
            if let Some(table) = outputs.get("StateTableName") {
                println!(
                    "the DynamoDB table {table} was kept (it holds the mappings): delete it with \
                     `aws dynamodb delete-table --table-name {table} --region {}` once unneeded",
                    aws.region()
                );
            }
            Ok(())
        }
        Action::Deploy(deployment) => deploy(&aws, &plan, deployment).await,
    }
}

async fn deploy(aws: &Aws, plan: &Plan, deployment: &Deployment) -> Result<(), DeployError> {
    println!("\n== secrets (region {})", aws.region());
    let (versions, stored) = aws.store_secrets(&deployment.secrets).await?;
    let result = deploy_stack(aws, plan, deployment, versions).await;
    if result.is_err() && stored.generated_webhook_secret.is_some() {
        // The generated secret is stored; the user reads it from SSM once the stack is up.
        eprintln!(
            "\nnote: a new Jira webhook secret was stored in {WEBHOOK_SECRET_PARAMETER}; read it \
             with `aws ssm get-parameter --name {WEBHOOK_SECRET_PARAMETER} --with-decryption`"
        );
    }
    let outputs = result?;
    print_outputs_and_steps(plan, deployment, &outputs, &stored);
    Ok(())
}

async fn deploy_stack(
    aws: &Aws,
    plan: &Plan,
    deployment: &Deployment,
    secrets_version: String,
) -> Result<BTreeMap<String, String>, DeployError> {
    println!("\n== artifact");
    let artifact = match &deployment.artifact {
        Artifact::Build { architecture } => build::build(*architecture).await?,
        Artifact::Prebuilt(path) => path.clone(),
    };
    println!("  {}", artifact.display());

    println!("\n== upload");
    let bucket = aws.ensure_bucket(plan.artifact_bucket.as_deref()).await?;
    let template_url = aws.upload(&bucket, &plan.stack_name, &artifact).await?;

    println!("\n== stack {}", plan.stack_name);
    let mut parameters = deployment.parameters.clone();
    parameters.insert("SecretsVersion".into(), secrets_version);
    aws.deploy_stack(&plan.stack_name, &template_url, &parameters)
        .await?;
    Ok(aws.outputs(&plan.stack_name).await?)
}

fn print_outputs_and_steps(
    plan: &Plan,
    deployment: &Deployment,
    outputs: &BTreeMap<String, String>,
    stored: &Stored,
) {
    println!("\n== outputs of stack {}", plan.stack_name);
    for (key, value) in outputs {
        println!("  {key:<42} {value}");
    }
    let get = |key: &str| outputs.get(key).map(String::as_str).unwrap_or("(missing)");
    let read_secret = |name: &str| {
        format!(
            "aws ssm get-parameter --name {name} --with-decryption --query Parameter.Value --output text"
        )
    };
    let project = deployment
        .parameters
        .get("JiraProjectKey")
        .map(String::as_str)
        .unwrap_or("");

    println!("\n== in Jira: Settings > System > WebHooks > Create a WebHook");
    println!("  URL:    {}", get("JiraWebhookUrl"));
    match (
        &stored.generated_webhook_secret,
        stored.webhook_secret_given,
    ) {
        (Some(secret), _) => {
            println!("  Secret: {}", secret.expose());
            println!(
                "          (generated now and shown this once; kept in {WEBHOOK_SECRET_PARAMETER})"
            );
        }
        (None, true) => println!("  Secret: the value you passed with --webhook-secret"),
        (None, false) => println!(
            "  Secret: unchanged; read it with `{}`",
            read_secret(WEBHOOK_SECRET_PARAMETER)
        ),
    }
    println!("  JQL:    project = {project}");
    println!("  Events: Issue created, updated, deleted; Comment created, updated, deleted");
    if let Some(topic) = outputs.get("JiraNotificationsTopicArn") {
        println!("\n== Jira Automation through SNS (optional)");
        println!("  Action \"Send message to Amazon SNS topic\": topic {topic}");
        println!("  Message: key/value IssueId = {{{{issue.key}}}}");
    }
    println!("\n== admin API");
    println!(
        "  curl -H \"Authorization: Bearer $({})\" {}v1/status",
        read_secret(ADMIN_TOKEN_PARAMETER),
        get("GatewayUrl")
    );
    if stored.admin_token_generated {
        println!("  (a new admin token was generated into {ADMIN_TOKEN_PARAMETER})");
    }
}
