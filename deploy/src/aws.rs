//! Carrying out a plan against AWS through the SDK: SSM for the secrets, S3 for the artifact
//! and the template, CloudFormation (a change set) for the stack.

use std::{collections::BTreeMap, time::Duration};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, StackStatus,
};
use aws_sdk_s3::{
    operation::head_bucket::HeadBucketError,
    primitives::ByteStream,
    types::{BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration},
};
use aws_sdk_ssm::{
    error::{DisplayErrorContext, SdkError},
    operation::{
        delete_parameter::DeleteParameterError, get_parameter::GetParameterError,
        put_parameter::PutParameterError,
    },
    types::ParameterType,
};
use sha2::{Digest, Sha256};
use sir_jira_bridge::secret::Secret;

use crate::{
    artifact::Checked,
    names::Names,
    plan::{SecretKind, SecretValue, SecretWrite, generate_secret},
    template,
};

/// How often a change set or the stack is looked at while waiting.
const POLL: Duration = Duration::from_secs(5);
/// Longest wait for a stack operation.
const STACK_TIMEOUT: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("{operation} failed: {message}")]
    Call {
        operation: &'static str,
        message: String,
    },
    #[error("no AWS region: pass --region or set AWS_REGION")]
    NoRegion,
    #[error(
        "AWS credentials do not work (sts:GetCallerIdentity: {0}): set AWS_PROFILE, or \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`; nothing was written"
    )]
    Credentials(String),
    #[error(
        "cannot reach AWS STS in {region} ({message}): check this host's network and proxy \
         (HTTPS_PROXY) and --region; nothing was written"
    )]
    Unreachable { region: String, message: String },
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    #[error(
        "stack {stack} is {status}: a stack whose creation failed must be deleted first \
         (run again with --destroy)"
    )]
    StackNeedsDelete { stack: String, status: String },
    #[error("the change set failed: {0}")]
    ChangeSet(String),
    #[error("stack {stack} ended {status}:\n{reasons}")]
    StackFailed {
        stack: String,
        status: String,
        reasons: String,
    },
    #[error("gave up waiting for stack {0}")]
    Timeout(String),
    #[error(
        "{parameter} already exists but stack {stack} does not: the parameters under {prefix} \
         belong to someone else (AWS's sample integration keeps its own there). To run beside \
         it, deploy with another --stack-name (parameters under /sir-jira-bridge/<name>) or \
         --prefix; nothing was written"
    )]
    NamespaceTaken {
        parameter: String,
        stack: String,
        prefix: String,
    },
}

fn call<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> AwsError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    move |e| AwsError::Call {
        operation,
        message: DisplayErrorContext(&e).to_string(),
    }
}

pub struct Aws {
    sdk: SdkConfig,
    region: String,
}

/// What a deployment stored that people need to see once.
#[derive(Debug, Default)]
pub struct Stored {
    /// The webhook secret, when this run generated it.
    pub generated_webhook_secret: Option<Secret>,
    pub webhook_secret_given: bool,
    pub admin_token_generated: bool,
}

