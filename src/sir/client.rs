//! [`SirApi`] over `aws-sdk-securityir`. The SDK signs, retries throttling and server errors
//! with backoff (and reuses the same `clientToken` across its retries); what is left after
//! its retries becomes a [`SirError`], so the worker's own backoff takes over and no work is
//! dropped. Every attempt is counted in `peer_api_calls`; every call's outcome is recorded in
//! [`PeerHealth`] for the admin status.

use std::{future::Future, sync::Arc};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_securityir::{
    Client,
    config::{Builder, Region},
    types::{
        AwsRegion, EngagementType, ImpactedAwsRegion, ResolverType, SelfManagedCaseStatus, Watcher,
    },
};

use super::{
    Case, CaseComment, CaseId, CasePage, CaseStatus, CaseUpdate, NewCase, SirApi, SirError,
    call_metrics::CallMetrics, convert, sdk_error::classify,
};
use crate::{
    metrics::Metrics,
    peers::{Peer, PeerHealth},
};

/// ListCases and ListComments take 1–25; the service documents no default, so always ask
/// for the most.
pub const PAGE_SIZE: i32 = 25;

pub struct SirClient {
    client: Client,
    peers: Arc<PeerHealth>,
}

impl SirClient {
    /// A client on the shared SDK configuration (credentials, HTTP client, retries), with the
    /// SIR region and endpoint overrides applied.
    pub fn from_sdk(
        sdk: &SdkConfig,
        region: Option<&str>,
        endpoint_url: Option<&str>,
        metrics: Arc<Metrics>,
        peers: Arc<PeerHealth>,
    ) -> Self {
        let mut builder = Builder::from(sdk);
        if let Some(region) = region {
            builder = builder.region(Region::new(region.to_owned()));
        }
        if let Some(url) = endpoint_url {
            builder = builder.endpoint_url(url);
        }
        Self::from_conf(builder, metrics, peers)
    }

    /// A client from an SDK configuration builder (tests: the SIR emulator's).
    pub fn from_conf(builder: Builder, metrics: Arc<Metrics>, peers: Arc<PeerHealth>) -> Self {
        let config = builder.interceptor(CallMetrics::new(metrics)).build();
        Self {
            client: Client::from_conf(config),
            peers,
        }
    }

    /// Runs one SIR call, recording its outcome for the admin status and the logs.
    async fn call<T>(
        &self,
        operation: &'static str,
        case_id: Option<&CaseId>,
        work: impl Future<Output = Result<T, SirError>>,
    ) -> Result<T, SirError> {
        let result = work.await;
        match &result {
            Ok(_) => self.peers.record_success(Peer::Sir),
            Err(e) => {
                tracing::warn!(
                    operation,
                    case_id = case_id.map(CaseId::as_str).unwrap_or(""),
                    retryable = e.is_retryable(),
                    error = %e,
                    "SIR call failed"
                );
                self.peers
                    .record_error(Peer::Sir, format!("{operation}: {e}"));
            }
        }
        result
    }
}

#[async_trait]
impl SirApi for SirClient {
    async fn get_case(&self, id: &CaseId) -> Result<Case, SirError> {
        self.call("GetCase", Some(id), async {
            let out = self
                .client
                .get_case()
                .case_id(id.as_str())
                .send()
                .await
                .map_err(classify)?;
            convert::case(id, out)
        })
        .await
    }

    async fn list_cases(&self, next_token: Option<String>) -> Result<CasePage, SirError> {
        self.call("ListCases", None, async {
            let out = self
                .client
                .list_cases()
                .max_results(PAGE_SIZE)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(classify)?;
            let items = out.items.unwrap_or_default();
            let mut cases = Vec::with_capacity(items.len());
            for item in items {
                let id = item.case_id.clone();
                match convert::summary(item) {
                    Some(summary) => cases.push(summary),
                    None => tracing::warn!(
                        case_id = %id,
                        "ListCases row without a valid case id or lastUpdatedDate: skipped"
                    ),
                }
            }
            Ok(CasePage {
                cases,
                next_token: out.next_token.filter(|t| !t.is_empty()),
                total: out.total.and_then(|t| u64::try_from(t).ok()),
            })
        })
        .await
    }

