//! The moves UpdateCaseStatus allows, and the shortest walk between two statuses (one API call
//! per step).

use std::collections::VecDeque;

use crate::sir::CaseStatus;

/// The service's allowed self-managed moves (SIR API reference, UpdateCaseStatus).
pub fn allowed_moves(from: CaseStatus) -> &'static [CaseStatus] {
    use CaseStatus::*;
    match from {
        Submitted => &[DetectionAndAnalysis],
        DetectionAndAnalysis => &[ContainmentEradicationAndRecovery, PostIncidentActivities],
        ContainmentEradicationAndRecovery => &[DetectionAndAnalysis, PostIncidentActivities],
        PostIncidentActivities => &[DetectionAndAnalysis, ContainmentEradicationAndRecovery],
        // AWS-managed or final: the API cannot move a case out of these.
        Acknowledged | ReadyToClose | Closed => &[],
    }
}

/// The statuses to set, in order, to get from `from` to `to` (empty when equal); `None` when
/// the API cannot get there.
pub fn path(from: CaseStatus, to: CaseStatus) -> Option<Vec<CaseStatus>> {
    if from == to {
        return Some(Vec::new());
    }
    let index = |s: CaseStatus| CaseStatus::ALL.iter().position(|x| *x == s).unwrap_or(0);
    let mut came_from: [Option<CaseStatus>; CaseStatus::ALL.len()] = [None; CaseStatus::ALL.len()];
    let mut queue = VecDeque::from([from]);
    while let Some(at) = queue.pop_front() {
        for &next in allowed_moves(at) {
            if next == from || came_from[index(next)].is_some() {
                continue;
            }
            came_from[index(next)] = Some(at);
            if next == to {
                let mut steps = vec![to];
                let mut cursor = at;
                while cursor != from {
                    steps.push(cursor);
                    cursor = came_from[index(cursor)]?;
                }
                steps.reverse();
                return Some(steps);
            }
            queue.push_back(next);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseStatus::*;

    #[test]
    fn walks_the_shortest_allowed_path() {
        assert_eq!(path(Submitted, Submitted), Some(vec![]));
        assert_eq!(
            path(Submitted, DetectionAndAnalysis),
            Some(vec![DetectionAndAnalysis])
        );
        assert_eq!(
            path(Submitted, PostIncidentActivities),
            Some(vec![DetectionAndAnalysis, PostIncidentActivities])
        );
        assert_eq!(
            path(Submitted, ContainmentEradicationAndRecovery),
            Some(vec![
                DetectionAndAnalysis,
                ContainmentEradicationAndRecovery
            ])
        );
        assert_eq!(
            path(PostIncidentActivities, ContainmentEradicationAndRecovery),
            Some(vec![ContainmentEradicationAndRecovery])
        );
        assert_eq!(path(DetectionAndAnalysis, Submitted), None);
        assert_eq!(path(Acknowledged, DetectionAndAnalysis), None);
        assert_eq!(path(Closed, Submitted), None);
    }

    #[test]
    fn every_step_is_an_allowed_move() {
        for from in CaseStatus::ALL {
            for to in CaseStatus::ALL {
                if let Some(steps) = path(from, to) {
                    let mut at = from;
                    for s in steps {
                        assert!(allowed_moves(at).contains(&s), "{at} -> {s}");
                        at = s;
                    }
                    assert_eq!(at, to);
                }
            }
        }
    }
}
