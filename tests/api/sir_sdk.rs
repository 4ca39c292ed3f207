//! A small `SirApi` over `aws-sdk-securityir`, for driving the sync against the SIR emulator
//! through the real SDK. Test-only: the production client (`src/sir/client.rs`, another
//! branch) replaces it once merged.

use async_trait::async_trait;
use aws_sdk_securityir::{Client, error::ProvideErrorMetadata, primitives::DateTime, types};
use sir_jira_bridge::sir::{
    Case, CaseAttachment, CaseComment, CaseId, CasePage, CaseStatus, CaseUpdate, ClosureCode,
    SirApi, SirError, ThreatActorIp, Watcher,
};
use time::OffsetDateTime;

pub struct SdkSir(pub Client);

fn error<E: ProvideErrorMetadata + std::fmt::Debug>(
    e: aws_sdk_securityir::error::SdkError<E>,
) -> SirError {
    let message = format!("{:?}", e.message().unwrap_or_default());
    match e.code() {
        Some("ThrottlingException") => SirError::Throttled(message),
        Some("ValidationException") => SirError::Validation(message),
        Some("ResourceNotFoundException") => SirError::NotFound(message),
        Some("ConflictException") => SirError::Conflict(message),
        Some("AccessDeniedException") => SirError::AccessDenied(message),
        _ => SirError::Unavailable(format!("{e:?}")),
    }
}

fn at(t: Option<&DateTime>) -> Option<OffsetDateTime> {
    t.and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok())
}

#[async_trait]
impl SirApi for SdkSir {
    async fn get_case(&self, id: &CaseId) -> Result<Case, SirError> {
        let o = self
            .0
            .get_case()
            .case_id(id.as_str())
            .send()
            .await
            .map_err(error)?;
        Ok(Case {
            id: id.clone(),
            arn: o.case_arn().map(str::to_owned),
            title: o.title().unwrap_or_default().to_owned(),
            description: o.description().unwrap_or_default().to_owned(),
            status: o
                .case_status()
                .and_then(|s| CaseStatus::parse(s.as_str()))
                .ok_or_else(|| SirError::Validation("case without a known status".into()))?,
            engagement_type: o.engagement_type().map(|e| e.as_str().to_owned()),
            resolver_type: o.resolver_type().map(|r| r.as_str().to_owned()),
            pending_action: o.pending_action().map(|p| p.as_str().to_owned()),
            reported_incident_start: at(o.reported_incident_start_date()),
            actual_incident_start: at(o.actual_incident_start_date()),
            impacted_accounts: o.impacted_accounts().to_vec(),
            impacted_regions: o
                .impacted_aws_regions()
                .iter()
                .map(|r| r.region().as_str().to_owned())
                .collect(),
            impacted_services: o.impacted_services().to_vec(),
            threat_actor_ips: o
                .threat_actor_ip_addresses()
                .iter()
                .map(|ip| ThreatActorIp {
                    ip_address: ip.ip_address().to_owned(),
                    user_agent: ip.user_agent().map(str::to_owned),
                })
                .collect(),
            watchers: o
                .watchers()
                .iter()
                .map(|w| Watcher {
                    email: w.email().to_owned(),
                    name: w.name().map(str::to_owned),
                    job_title: w.job_title().map(str::to_owned),
                })
                .collect(),
            attachments: o
                .case_attachments()
                .iter()
                .map(|a| CaseAttachment {
                    attachment_id: a.attachment_id().to_owned(),
                    file_name: a.file_name().to_owned(),
                    status: Some(a.attachment_status().as_str().to_owned()),
                    creator: Some(a.creator().to_owned()),
                    created: at(Some(a.created_date())),
                })
                .collect(),
            closure_code: o
                .closure_code()
                .and_then(|c| ClosureCode::parse(c.as_str())),
            created: at(o.created_date()),
            last_updated: at(o.last_updated_date()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            closed: at(o.closed_date()),
        })
    }

    async fn list_cases(&self, _next_token: Option<String>) -> Result<CasePage, SirError> {
        unimplemented!("the case → issue sync never lists cases")
    }

    async fn list_comments(&self, id: &CaseId) -> Result<Vec<CaseComment>, SirError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .0
                .list_comments()
                .case_id(id.as_str())
                .max_results(25)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(error)?;
            out.extend(page.items().iter().map(|c| CaseComment {
                id: c.comment_id().to_owned(),
                body: c.body().unwrap_or_default().to_owned(),
                creator: c.creator().map(str::to_owned),
                last_updated_by: c.last_updated_by().map(str::to_owned),
                created: at(c.created_date()),
                last_updated: at(c.last_updated_date()),
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    async fn update_case(&self, id: &CaseId, u: &CaseUpdate) -> Result<(), SirError> {
        self.0
            .update_case()
            .case_id(id.as_str())
            .set_title(u.title.clone())
            .set_description(u.description.clone())
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn update_case_status(&self, id: &CaseId, status: CaseStatus) -> Result<(), SirError> {
        self.0
            .update_case_status()
            .case_id(id.as_str())
            .case_status(types::SelfManagedCaseStatus::from(status.as_str()))
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn close_case(&self, id: &CaseId) -> Result<(), SirError> {
        self.0
            .close_case()
            .case_id(id.as_str())
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn create_comment(
        &self,
        id: &CaseId,
        body: &str,
        token: &str,
    ) -> Result<String, SirError> {
        let o = self
            .0
            .create_case_comment()
            .case_id(id.as_str())
            .body(body)
            .client_token(token)
            .send()
            .await
            .map_err(error)?;
        Ok(o.comment_id().to_owned())
    }

    async fn update_comment(
        &self,
        id: &CaseId,
        comment_id: &str,
        body: &str,
    ) -> Result<(), SirError> {
        self.0
            .update_case_comment()
            .case_id(id.as_str())
            .comment_id(comment_id)
            .body(body)
            .send()
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn attachment_download_url(
        &self,
        id: &CaseId,
        attachment_id: &str,
    ) -> Result<String, SirError> {
        let o = self
            .0
            .get_case_attachment_download_url()
            .case_id(id.as_str())
            .attachment_id(attachment_id)
            .send()
            .await
            .map_err(error)?;
        Ok(o.attachment_presigned_url().to_owned())
    }

    async fn attachment_upload_url(
        &self,
        id: &CaseId,
        file_name: &str,
        content_length: u64,
        client_token: &str,
    ) -> Result<String, SirError> {
        let o = self
            .0
            .get_case_attachment_upload_url()
            .case_id(id.as_str())
            .file_name(file_name)
            .content_length(content_length as i64)
            .client_token(client_token)
            .send()
            .await
            .map_err(error)?;
        Ok(o.attachment_presigned_url().to_owned())
    }
}