    async fn list_comments(&self, id: &CaseId) -> Result<Vec<CaseComment>, SirError> {
        self.call("ListComments", Some(id), async {
            let mut comments = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let out = self
                    .client
                    .list_comments()
                    .case_id(id.as_str())
                    .max_results(PAGE_SIZE)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(classify)?;
                comments.extend(
                    out.items
                        .unwrap_or_default()
                        .into_iter()
                        .map(convert::comment),
                );
                // Missing, empty or repeated: the last page (a repeated token would loop).
                match out.next_token.filter(|t| !t.is_empty()) {
                    Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                    _ => break,
                }
            }
            // The service documents no order; the trait promises oldest first.
            comments.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
            Ok(comments)
        })
        .await
    }

    async fn create_case(&self, case: &NewCase, client_token: &str) -> Result<CaseId, SirError> {
        let invalid = |e: aws_sdk_securityir::error::BuildError| SirError::Validation {
            message: e.to_string(),
            source: Some(Box::new(e)),
        };
        let watchers = case
            .watchers
            .iter()
            .map(|w| {
                Watcher::builder()
                    .email(&w.email)
                    .set_name(w.name.clone())
                    .set_job_title(w.job_title.clone())
                    .build()
                    .map_err(invalid)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let regions = case
            .impacted_regions
            .iter()
            .map(|r| {
                ImpactedAwsRegion::builder()
                    .region(AwsRegion::from(r.as_str()))
                    .build()
                    .map_err(invalid)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let started = aws_sdk_securityir::primitives::DateTime::from_millis(
            (case.reported_incident_start.unix_timestamp_nanos() / 1_000_000) as i64,
        );
        let id = self
            .call("CreateCase", None, async {
                let out = self
                    .client
                    .create_case()
                    .client_token(client_token)
                    .title(&case.title)
                    .description(&case.description)
                    .engagement_type(EngagementType::from(case.engagement_type.as_str()))
                    .resolver_type(ResolverType::from(case.resolver_type.as_str()))
                    .reported_incident_start_date(started)
                    .set_impacted_accounts(Some(case.impacted_accounts.clone()))
                    .set_watchers(Some(watchers))
                    .set_impacted_aws_regions((!regions.is_empty()).then_some(regions))
                    .send()
                    .await
                    .map_err(classify)?;
                Ok(out.case_id)
            })
            .await?;
        CaseId::parse(&id)
            .map_err(|_| SirError::validation(format!("CreateCase answered a case id `{id}`")))
    }

    async fn update_case(&self, id: &CaseId, update: &CaseUpdate) -> Result<(), SirError> {
        if update.title.is_none() && update.description.is_none() {
            // Even an empty UpdateCase moves lastUpdatedDate: that would be a change to echo.
            return Ok(());
        }
        self.call("UpdateCase", Some(id), async {
            self.client
                .update_case()
                .case_id(id.as_str())
                .set_title(update.title.clone())
                .set_description(update.description.clone())
                .send()
                .await
                .map_err(classify)?;
            Ok(())
        })
        .await
    }

    async fn update_case_status(&self, id: &CaseId, status: CaseStatus) -> Result<(), SirError> {
        if !status.is_self_managed() {
            return Err(SirError::validation(format!(
                "UpdateCaseStatus cannot set `{status}` (only self-managed statuses; closing is CloseCase)"
            )));
        }
        self.call("UpdateCaseStatus", Some(id), async {
            self.client
                .update_case_status()
                .case_id(id.as_str())
                .case_status(SelfManagedCaseStatus::from(status.as_str()))
                .send()
                .await
                .map_err(classify)?;
            Ok(())
        })
        .await
    }

    async fn close_case(&self, id: &CaseId) -> Result<(), SirError> {
        self.call("CloseCase", Some(id), async {
            self.client
                .close_case()
                .case_id(id.as_str())
                .send()
                .await
                .map_err(classify)?;
            Ok(())
        })
        .await
    }

    async fn create_comment(
        &self,
        id: &CaseId,
        body: &str,
        client_token: &str,
    ) -> Result<String, SirError> {
        self.call("CreateCaseComment", Some(id), async {
            let out = self
                .client
                .create_case_comment()
                .case_id(id.as_str())
                .body(body)
                .client_token(client_token)
                .send()
                .await
                .map_err(classify)?;
            Ok(out.comment_id)
        })
        .await
    }

    async fn update_comment(
        &self,
        id: &CaseId,
        comment_id: &str,
        body: &str,
    ) -> Result<(), SirError> {
        self.call("UpdateCaseComment", Some(id), async {
            self.client
                .update_case_comment()
                .case_id(id.as_str())
                .comment_id(comment_id)
                .body(body)
                .send()
                .await
                .map_err(classify)?;
            Ok(())
        })
        .await
    }

    async fn attachment_download_url(
        &self,
        id: &CaseId,
        attachment_id: &str,
    ) -> Result<String, SirError> {
        self.call("GetCaseAttachmentDownloadUrl", Some(id), async {
            let out = self
                .client
                .get_case_attachment_download_url()
                .case_id(id.as_str())
                .attachment_id(attachment_id)
                .send()
                .await
                .map_err(classify)?;
            Ok(out.attachment_presigned_url)
        })
        .await
    }

    async fn attachment_upload_url(
        &self,
        id: &CaseId,
        file_name: &str,
        content_length: u64,
        client_token: &str,
    ) -> Result<String, SirError> {
        let length = i64::try_from(content_length)
            .map_err(|_| SirError::validation(format!("{file_name} is too large")))?;
        self.call("GetCaseAttachmentUploadUrl", Some(id), async {
            let out = self
                .client
                .get_case_attachment_upload_url()
                .case_id(id.as_str())
                .file_name(file_name)
                .content_length(length)
                .client_token(client_token)
                .send()
                .await
                .map_err(classify)?;
            Ok(out.attachment_presigned_url)
        })
        .await
    }
}
