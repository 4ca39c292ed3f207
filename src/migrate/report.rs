//! What the migration did with each item, one line each, and the totals.

use std::fmt;

use serde::Serialize;

/// What became of one item of the sample's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The case's mapping was recorded and its issue marked.
    Adopted {
        case_id: String,
        issue_key: String,
        /// Jira writes the marking made (labels, the `sir` property): 0 when already marked.
        jira_writes: u32,
    },
    /// A dry run's [`Outcome::Adopted`]: everything checked, nothing written.
    WouldAdopt { case_id: String, issue_key: String },
    /// The store already maps the case to this issue: nothing to do.
    AlreadyMapped { case_id: String, issue_key: String },
    /// The case (or the issue) is already mapped otherwise: left alone.
    Conflict {
        case_id: String,
        issue_key: String,
        reason: String,
    },
    /// The sample's issue is not in Jira (deleted, or not visible to the integration's account).
    IssueMissing { case_id: String, issue_key: String },
    /// SIR does not know the case (or not to this account).
    CaseMissing { case_id: String, issue_key: String },
    /// The sample never made an issue for the case: the sync creates it.
    NoIssue { case_id: String },
    /// An issue opened in Jira (`Jira#<key>`) with no case item naming it: the case cannot be
    /// identified, so it is listed, not adopted.
    Unmatched { issue_key: String },
    /// Not readable as the sample writes its items.
    Malformed {
        pk: String,
        sk: String,
        reason: String,
    },
    /// Another integration's item, or another record of the sample's.
    Skipped { pk: String, sk: String },
    /// Adopting it failed (Jira, SIR or the store); running the command again retries it.
    Failed { case_id: String, error: String },
}

impl Outcome {
    /// Whether a person has to look at it.
    pub fn needs_attention(&self) -> bool {
        matches!(
            self,
            Outcome::Conflict { .. }
                | Outcome::IssueMissing { .. }
                | Outcome::CaseMissing { .. }
                | Outcome::Unmatched { .. }
                | Outcome::Malformed { .. }
                | Outcome::Failed { .. }
        )
    }

    fn label(&self) -> &'static str {
        match self {
            Outcome::Adopted { .. } => "adopted",
            Outcome::WouldAdopt { .. } => "would adopt",
            Outcome::AlreadyMapped { .. } => "already mapped",
            Outcome::Conflict { .. } => "conflict",
            Outcome::IssueMissing { .. } => "issue missing",
            Outcome::CaseMissing { .. } => "case missing",
            Outcome::NoIssue { .. } => "no issue yet",
            Outcome::Unmatched { .. } => "unmatched",
            Outcome::Malformed { .. } => "malformed",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Failed { .. } => "failed",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = self.label();
        match self {
            Outcome::Adopted {
                case_id, issue_key, ..
            }
            | Outcome::WouldAdopt { case_id, issue_key }
            | Outcome::AlreadyMapped { case_id, issue_key } => {
                write!(f, "{label:<15} case {case_id} -> {issue_key}")
            }
            Outcome::Conflict {
                case_id,
                issue_key,
                reason,
            } => write!(
                f,
                "{label:<15} case {case_id} -> {issue_key}: {reason}; left alone (see the user guide: a conflict)"
            ),
            Outcome::IssueMissing { case_id, issue_key } => write!(
                f,
                "{label:<15} case {case_id} -> {issue_key}: not in Jira (deleted, or hidden from the integration's account); the sync creates a new issue for the case"
            ),
            Outcome::CaseMissing { case_id, issue_key } => write!(
                f,
                "{label:<15} case {case_id} -> {issue_key}: SIR does not know the case (another account or region?); not adopted"
            ),
            Outcome::NoIssue { case_id } => write!(
                f,
                "{label:<15} case {case_id}: the sample made no issue; the sync creates one"
            ),
            Outcome::Unmatched { issue_key } => write!(
                f,
                "{label:<15} issue {issue_key}: opened in Jira, and no case item names it; not adopted (add the label aws-sir-<caseId> to it if it belongs to a case)"
            ),
            Outcome::Malformed { pk, sk, reason } => {
                write!(f, "{label:<15} PK={pk} SK={sk}: {reason}")
            }
            Outcome::Skipped { pk, sk } => {
                write!(
                    f,
                    "{label:<15} PK={pk} SK={sk}: not a case of the sample's Jira integration"
                )
            }
            Outcome::Failed { case_id, error } => write!(
                f,
                "{label:<15} case {case_id}: {error}; run the command again to retry it"
            ),
        }
    }
}

