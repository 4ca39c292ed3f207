//! Per-case watermarks: the `lastUpdatedDate` each case had when an event for it was last
//! published, kept as store checkpoints named `sir.case.<case id>.last_updated` (RFC 3339).
//! A case whose listed `lastUpdatedDate` differs from its watermark has changed since.
//!
//! A watermark is written only after the event is on the bus: a crash in between publishes
//! the change again next time (harmless, consumers are idempotent), never loses it.

use std::collections::HashMap;

use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::sir::{CaseId, CaseSummary};
use crate::store::{StateStore, StoreError};

/// The checkpoint holding a case's watermark.
pub fn key(id: &CaseId) -> String {
    format!("sir.case.{id}.last_updated")
}

pub fn format(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// The watermarks of `cases`, by case id; a case without one (never seen), or with one that
/// does not parse, is absent, so it counts as changed.
pub async fn load(
    store: &dyn StateStore,
    cases: &[CaseSummary],
) -> Result<HashMap<CaseId, OffsetDateTime>, StoreError> {
    let keys: Vec<String> = cases.iter().map(|c| key(&c.id)).collect();
    let stored = store.checkpoints(&keys).await?;
    Ok(cases
        .iter()
        .filter_map(|c| {
            let value = stored.get(&key(&c.id))?;
            let at = OffsetDateTime::parse(value, &Rfc3339).ok()?;
            Some((c.id.clone(), at))
        })
        .collect())
}

/// Whether `case` changed since its watermark. Any difference counts, not only a later date:
/// a date that went backwards is still not what was published.
pub fn changed(case: &CaseSummary, marks: &HashMap<CaseId, OffsetDateTime>) -> bool {
    marks.get(&case.id) != Some(&case.last_updated)
}

/// Records that events for these cases, as listed, are on the bus.
pub async fn record(store: &dyn StateStore, cases: &[&CaseSummary]) -> Result<(), StoreError> {
    if cases.is_empty() {
        return Ok(());
    }
    let entries: Vec<(String, String)> = cases
        .iter()
        .map(|c| (key(&c.id), format(c.last_updated)))
        .collect();
    store.put_checkpoints(&entries).await
}

/// Records that the case was handled as it was at `last_updated` (for a consumer that fetched
/// the case after a native event), so the poller does not report that same state again.
pub async fn record_seen(
    store: &dyn StateStore,
    id: &CaseId,
    last_updated: OffsetDateTime,
) -> Result<(), StoreError> {
    store.put_checkpoint(&key(id), &format(last_updated)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: &str, secs: i64) -> CaseSummary {
        CaseSummary {
            id: CaseId::parse(id).unwrap(),
            title: None,
            status: None,
            last_updated: OffsetDateTime::from_unix_timestamp(secs).unwrap()
                + time::Duration::milliseconds(123),
            closed: None,
        }
    }

    #[test]
    fn a_case_is_changed_unless_its_watermark_matches_exactly() {
        let a = summary("1000000001", 1_764_000_000);
        let mut marks = HashMap::new();
        assert!(changed(&a, &marks), "never seen");
        marks.insert(a.id.clone(), a.last_updated);
        assert!(!changed(&a, &marks));
        let later = summary("1000000001", 1_764_000_001);
        assert!(changed(&later, &marks));
        // Sub-second precision survives the round trip through text.
        let text = format(a.last_updated);
        assert_eq!(
            OffsetDateTime::parse(&text, &Rfc3339).unwrap(),
            a.last_updated
        );
    }
}
