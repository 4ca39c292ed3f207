//! Jira attachments uploaded to the case, each once, through SIR's presigned upload URL. Over
//! the size limit the case gets a comment naming the file instead. Recorded `pending` (with the
//! file name) before the upload; a pending one whose file is already on the case is taken as
//! uploaded. Attachments the integration's own account added (copies of SIR attachments) are
//! never sent back.

use super::{IssueToCaseSync, SyncError, comments};
use crate::{
    jira::api::JiraAttachment,
    sir::{Case, SirError},
    sync::links::{self, JiraAttachmentLink, LinkState, Linked},
};

/// The `clientToken` of a Jira attachment's upload (or of the comment standing for it).
pub fn client_token(jira_attachment_id: &str) -> String {
    format!("jira-attachment-{jira_attachment_id}")
}

impl IssueToCaseSync {
    pub(super) async fn sync_attachments(
        &self,
        issue_key: &str,
        case: &Case,
        on_issue: &[JiraAttachment],
    ) -> Result<(), SyncError> {
        if on_issue.is_empty() {
            return Ok(());
        }
        let group = case.id.as_str();
        // Jira copies of SIR attachments, by their Jira id: never uploaded back.
        let from_sir = links::copies_of_sir_attachments(self.store.as_ref(), group).await?;
        let own = self.config.own_jira_account_id.as_deref();
        for a in on_issue {
            if from_sir.contains(&a.id) || (own.is_some() && a.author.as_deref() == own) {
                continue;
            }
            let link =
                match links::get::<JiraAttachmentLink>(self.store.as_ref(), group, &a.id).await? {
                    Some(l) if l.value.state == LinkState::Done => continue,
                    // Uploaded before a failure, or not: the case's list tells.
                    Some(l) if case.attachments.iter().any(|c| c.file_name == a.filename) => {
                        self.mark_done(group, a, Some(l.version), false).await?;
                        continue;
                    }
                    Some(l) => l,
                    None => {
                        let pending = JiraAttachmentLink {
                            state: LinkState::Pending,
                            file_name: a.filename.clone(),
                            too_large: false,
                        };
                        if !links::put(self.store.as_ref(), group, &a.id, &pending, None).await? {
                            // Another worker is on it.
                            continue;
                        }
                        Linked {
                            key: a.id.clone(),
                            value: pending,
                            version: 1,
                        }
                    }
                };
            let too_large = self.upload(issue_key, case, a).await?;
            self.mark_done(group, a, Some(link.version), too_large)
                .await?;
        }
        Ok(())
    }

    /// Uploads one attachment, or comments when it is over the limit; returns whether it was.
    async fn upload(
        &self,
        issue_key: &str,
        case: &Case,
        a: &JiraAttachment,
    ) -> Result<bool, SyncError> {
        let source = self
            .source
            .as_ref()
            .ok_or_else(|| SyncError::NoSource(issue_key.to_owned()))?;
        let token = client_token(&a.id);
        let max = self.attachment_max_bytes;
        let bytes = source
            .attachment(a, max)
            .await
            .map_err(|error| SyncError::Source {
                key: issue_key.to_owned(),
                error,
            })?;
        let Some(bytes) = bytes else {
            let body = format!(
                "{} Attachment {} ({} bytes) is on the Jira issue and over the {} bytes this \
                 integration copies; download it from Jira.",
                comments::note_tag(issue_key),
                a.filename,
                a.size,
                max
            );
            match self.sir.create_comment(&case.id, &body, &token).await {
                Ok(_) | Err(SirError::Conflict { .. }) => {}
                Err(e) => return Err(self.sir_failed(e)),
            }
            tracing::info!(case_id = %case.id, issue_key, file = %a.filename, size = a.size, "Jira attachment too large: commented instead");
            return Ok(true);
        };
        let url = self.sir(
            self.sir
                .attachment_upload_url(&case.id, &a.filename, bytes.len() as u64, &token)
                .await,
        )?;
        let size = bytes.len();
        let response = self.http.put(url).body(bytes).send().await.map_err(|e| {
            let e = e.without_url();
            SyncError::Sir(SirError::Unavailable {
                message: e.to_string(),
                source: Some(Box::new(e)),
            })
        })?;
        if !response.status().is_success() {
            // The presigned URL names no credentials; its status is safe to report.
            return Err(SyncError::Sir(SirError::Unavailable {
                message: format!("upload of {} answered {}", a.filename, response.status()),
                source: None,
            }));
        }
        tracing::info!(case_id = %case.id, issue_key, file = %a.filename, size, "Jira attachment uploaded to the case");
        Ok(false)
    }

    async fn mark_done(
        &self,
        group: &str,
        a: &JiraAttachment,
        expected: Option<u64>,
        too_large: bool,
    ) -> Result<(), SyncError> {
        let done = JiraAttachmentLink {
            state: LinkState::Done,
            file_name: a.filename.clone(),
            too_large,
        };
        links::put(self.store.as_ref(), group, &a.id, &done, expected).await?;
        Ok(())
    }
}
