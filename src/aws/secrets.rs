//! Fetches secrets given by reference: SSM Parameter Store (decrypted), Secrets Manager, or a
//! file. Values are returned to the caller only; nothing here logs them.

use aws_config::SdkConfig;

use super::describe;
use crate::secret::{SecretRef, SecretSource};

pub struct SecretResolver {
    ssm: Option<aws_sdk_ssm::Client>,
    secrets_manager: Option<aws_sdk_secretsmanager::Client>,
}

impl SecretResolver {
    /// Without an SDK configuration only `file:` references resolve.
    pub fn new(sdk: Option<&SdkConfig>) -> Self {
        Self {
            ssm: sdk.map(aws_sdk_ssm::Client::new),
            secrets_manager: sdk.map(aws_sdk_secretsmanager::Client::new),
        }
    }
}

#[async_trait::async_trait]
impl SecretSource for SecretResolver {
    async fn fetch(&self, reference: &SecretRef) -> Result<String, String> {
        let no_aws = || "the AWS SDK is not configured".to_owned();
        match reference {
            SecretRef::Ssm(name) => {
                let out = self
                    .ssm
                    .as_ref()
                    .ok_or_else(no_aws)?
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| describe(&e))?;
                out.parameter
                    .and_then(|p| p.value)
                    .ok_or_else(|| "the parameter has no value".to_owned())
            }
            SecretRef::SecretsManager { id, key } => {
                let out = self
                    .secrets_manager
                    .as_ref()
                    .ok_or_else(no_aws)?
                    .get_secret_value()
                    .secret_id(id)
                    .send()
                    .await
                    .map_err(|e| describe(&e))?;
                let text = out.secret_string.ok_or_else(|| {
                    "the secret has no string value (binary secrets are not supported)".to_owned()
                })?;
                match key {
                    None => Ok(text),
                    Some(key) => {
                        // The error must not quote the text: it is the secret.
                        let object: serde_json::Map<String, serde_json::Value> =
                            serde_json::from_str(&text)
                                .map_err(|_| "the secret is not a JSON object".to_owned())?;
                        object
                            .get(key)
                            .and_then(|v| v.as_str())
                            .map(str::to_owned)
                            .ok_or_else(|| format!("the secret has no string key `{key}`"))
                    }
                }
            }
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map(|t| t.trim().to_owned())
                .map_err(|e| e.to_string()),
        }
    }
}