impl Aws {
    pub async fn connect(region: Option<&str>) -> Result<Aws, AwsError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_owned()));
        }
        let sdk = loader.load().await;
        let region = sdk.region().ok_or(AwsError::NoRegion)?.to_string();
        Ok(Aws { sdk, region })
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account the credentials belong to: the first call, so missing or expired
    /// credentials stop the command before it writes anything.
    pub async fn account(&self) -> Result<String, AwsError> {
        let identity = aws_sdk_sts::Client::new(&self.sdk)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                // The SDK's context (credential chain, connector) is a paragraph: one line of
                // it says what went wrong.
                let one_line = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
                match &e {
                    SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
                        AwsError::Unreachable {
                            region: self.region.clone(),
                            // The innermost cause ("Connection refused", "timed out").
                            message: one_line(
                                std::iter::successors(
                                    d.as_connector_error()
                                        .map(|c| c as &(dyn std::error::Error + 'static)),
                                    |e| e.source(),
                                )
                                .last()
                                .map(ToString::to_string)
                                .unwrap_or_else(|| "no connection".into()),
                            ),
                        }
                    }
                    // No provider in the chain had credentials.
                    SdkError::DispatchFailure(_) => {
                        AwsError::Credentials("no credentials found".into())
                    }
                    SdkError::ServiceError(s) => AwsError::Credentials(one_line(format!(
                        "{}: {}",
                        s.err().meta().code().unwrap_or("refused"),
                        s.err().meta().message().unwrap_or_default()
                    ))),
                    _ => AwsError::Credentials(one_line(DisplayErrorContext(&e).to_string())),
                }
            })?;
        Ok(identity.account().unwrap_or_default().to_owned())
    }

    /// A first deployment must not take over another owner's parameters: the secrets are
    /// written (overwriting) before CloudFormation would refuse to create `jiraEmail` over an
    /// existing one, so an occupied namespace would cost its owner (the AWS sample, most
    /// likely) its Jira token. The stack owns `jiraEmail` and deletes it with itself, so the
    /// parameter existing while the stack does not means someone else holds the path.
    pub async fn check_namespace_free(&self, names: &Names) -> Result<(), AwsError> {
        if self.stack_status(&names.stack).await?.is_some() {
            return Ok(());
        }
        let parameter = names.parameter("jiraEmail");
        let found = aws_sdk_ssm::Client::new(&self.sdk)
            .get_parameter()
            .name(&parameter)
            .send()
            .await;
        match found {
            Ok(_) => Err(AwsError::NamespaceTaken {
                parameter,
                stack: names.stack.clone(),
                prefix: names.prefix.clone(),
            }),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetParameterError::ParameterNotFound(_))
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(call("ssm:GetParameter")(e)),
        }
    }

    /// Writes the secrets; returns a version stamp of all of them (a stack parameter, so a
    /// changed secret reaches new function instances) and what was generated.
    pub async fn store_secrets(
        &self,
        secrets: &[SecretWrite],
    ) -> Result<(String, Stored), AwsError> {
        let ssm = aws_sdk_ssm::Client::new(&self.sdk);
        let mut versions = Vec::new();
        let mut stored = Stored::default();
        for s in secrets {
            let (version, generated) = match &s.value {
                SecretValue::Given { secret, .. } => {
                    (put_if_changed(&ssm, &s.parameter, secret).await?, None)
                }
                SecretValue::KeepOrGenerate => keep_or_generate(&ssm, &s.parameter).await?,
            };
            let verb = match (&s.value, &generated) {
                (SecretValue::Given { .. }, _) => "stored",
                (_, Some(_)) => "generated and stored",
                (_, None) => "kept",
            };
            println!(
                "  {:<45} {:<20} {verb} (version {version})",
                s.parameter, s.what
            );
            match s.kind {
                SecretKind::WebhookSecret => {
                    stored.webhook_secret_given = matches!(s.value, SecretValue::Given { .. });
                    stored.generated_webhook_secret = generated;
                }
                SecretKind::AdminToken => stored.admin_token_generated = generated.is_some(),
                SecretKind::JiraToken => {}
            }
            versions.push(version.to_string());
        }
        Ok((versions.join("."), stored))
    }

    /// The bucket for artifacts, created (private) when missing.
    pub async fn ensure_bucket(
        &self,
        name: Option<&str>,
        account: &str,
    ) -> Result<String, AwsError> {
        let s3 = aws_sdk_s3::Client::new(&self.sdk);
        let bucket = match name {
            Some(name) => name.to_owned(),
            None => format!("sir-jira-bridge-artifacts-{account}-{}", self.region),
        };
        match s3.head_bucket().bucket(&bucket).send().await {
            Ok(_) => return Ok(bucket),
            Err(e) if matches!(e.as_service_error(), Some(HeadBucketError::NotFound(_))) => {}
            Err(e) => return Err(call("s3:HeadBucket")(e)),
        }
        let mut create = s3.create_bucket().bucket(&bucket);
        if self.region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                    .build(),
            );
        }
        create.send().await.map_err(call("s3:CreateBucket"))?;
        s3.put_public_access_block()
            .bucket(&bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(call("s3:PutPublicAccessBlock"))?;
        println!("  created the bucket {bucket}");
        Ok(bucket)
    }

    /// Uploads the artifact (named by its hash, so a new build is a new object and the
    /// functions are updated) and the template pointing at it; returns the template's URL.
    pub async fn upload(
        &self,
        bucket: &str,
        stack: &str,
        artifact: &Checked,
    ) -> Result<String, AwsError> {
        let s3 = aws_sdk_s3::Client::new(&self.sdk);
        let bytes = artifact.bytes.clone();
        let zip_key = format!("sir-jira-bridge/{}.zip", artifact.sha256);
        let size = bytes.len();
        s3.put_object()
            .bucket(bucket)
            .key(&zip_key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(call("s3:PutObject"))?;
        println!("  s3://{bucket}/{zip_key} ({} KiB)", size / 1024);

        let packaged = template::packaged(template::TEMPLATE, &format!("s3://{bucket}/{zip_key}"))?;
        let template_key = format!(
            "sir-jira-bridge/{stack}/template-{}.yaml",
            hex::encode(Sha256::digest(packaged.as_bytes()))
        );
        s3.put_object()
            .bucket(bucket)
            .key(&template_key)
            .content_type("text/yaml")
            .body(ByteStream::from(packaged.into_bytes()))
            .send()
            .await
            .map_err(call("s3:PutObject"))?;
        println!("  s3://{bucket}/{template_key}");
        Ok(format!(
            "https://{bucket}.s3.{}.amazonaws.com/{template_key}",
            self.region
        ))
    }

    /// Creates or updates the stack through a change set and waits for it.
    pub async fn deploy_stack(
        &self,
        stack: &str,
        template_url: &str,
        parameters: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let cfn = aws_sdk_cloudformation::Client::new(&self.sdk);
        let change_set_type = match self.stack_status(stack).await? {
            None | Some(StackStatus::ReviewInProgress) => ChangeSetType::Create,
            Some(StackStatus::RollbackComplete) => {
                return Err(AwsError::StackNeedsDelete {
                    stack: stack.to_owned(),
                    status: StackStatus::RollbackComplete.to_string(),
                });
            }
            Some(_) => ChangeSetType::Update,
        };
        let name = format!(
            "deploy-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default()
        );
        let started =
            aws_sdk_cloudformation::primitives::DateTime::from(std::time::SystemTime::now());
        cfn.create_change_set()
            .stack_name(stack)
            .change_set_name(&name)
            .change_set_type(change_set_type.clone())
            .template_url(template_url)
            .set_parameters(Some(
                parameters
                    .iter()
                    .map(|(k, v)| {
                        Parameter::builder()
                            .parameter_key(k)
                            .parameter_value(v)
                            .build()
                    })
                    .collect(),
            ))
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityAutoExpand)
            .description("deploy-integrations-solution")
            .send()
            .await
            .map_err(call("cloudformation:CreateChangeSet"))?;
        println!("  change set {name} ({change_set_type}) created; waiting for it");

        loop {
            tokio::time::sleep(POLL).await;
            let cs = cfn
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(&name)
                .send()
                .await
                .map_err(call("cloudformation:DescribeChangeSet"))?;
            match cs.status() {
                Some(ChangeSetStatus::CreateComplete) => {
                    println!("  {} changes", cs.changes().len());
                    break;
                }
                Some(ChangeSetStatus::Failed) => {
                    let reason = cs.status_reason().unwrap_or_default();
                    if reason.contains("didn't contain changes")
                        || reason.contains("No updates are to be performed")
                    {
                        println!("  the stack is already up to date");
                        let _ = cfn
                            .delete_change_set()
                            .stack_name(stack)
                            .change_set_name(&name)
                            .send()
                            .await;
                        return Ok(());
                    }
                    return Err(AwsError::ChangeSet(reason.to_owned()));
                }
                _ => {}
            }
        }
        cfn.execute_change_set()
            .stack_name(stack)
            .change_set_name(&name)
            .send()
            .await
            .map_err(call("cloudformation:ExecuteChangeSet"))?;
        self.wait(stack, started, false).await
    }

    /// The stack's outputs.
    pub async fn outputs(&self, stack: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let out = aws_sdk_cloudformation::Client::new(&self.sdk)
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .map_err(call("cloudformation:DescribeStacks"))?;
        Ok(out
            .stacks()
            .first()
            .map(|s| {
                s.outputs()
                    .iter()
                    .filter_map(|o| {
                        Some((o.output_key()?.to_owned(), o.output_value()?.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Deletes the stack (waiting for it) and the secrets this command stores. Returns the
    /// stack's outputs as they were.
    pub async fn destroy(&self, names: &Names) -> Result<BTreeMap<String, String>, AwsError> {
        let stack = names.stack.as_str();
        let cfn = aws_sdk_cloudformation::Client::new(&self.sdk);
        let outputs = match self.stack_status(stack).await? {
            Some(_) => {
                let outputs = self.outputs(stack).await?;
                let started = aws_sdk_cloudformation::primitives::DateTime::from(
                    std::time::SystemTime::now(),
                );
                cfn.delete_stack()
                    .stack_name(stack)
                    .send()
                    .await
                    .map_err(call("cloudformation:DeleteStack"))?;
                println!("deleting stack {stack}");
                self.wait(stack, started, true).await?;
                outputs
            }
            None => {
                println!("stack {stack} does not exist");
                BTreeMap::new()
            }
        };
        let ssm = aws_sdk_ssm::Client::new(&self.sdk);
        for name in [
            names.jira_token(),
            names.webhook_secret(),
            names.admin_token(),
        ] {
            match ssm.delete_parameter().name(&name).send().await {
                Ok(_) => println!("deleted {name}"),
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(DeleteParameterError::ParameterNotFound(_))
                    ) => {}
                Err(e) => return Err(call("ssm:DeleteParameter")(e)),
            }
        }
        Ok(outputs)
    }

    async fn stack_status(&self, stack: &str) -> Result<Option<StackStatus>, AwsError> {
        let result = aws_sdk_cloudformation::Client::new(&self.sdk)
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out
                .stacks()
                .first()
                .and_then(|s| s.stack_status().cloned())
                .filter(|s| *s != StackStatus::DeleteComplete)),
            // CloudFormation answers a missing stack with a ValidationError.
            Err(e)
                if DisplayErrorContext(&e)
                    .to_string()
                    .contains("does not exist") =>
            {
                Ok(None)
            }
            Err(e) => Err(call("cloudformation:DescribeStacks")(e)),
        }
    }

    /// Waits for the stack operation begun at `started`, printing its events as they come.
    async fn wait(
        &self,
        stack: &str,
        started: aws_sdk_cloudformation::primitives::DateTime,
        deleting: bool,
    ) -> Result<(), AwsError> {
        let cfn = aws_sdk_cloudformation::Client::new(&self.sdk);
        let deadline = tokio::time::Instant::now() + STACK_TIMEOUT;
        let mut seen = std::collections::HashSet::new();
        let mut failures = Vec::new();
        loop {
            tokio::time::sleep(POLL).await;
            if let Ok(out) = cfn.describe_stack_events().stack_name(stack).send().await {
                let mut new: Vec<_> = out
                    .stack_events()
                    .iter()
                    .filter(|e| e.timestamp().is_some_and(|t| t.secs() >= started.secs()))
                    .filter(|e| seen.insert(e.event_id().unwrap_or_default().to_owned()))
                    .collect();
                new.reverse();
                for e in new {
                    let status = e
                        .resource_status()
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    let reason = e.resource_status_reason().unwrap_or_default();
                    println!(
                        "  {status:<28} {:<34} {} {reason}",
                        e.resource_type().unwrap_or_default(),
                        e.logical_resource_id().unwrap_or_default()
                    );
                    if status.ends_with("_FAILED") && !reason.is_empty() {
                        failures.push(format!(
                            "  {}: {reason}",
                            e.logical_resource_id().unwrap_or_default()
                        ));
                    }
                }
            }
            let status = match self.stack_status(stack).await? {
                None if deleting => return Ok(()),
                None => {
                    return Err(AwsError::StackFailed {
                        stack: stack.to_owned(),
                        status: "gone".into(),
                        reasons: failures.join("\n"),
                    });
                }
                Some(status) => status,
            };
            let text = status.as_str();
            let failed = text.contains("ROLLBACK") || text.ends_with("_FAILED");
            if failed && !text.ends_with("_IN_PROGRESS") {
                return Err(AwsError::StackFailed {
                    stack: stack.to_owned(),
                    status: text.to_owned(),
                    reasons: failures.join("\n"),
                });
            }
            if !failed && text.ends_with("_COMPLETE") && !deleting {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(AwsError::Timeout(stack.to_owned()));
            }
        }
    }
}

/// Writes a given secret unless the stored value is already the same (no new version, so no
/// needless function update); returns the version in force.
async fn put_if_changed(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
    secret: &Secret,
) -> Result<i64, AwsError> {
    match ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
    {
        Ok(out) => {
            if let Some(p) = out.parameter()
                && p.value() == Some(secret.expose())
            {
                return Ok(p.version());
            }
        }
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(GetParameterError::ParameterNotFound(_))
            ) => {}
        Err(e) => return Err(call("ssm:GetParameter")(e)),
    }
    let out = ssm
        .put_parameter()
        .name(name)
        .value(secret.expose())
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .map_err(call("ssm:PutParameter"))?;
    Ok(out.version())
}

/// Keeps a stored secret, or generates and stores one; returns the version in force and the
/// secret when it was generated.
async fn keep_or_generate(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
) -> Result<(i64, Option<Secret>), AwsError> {
    match ssm.get_parameter().name(name).send().await {
        Ok(out) => return Ok((out.parameter().map(|p| p.version()).unwrap_or(1), None)),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(GetParameterError::ParameterNotFound(_))
            ) => {}
        Err(e) => return Err(call("ssm:GetParameter")(e)),
    }
    let secret = generate_secret();
    let result = ssm
        .put_parameter()
        .name(name)
        .value(secret.expose())
        .r#type(ParameterType::SecureString)
        // Never overwrite one that appeared meanwhile (another deployment).
        .overwrite(false)
        .send()
        .await;
    match result {
        Ok(out) => Ok((out.version(), Some(secret))),
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(PutParameterError::ParameterAlreadyExists(_))
            ) =>
        {
            Box::pin(keep_or_generate(ssm, name)).await
        }
        Err(e) => Err(call("ssm:PutParameter")(e)),
    }
}
