//! A person's edits of the issue's summary and description, applied to the case unless a
//! newer case change already holds the field.

use super::*;

impl IssueToCaseSync {
    /// Summary and description. A Jira value equal to what the issue ledger says Jira holds is
    /// no change (an echo of the case → issue sync, or a person changing formatting only); one
    /// reported as older than the case → issue sync's last write of it is a stale delivery.
    /// Otherwise the case takes it, and the issue ledger records that Jira holds it, so the
    /// case → issue sync does not write it back.
    pub(super) async fn apply_fields(
        &self,
        issue_key: &str,
        case: &Case,
        wanted: &Wanted,
        ledger: &mut CaseLedger,
        issue: &mut IssueLedger,
    ) -> Result<(), SyncError> {
        // Per field: older than the case change the service last wrote into the issue, a Jira
        // change is stale. Newer than that change but older than the write that carried it,
        // the person's edit was written over in Jira: it still wins, but Jira does not hold it
        // any more, so it is not recorded as held (the case → issue sync writes it back).
        let before = |t: Option<i64>| wanted.at_ms.zip(t).is_some_and(|(at, t)| at < t);
        let timing =
            |w: Option<Written>| (before(w.map(|w| w.case_at_ms)), before(w.map(|w| w.at_ms)));
        let (summary_stale, summary_over) = timing(issue.summary_written);
        let (stale, text_over) = timing(issue.text_written);
        let mut update = CaseUpdate::default();
        // What Jira holds once the case took it (recorded only then: an edit a closed case
        // cannot take must not look agreed, or the case → issue sync would write over it).
        let mut held = (None, None);
        if let Some(summary) = wanted.title.as_deref()
            && issue.summary.as_deref() != Some(fields::summary(summary).as_str())
            && !summary_stale
        {
            let title = text::cap_title(summary);
            if !title.is_empty()
                && title != case.title
                && !ledger.is_echo(&ledger.written.title, &title, wanted.at_ms)
            {
                update.title = Some(title.clone());
            }
            held.0 = Some(fields::summary(&title));
        }
        if let Some(rich) = &wanted.description {
            // Someone edited the service's part in Jira: it is the service's, so the next
            // case → issue sync writes it again (and nothing of it reaches the case).
            // (Unless the service wrote the description after this change: that write already
            // replaced the part the person edited.)
            let replaced_since = before(issue.details_at_ms);
            if !replaced_since
                && issue.details_text.as_deref().is_some_and(|known| {
                    !description::same_text(known, &description::service_text(rich))
                })
            {
                issue.details_hash = None;
            }
            let person = description::person_text(rich);
            let known = issue
                .description_text
                .as_deref()
                .is_some_and(|k| description::same_text(k, &person));
            // SIR requires a description; an emptied Jira description leaves the case's.
            if wanted.person_text_changed && !known && !stale && !person.trim().is_empty() {
                let capped = text::cap_description(&person, issue_key);
                if capped != case.description
                    && !ledger.is_echo(&ledger.written.description, &capped, wanted.at_ms)
                {
                    update.description = Some(capped.clone());
                }
                held.1 = Some(description::normalize(&capped));
            }
        }
        if update != CaseUpdate::default() && case.status == CaseStatus::Closed {
            self.not_applicable(issue_key, case, "summary or description edited");
            return Ok(());
        }
        // Recorded once the case holds it: a failed write is retried with the ledger as it was.
        if update != CaseUpdate::default() {
            self.sir(self.sir.update_case(&case.id, &update).await)?;
        }
        let summary = held.0.filter(|_| !summary_over);
        let text = held.1.filter(|_| !text_over);
        issue.summary = summary.or(issue.summary.take());
        issue.description_text = text.or(issue.description_text.take());
        if update == CaseUpdate::default() {
            return Ok(());
        }
        tracing::info!(case_id = %case.id, issue_key, title = update.title.is_some(), description = update.description.is_some(), "case updated from Jira");
        if update.title.is_some() {
            ledger.written.title = update.title;
        }
        if update.description.is_some() {
            ledger.written.description = update.description;
        }
        ledger.save(self.store.as_ref(), case.id.as_str()).await?;
        Ok(())
    }
}