/// How many items ended each way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub adopted: u64,
    pub already_mapped: u64,
    pub conflict: u64,
    pub issue_missing: u64,
    pub case_missing: u64,
    pub no_issue: u64,
    pub unmatched: u64,
    pub malformed: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Jira writes made while marking issues.
    pub jira_writes: u64,
}

impl Totals {
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Adopted { jira_writes, .. } => {
                self.adopted += 1;
                self.jira_writes += u64::from(*jira_writes);
            }
            Outcome::WouldAdopt { .. } => self.adopted += 1,
            Outcome::AlreadyMapped { .. } => self.already_mapped += 1,
            Outcome::Conflict { .. } => self.conflict += 1,
            Outcome::IssueMissing { .. } => self.issue_missing += 1,
            Outcome::CaseMissing { .. } => self.case_missing += 1,
            Outcome::NoIssue { .. } => self.no_issue += 1,
            Outcome::Unmatched { .. } => self.unmatched += 1,
            Outcome::Malformed { .. } => self.malformed += 1,
            Outcome::Skipped { .. } => self.skipped += 1,
            Outcome::Failed { .. } => self.failed += 1,
        }
    }

    pub fn items(&self) -> u64 {
        self.adopted
            + self.already_mapped
            + self.conflict
            + self.issue_missing
            + self.case_missing
            + self.no_issue
            + self.unmatched
            + self.malformed
            + self.skipped
            + self.failed
    }
}

/// The whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub dry_run: bool,
    pub outcomes: Vec<Outcome>,
    pub totals: Totals,
}

impl Report {
    pub fn push(&mut self, outcome: Outcome) {
        self.totals.count(&outcome);
        self.outcomes.push(outcome);
    }

    pub fn needs_attention(&self) -> bool {
        self.outcomes.iter().any(Outcome::needs_attention)
    }

    /// The closing line: every count, then what to do next.
    pub fn summary(&self) -> String {
        let t = &self.totals;
        let adopted = match self.dry_run {
            true => "would adopt",
            false => "adopted",
        };
        let mut line = format!(
            "{} items: {} {adopted}, {} already mapped, {} conflict, {} issue missing, {} case missing, {} no issue yet, {} unmatched, {} malformed, {} skipped, {} failed",
            t.items(),
            t.adopted,
            t.already_mapped,
            t.conflict,
            t.issue_missing,
            t.case_missing,
            t.no_issue,
            t.unmatched,
            t.malformed,
            t.skipped,
            t.failed
        );
        if self.dry_run {
            line.push_str(" (dry run: nothing written)");
        } else {
            line.push_str(&format!(" ({} Jira writes)", t.jira_writes));
        }
        line.push_str(match self.needs_attention() {
            true => ". Some items need attention (above); running the command again after fixing them adopts the rest",
            false => ". Nothing needs attention",
        });
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_attention() {
        let mut report = Report::default();
        report.push(Outcome::Adopted {
            case_id: "1234567890".into(),
            issue_key: "SEC-1".into(),
            jira_writes: 2,
        });
        report.push(Outcome::Skipped {
            pk: "ServiceNow#1".into(),
            sk: "latest".into(),
        });
        assert!(!report.needs_attention());
        assert!(
            report.summary().contains("2 items: 1 adopted"),
            "{}",
            report.summary()
        );
        assert!(report.summary().contains("(2 Jira writes)"));
        report.push(Outcome::Conflict {
            case_id: "1234567890".into(),
            issue_key: "SEC-1".into(),
            reason: "already mapped to SEC-9".into(),
        });
        assert!(report.needs_attention());
        assert_eq!(report.totals.conflict, 1);
        let line = report.outcomes[2].to_string();
        assert!(
            line.starts_with("conflict") && line.contains("SEC-9"),
            "{line}"
        );
    }
}
