//! A person's status moves: the case follows along the walk its workflow allows, closes when
//! the issue is done, and a closed case takes no more changes (they are "not applicable").

use super::*;

impl IssueToCaseSync {
    /// The issue's status, carried to the case. A Jira status that both sides already agreed on
    /// (the issue ledger's status with the case's current one) changes nothing; one reported as
    /// older than the status last agreed is a stale delivery (a late event never undoes a newer
    /// one). Otherwise the case walks to the mapped status and the agreement is recorded, so the
    /// case → issue sync leaves the issue's status alone until the case changes again.
    pub(super) async fn apply_status(
        &self,
        issue_key: &str,
        case: &Case,
        jira: &Status,
        wanted: &Wanted,
        ledger: &mut CaseLedger,
        issue: &mut IssueLedger,
    ) -> Result<(), SyncError> {
        let agreed = issue
            .status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(&jira.name))
            && issue.case_status == Some(case.status);
        if agreed {
            tracing::debug!(case_id = %case.id, issue_key, jira_status = %jira.name, "status already agreed on both sides");
            return Ok(());
        }
        let order = |at: i64, change: Option<u64>| (at, change.unwrap_or(0));
        if let (Some(at), Some(agreed_at)) = (wanted.at_ms, issue.status_at_ms)
            && order(at, wanted.changelog) < order(agreed_at, issue.status_change)
        {
            tracing::info!(case_id = %case.id, issue_key, jira_status = %jira.name, "Jira status change older than the status last agreed: stale delivery, not applied");
            return Ok(());
        }
        let Some(target) = self.config.target_for(&jira.name, jira.category.as_deref()) else {
            tracing::info!(issue_key, jira_status = %jira.name, "Jira status maps to no SIR status: case status left alone");
            return Ok(());
        };
        let current = case.status;
        let now = if current == CaseStatus::Closed {
            if target != StatusTarget::Close {
                // Not recorded as agreed: the case → issue sync decides by time whether this
                // move came after the close (it stays) or before it (the issue follows the case).
                self.not_applicable(
                    issue_key,
                    case,
                    "status moved (the API cannot reopen a case)",
                );
                return Ok(());
            }
            current
        } else if self.config.already_shown_as(current, &jira.name) {
            // Several SIR statuses show as one Jira status: a case in any of them agrees.
            current
        } else {
            match target {
                StatusTarget::Status(to) if to == current => current,
                StatusTarget::Status(to) => {
                    if ledger.is_echo(&ledger.written.status, &to, wanted.at_ms) {
                        return Ok(());
                    }
                    let steps =
                        status::path(current, to).ok_or_else(|| SyncError::Unreachable {
                            case_id: case.id.to_string(),
                            from: current,
                            to,
                            jira_status: jira.name.clone(),
                        })?;
                    for step in steps {
                        self.sir(self.sir.update_case_status(&case.id, step).await)?;
                        tracing::info!(case_id = %case.id, issue_key, status = %step, "case status set from Jira");
                        ledger.written.status = Some(step);
                        ledger.save(self.store.as_ref(), case.id.as_str()).await?;
                    }
                    to
                }
                StatusTarget::Close => {
                    self.close(issue_key, case, jira, wanted, ledger).await?;
                    CaseStatus::Closed
                }
            }
        };
        let at = wanted.at_ms.unwrap_or_else(now_ms).min(now_ms());
        issue.status = Some(jira.name.clone());
        issue.resolution = wanted.resolution.clone();
        issue.case_status = Some(now);
        if issue.status_at_ms.is_none_or(|known| known <= at) {
            issue.status_at_ms = Some(at);
            issue.status_change = wanted.changelog;
        }
        Ok(())
    }

    /// A person's change in Jira that the case cannot take (it is closed, and SIR's API
    /// reopens nothing): recorded, counted and left in Jira, never a dead letter.
    pub(super) fn not_applicable(&self, issue_key: &str, case: &Case, what: &str) {
        tracing::info!(case_id = %case.id, issue_key, what, "the SIR case is closed: the Jira change does not apply to it");
        if let Some(metrics) = &self.metrics {
            metrics.not_applicable.inc();
        }
    }

    /// Records the closure code as a comment, then closes. Comment first: a closed case takes
    /// no comments, and a retry after a failed close repeats the comment harmlessly (same token).
    pub(super) async fn close(
        &self,
        issue_key: &str,
        case: &Case,
        jira: &Status,
        wanted: &Wanted,
        ledger: &mut CaseLedger,
    ) -> Result<(), SyncError> {
        let code = self.config.closure_code_for(wanted.resolution.as_deref());
        let body = format!(
            "{} Closed from Jira (status {}, resolution {}). Closure code: {}. \
             The SIR API closes cases without a closure code, so sir-jira-bridge records it here; \
             set it on the case in the console if your process needs the field.",
            comments::note_tag(issue_key),
            jira.name,
            wanted.resolution.as_deref().unwrap_or("none"),
            code.as_str()
        );
        let token = format!(
            "jira-close-{issue_key}-{}",
            wanted.change_ref.as_deref().unwrap_or("0")
        );
        match self.sir.create_comment(&case.id, &body, &token).await {
            Ok(_) => {}
            // The token was used for this close with another body (config changed between
            // attempts): the closure code is already on record.
            Err(SirError::Conflict { message, .. }) => {
                tracing::info!(case_id = %case.id, message = %message, "closure comment already recorded")
            }
            Err(e) => return Err(self.sir_failed(e)),
        }
        self.sir(self.sir.close_case(&case.id).await)?;
        tracing::info!(case_id = %case.id, issue_key, closure_code = code.as_str(), "case closed from Jira");
        ledger.written.status = Some(CaseStatus::Closed);
        ledger.written.closed = true;
        ledger.save(self.store.as_ref(), case.id.as_str()).await?;
        Ok(())
    }
}
