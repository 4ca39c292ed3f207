//! A person's Jira comments, created or edited, mirrored to the case once.

use super::*;

impl IssueToCaseSync {
    pub(super) async fn comment_changed(&self, e: &CommentEvent) -> Result<(), SyncError> {
        let Some(case_id) = self.case_for(&e.issue.key).await? else {
            return Ok(());
        };
        // Under the case's lease: two revisions of one comment are never written at once.
        let _lease = self.lease(&case_id).await?;
        match self.apply_comment(e, &case_id).await {
            // SIR refuses comments on a closed case; only then is the case read to tell.
            Err(refused @ SyncError::Sir(SirError::Validation { .. })) => {
                let case = self.sir(self.sir.get_case(&case_id).await)?;
                if case.status != CaseStatus::Closed {
                    return Err(refused);
                }
                self.not_applicable(&e.issue.key, &case, "comment added or edited");
                Ok(())
            }
            other => other,
        }
    }

    pub(super) async fn apply_comment(
        &self,
        e: &CommentEvent,
        case_id: &CaseId,
    ) -> Result<(), SyncError> {
        let jira_id = &e.comment.id;
        let case_id = case_id.clone();
        let twin = comments::twin(self.store.as_ref(), case_id.as_str(), jira_id).await?;
        let body = comments::body(e);
        let digest = comments::sha256_hex(&body);
        let revision = e
            .comment
            .updated
            .as_deref()
            .or(e.comment.created.as_deref());
        match twin {
            Some(t) if t.origin == Side::Sir => {
                // A SIR comment mirrored into Jira: SIR keeps its author's text.
                tracing::debug!(issue_key = %e.issue.key, jira_comment_id = %jira_id, "comment came from SIR: not written back");
                Ok(())
            }
            Some(t) if t.is_newer_than(revision) => {
                tracing::debug!(case_id = %case_id, jira_comment_id = %jira_id, "an older revision of the comment than the case holds: not written");
                Ok(())
            }
            Some(t) if t.hash.as_deref() == Some(digest.as_str()) => {
                tracing::debug!(case_id = %case_id, jira_comment_id = %jira_id, "comment already on the case as is");
                Ok(())
            }
            Some(t) => {
                self.sir(
                    self.sir
                        .update_comment(&case_id, &t.sir_comment_id, &body)
                        .await,
                )?;
                tracing::info!(case_id = %case_id, jira_comment_id = %jira_id, sir_comment_id = %t.sir_comment_id, "case comment updated from Jira");
                self.record(
                    &case_id,
                    jira_id,
                    &t.sir_comment_id,
                    &digest,
                    revision,
                    t.version,
                )
                .await
            }
            None => self.create_comment(e, &case_id, &body, digest).await,
        }
    }

    pub(super) async fn create_comment(
        &self,
        e: &CommentEvent,
        case_id: &CaseId,
        body: &str,
        digest: String,
    ) -> Result<(), SyncError> {
        let jira_id = &e.comment.id;
        let token = comments::client_token(jira_id);
        let sir_comment_id = match self.sir.create_comment(case_id, body, &token).await {
            Ok(id) => id,
            // The token was used with another body: an earlier attempt created the comment and
            // the link was not saved, and the comment was edited since. Find it by its tag and
            // bring it up to date.
            Err(conflict @ SirError::Conflict { .. }) => {
                let tag = comments::tag(&e.issue.key, jira_id);
                let existing = self.sir(self.sir.list_comments(case_id).await)?;
                let Some(found) = existing.into_iter().find(|c| c.body.starts_with(&tag)) else {
                    return Err(SyncError::Sir(SirError::Conflict {
                        message: format!(
                            "clientToken {token} was used before but no comment tagged {tag} is on case {case_id}"
                        ),
                        source: Some(Box::new(conflict)),
                    }));
                };
                self.sir(self.sir.update_comment(case_id, &found.id, body).await)?;
                found.id
            }
            Err(e) => return Err(self.sir_failed(e)),
        };
        tracing::info!(case_id = %case_id, jira_comment_id = %jira_id, sir_comment_id = %sir_comment_id, "case comment added from Jira");
        let revision = e
            .comment
            .updated
            .as_deref()
            .or(e.comment.created.as_deref());
        self.record(case_id, jira_id, &sir_comment_id, &digest, revision, None)
            .await
    }
}
