//! SIR attachments copied to the issue, each once. Over the configured size (or refused by
//! Jira as too large) the issue gets a comment with the file's name and size instead. Recorded
//! `pending` before uploading; a pending one found later is looked for on the issue by name
//! before it is uploaded again.

use bytes::{Bytes, BytesMut};

use super::{CaseToIssueSync, SyncError};
use crate::{
    jira::{adf, api::JiraError},
    sir::{Case, CaseAttachment},
    sync::links::{self, AttachmentLink, JiraAttachmentLink, LinkState, Linked, Side},
};

enum Download {
    Bytes { bytes: Bytes, content_type: String },
    TooLarge { size: Option<u64> },
}

fn human_size(bytes: Option<u64>) -> String {
    match bytes {
        None => "of unknown size".into(),
        Some(b) if b >= 1024 * 1024 => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        Some(b) if b >= 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        Some(b) => format!("{b} bytes"),
    }
}

impl CaseToIssueSync {
    pub(super) async fn sync_attachments(&self, case: &Case, key: &str) -> Result<(), SyncError> {
        let group = case.id.as_str();
        // Files the issue → case sync uploaded from this issue, read once, and only when an
        // attachment not seen before turns up.
        let mut from_jira: Option<std::collections::HashSet<String>> = None;
        for a in &case.attachments {
            // Only scanned, complete files can be downloaded.
            if a.status.as_deref().is_some_and(|s| s != "Verified") {
                continue;
            }
            let existing =
                links::get::<AttachmentLink>(self.store.as_ref(), group, &a.attachment_id).await?;
            if existing.is_none() {
                if from_jira.is_none() {
                    from_jira = Some(
                        links::all::<JiraAttachmentLink>(self.store.as_ref(), group)
                            .await?
                            .into_iter()
                            .map(|l| l.value.file_name)
                            .collect(),
                    );
                }
                if from_jira.as_ref().is_some_and(|f| f.contains(&a.file_name)) {
                    // A copy of a Jira attachment: never copied back; recorded so later syncs
                    // skip it at the first look.
                    let value = AttachmentLink {
                        state: LinkState::Done,
                        origin: Some(Side::Jira),
                        ..AttachmentLink::pending()
                    };
                    links::put(self.store.as_ref(), group, &a.attachment_id, &value, None).await?;
                    continue;
                }
            }
            let link = match existing {
                Some(l) if l.value.state == LinkState::Done => continue,
                Some(l) => {
                    let on_issue = self.jira.issue(key).await?.attachments;
                    if let Some(found) = on_issue.iter().find(|j| j.filename == a.file_name) {
                        let value = copied(found.id.clone());
                        links::put(
                            self.store.as_ref(),
                            group,
                            &a.attachment_id,
                            &value,
                            Some(l.version),
                        )
                        .await?;
                        continue;
                    }
                    l
                }
                None => {
                    let pending = AttachmentLink::pending();
                    if !links::put(self.store.as_ref(), group, &a.attachment_id, &pending, None)
                        .await?
                    {
                        return Err(SyncError::Busy(case.id.to_string()));
                    }
                    Linked {
                        key: a.attachment_id.clone(),
                        value: pending,
                        version: 1,
                    }
                }
            };
            let done = self.copy(case, a, key).await?;
            links::put(
                self.store.as_ref(),
                group,
                &a.attachment_id,
                &done,
                Some(link.version),
            )
            .await?;
        }
        Ok(())
    }

    /// Uploads one attachment (or the comment standing for it); returns the record's value.
    async fn copy(
        &self,
        case: &Case,
        a: &CaseAttachment,
        key: &str,
    ) -> Result<AttachmentLink, SyncError> {
        let url = self
            .sir
            .attachment_download_url(&case.id, &a.attachment_id)
            .await?;
        let size = match self.download(&url, &a.file_name).await? {
            Download::Bytes {
                bytes,
                content_type,
            } => {
                let size = bytes.len() as u64;
                match self
                    .jira
                    .add_attachment(key, &a.file_name, &content_type, bytes)
                    .await
                {
                    Ok(uploaded) => {
                        tracing::info!(case_id = %case.id, issue_key = key, file = %a.file_name, size, "attachment copied");
                        let id = uploaded.first().map(|u| u.id.clone()).unwrap_or_default();
                        return Ok(copied(id));
                    }
                    Err(JiraError::TooLarge) => Some(size),
                    Err(e) => return Err(e.into()),
                }
            }
            Download::TooLarge { size } => size,
        };
        let doc = adf::doc(vec![adf::paragraph(vec![
            adf::strong("From AWS Security Incident Response"),
            adf::text(" · attachment "),
            adf::code(&a.file_name),
            adf::text(&format!(
                " ({}) is on case {} and too large to copy here (limit {}); download it from the case.",
                human_size(size),
                case.id,
                human_size(Some(self.settings.attachment_max_bytes))
            )),
        ])]);
        let comment = self.jira.add_comment(key, &doc).await?;
        tracing::info!(case_id = %case.id, issue_key = key, file = %a.file_name, size = ?size, "attachment too large: commented instead");
        Ok(AttachmentLink {
            state: LinkState::Done,
            jira_comment_id: Some(comment),
            too_large: true,
            ..AttachmentLink::pending()
        })
    }

    /// Downloads from a presigned URL, stopping as soon as the size limit is passed.
    async fn download(&self, url: &str, name: &str) -> Result<Download, SyncError> {
        let failed = |message: String| SyncError::Download {
            name: name.to_owned(),
            message,
        };
        let mut response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| failed(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("status {}", response.status())));
        }
        let max = self.settings.attachment_max_bytes;
        let announced = response.content_length();
        if announced.is_some_and(|n| n > max) {
            return Ok(Download::TooLarge { size: announced });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let mut buf = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| failed(e.without_url().to_string()))?
        {
            buf.extend_from_slice(&chunk);
            if buf.len() as u64 > max {
                return Ok(Download::TooLarge { size: announced });
            }
        }
        Ok(Download::Bytes {
            bytes: buf.freeze(),
            content_type,
        })
    }
}

/// The link of a SIR attachment copied to Jira as attachment `jira_attachment_id`.
fn copied(jira_attachment_id: String) -> AttachmentLink {
    AttachmentLink {
        state: LinkState::Done,
        jira_attachment_id: Some(jira_attachment_id),
        ..AttachmentLink::pending()
    }
}
