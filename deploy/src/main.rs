//! `deploy-integrations-solution`: deploys sir-jira-bridge to AWS with one command, as AWS's
//! sample integration does (`deploy-integrations-solution jira --email … --url … --token …
//! --project-key …`). See deploy/README.md.

mod artifact;
mod aws;
mod build;
mod cli;
mod names;
mod plan;
mod template;

use std::collections::BTreeMap;

use clap::Parser;

use crate::{
    artifact::Checked,
    aws::{Aws, Stored},
    cli::{Cli, Command, PackageArgs},
    plan::{Action, Artifact, Deployment, Plan},
    template::Template,
};

#[derive(Debug, thiserror::Error)]
enum DeployError {
    #[error(transparent)]
    Artifact(#[from] artifact::ArtifactError),
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
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
    let args = match cli.command {
        Command::Jira(args) => *args,
        Command::Package(args) => return package(&args).await,
    };
    let template = Template::parse(template::TEMPLATE)?;
    let plan = Plan::from_args(args, cli.log_level, &template)?;
    print!("{}", plan.render(&template));
    if plan.dry_run {
        return Ok(());
    }
    // Every check before the first write: the region, the credentials, the artifact.
    let aws = Aws::connect(plan.region.as_deref()).await?;
    let account = aws.account().await?;
    println!("\n== account {account}, region {}", aws.region());
    match &plan.action {
        Action::Destroy => {
            let outputs = aws.destroy(&plan.names).await?;
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
        Action::Deploy(deployment) => {
            aws.check_namespace_free(&plan.names).await?;
            println!("\n== artifact");
            let artifact = match &deployment.artifact {
                Artifact::Build { architecture } => {
                    artifact::check(&build::build(*architecture).await?)?
                }
                Artifact::Prebuilt(path) => artifact::check(path)?,
            };
            println!("  {} (sha256 {})", artifact.path.display(), artifact.sha256);
            deploy(&aws, &account, &plan, deployment, &artifact).await
        }
    }
}

/// Builds the artifact and writes it, with its checksum, for deployments without the source.
async fn package(args: &PackageArgs) -> Result<(), DeployError> {
    let built = artifact::check(&build::build(args.architecture).await?)?;
    let name = format!(
        "{}-{}-{}.zip",
        plan::LAMBDA_BINARY,
        env!("CARGO_PKG_VERSION"),
        args.architecture.as_str()
    );
    let write = |path: std::path::PathBuf, bytes: &[u8]| {
        std::fs::create_dir_all(&args.output)
            .and_then(|()| std::fs::write(&path, bytes))
            .map_err(|e| DeployError::Write {
                path: path.display().to_string(),
                message: e.to_string(),
            })
    };
    let zip = args.output.join(&name);
    write(zip.clone(), &built.bytes)?;
    // The format `sha256sum -c` reads.
    write(
        args.output.join(format!("{name}.sha256")),
        format!("{}  {name}\n", built.sha256).as_bytes(),
    )?;
    println!("{}\nsha256 {}", zip.display(), built.sha256);
    println!(
        "deploy it anywhere with: deploy-integrations-solution jira ... --architecture {} \
         --artifact {name}",
        args.architecture.as_str()
    );
    Ok(())
}

async fn deploy(
    aws: &Aws,
    account: &str,
    plan: &Plan,
    deployment: &Deployment,
    artifact: &Checked,
) -> Result<(), DeployError> {
    println!("\n== secrets (region {})", aws.region());
    let (versions, stored) = aws.store_secrets(&deployment.secrets).await?;
    let result = deploy_stack(aws, account, plan, deployment, artifact, versions).await;
    if result.is_err() && stored.generated_webhook_secret.is_some() {
        // The generated secret is stored; the user reads it from SSM once the stack is up.
        let name = plan.names.webhook_secret();
        eprintln!(
            "\nnote: a new Jira webhook secret was stored in {name}; read it with \
             `aws ssm get-parameter --name {name} --with-decryption`"
        );
    }
    let outputs = result?;
    print_outputs_and_steps(plan, deployment, &outputs, &stored);
    Ok(())
}

async fn deploy_stack(
    aws: &Aws,
    account: &str,
    plan: &Plan,
    deployment: &Deployment,
    artifact: &Checked,
    secrets_version: String,
) -> Result<BTreeMap<String, String>, DeployError> {
    println!("\n== upload");
    let bucket = aws
        .ensure_bucket(plan.artifact_bucket.as_deref(), account)
        .await?;
    let template_url = aws.upload(&bucket, &plan.stack_name, artifact).await?;

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
                "          (generated now and shown this once; kept in {})",
                plan.names.webhook_secret()
            );
        }
        (None, true) => println!("  Secret: the value you passed with --webhook-secret"),
        (None, false) => println!(
            "  Secret: unchanged; read it with `{}`",
            read_secret(&plan.names.webhook_secret())
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
        read_secret(&plan.names.admin_token()),
        get("GatewayUrl")
    );
    if stored.admin_token_generated {
        println!(
            "  (a new admin token was generated into {})",
            plan.names.admin_token()
        );
    }
}
