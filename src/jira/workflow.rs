//! Reaching a Jira status through the workflow. Jira only tells which transitions are available
//! from the issue's current status, so the path is found as it goes: every `GET transitions`
//! teaches the map what one status offers, a breadth-first search over what is known picks the
//! next hop, and where the known map has no path the walk explores the nearest status whose
//! transitions it has not seen yet. The map is kept for the process's life, so after the first
//! walks a path is direct.
//!
//! The map also keeps the status new issues start in (per project and issue type), learned by
//! one read of the first issue the process creates: a walk that starts on an issue created a
//! moment ago ([`Trust::Known`]) then needs no read at all while the map knows the path.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::Mutex,
};

use super::api::{JiraApi, JiraError, Transition};

/// Most transitions one walk makes before it gives up (a loop, or an unreachable status).
const MAX_STEPS: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("status `{target}` cannot be reached from `{from}` through the issue's workflow")]
    Unreachable { from: String, target: String },
    #[error(transparent)]
    Jira(#[from] JiraError),
}

/// What the integration has learned of the workflow: the transitions each status offers, and
/// the status new issues start in.
#[derive(Debug, Default)]
pub struct WorkflowMap {
    offered: Mutex<HashMap<String, Vec<Transition>>>,
    /// Scope (project and issue type, as the caller names them) → initial status.
    initial: Mutex<HashMap<String, String>>,
}

/// The next transition to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hop {
    /// On a known shortest path to the target.
    Toward(Transition),
    /// Toward the nearest status whose transitions are not known yet.
    Explore(Transition),
    Unreachable,
}

fn norm(status: &str) -> String {
    status.trim().to_lowercase()
}

impl WorkflowMap {
    pub fn learn(&self, status: &str, transitions: Vec<Transition>) {
        self.offered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(norm(status), transitions);
    }

    fn initials(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.initial.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The status an issue created in `scope` starts in, once learned.
    pub fn initial(&self, scope: &str) -> Option<String> {
        self.initials().get(scope).cloned()
    }

    pub fn learn_initial(&self, scope: &str, status: &str) {
        self.initials().insert(scope.to_owned(), status.to_owned());
    }

    /// Drops what was learned of `scope`'s initial status (the next create reads it again).
    pub fn forget_initial(&self, scope: &str) {
        self.initials().remove(scope);
    }

    /// Breadth-first over the known map from `from`: the first hop of a shortest known path to
    /// `target`, else of a shortest path to an unexplored status (never one already tried in
    /// this walk, `visited`).
    pub fn next_hop(&self, from: &str, target: &str, visited: &HashSet<String>) -> Hop {
        let offered = self.offered.lock().unwrap_or_else(|p| p.into_inner());
        let (from, target) = (norm(from), norm(target));
        let mut first_hop: HashMap<String, Transition> = HashMap::new();
        let mut seen = HashSet::from([from.clone()]);
        let mut queue = VecDeque::from([from.clone()]);
        let mut explore: Option<Transition> = None;
        while let Some(status) = queue.pop_front() {
            if status == target && status != from {
                return Hop::Toward(first_hop[&status].clone());
            }
            let Some(transitions) = offered.get(&status) else {
                if explore.is_none() && !visited.contains(&status) {
                    explore = first_hop.get(&status).cloned();
                }
                continue;
            };
            for t in transitions {
                let next = norm(&t.to);
                if seen.insert(next.clone()) {
                    let hop = first_hop.get(&status).cloned().unwrap_or_else(|| t.clone());
                    first_hop.insert(next.clone(), hop);
                    queue.push_back(next);
                }
            }
        }
        explore.map_or(Hop::Unreachable, Hop::Explore)
    }
}

/// How a walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Walked {
    /// The issue is at the target; the transition ids taken.
    Reached(Vec<String>),
    /// The issue was found in a status the walk did not leave it in: someone else moved it, and
    /// that move is newer than whatever the walk was acting on. Nothing more was done.
    Moved { found: String },
}

/// How far a walk may trust where its caller says the issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// `at` is where the caller last left the issue, and a person may have moved it since:
    /// every hop reads the issue first.
    ReadFirst,
    /// `at` is where the issue is now: the caller created it there a moment ago, so nobody else
    /// has had it yet. Hops along a path the map knows are taken without reading; a refused
    /// hop, or a path the map does not know, turns the walk back to reading.
    Known,
}

/// Moves the issue to `target`, setting `resolution` on the last transition when its screen
/// takes one. `at` is where the caller last left the issue (`None`: unknown, take it as found);
/// the walk updates it after each transition it takes, so a failed walk says how far it got.
///
/// A reading hop reads the issue's status and its offered transitions in one answer
/// ([`JiraApi::position`]): what the map learns always belongs to the status it was offered
/// from, even when a person moves the issue between two reads or a read is retried after a 429.
/// A blind hop ([`Trust::Known`]) learns nothing, so it cannot file anything under the wrong
/// status either.
pub async fn walk(
    jira: &dyn JiraApi,
    map: &WorkflowMap,
    key: &str,
    at: &mut Option<String>,
    target: &str,
    resolution: Option<&str>,
    trust: Trust,
) -> Result<Walked, WorkflowError> {
    let mut taken = Vec::new();
    let mut visited = HashSet::new();
    let mut refused = 0;
    let mut blind = trust == Trust::Known;
    loop {
        let status = match at.as_ref().filter(|_| blind) {
            Some(known) => known.clone(),
            None => {
                let position = jira.position(key).await?;
                let status = position.status;
                if at.as_deref().is_some_and(|a| norm(a) != norm(&status)) {
                    return Ok(Walked::Moved { found: status });
                }
                map.learn(&status, position.transitions);
                status
            }
        };
        if norm(&status) == norm(target) {
            *at = Some(status);
            return Ok(Walked::Reached(taken));
        }
        if taken.len() >= MAX_STEPS || refused > 1 {
            return Err(WorkflowError::Unreachable {
                from: status,
                target: target.to_owned(),
            });
        }
        visited.insert(norm(&status));
        let t = match map.next_hop(&status, target, &visited) {
            Hop::Toward(t) => t,
            // Exploring, or finding no path, needs what Jira offers the issue now.
            Hop::Explore(_) | Hop::Unreachable if blind => {
                blind = false;
                continue;
            }
            Hop::Explore(t) => t,
            Hop::Unreachable => {
                return Err(WorkflowError::Unreachable {
                    from: status,
                    target: target.to_owned(),
                });
            }
        };
        let resolution = resolution.filter(|_| t.takes_resolution && norm(&t.to) == norm(target));
        tracing::debug!(issue_key = key, from = %status, to = %t.to, transition = %t.id, blind, "transitioning");
        *at = Some(status);
        match jira.transition(key, &t.id, resolution).await {
            Ok(()) => {
                taken.push(t.id.clone());
                *at = Some(t.to);
            }
            // The map is out of date (the workflow changed) or, unlikely on an issue created a
            // moment ago, someone moved it: the next read tells which. Not counted as a refusal
            // of a reading walk: it is the walk's own knowledge that failed.
            Err(JiraError::Rejected { .. }) if blind => blind = false,
            // No longer offered: the issue moved under the walk, which the next read tells.
            Err(JiraError::Rejected { .. }) => refused += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str, to: &str) -> Transition {
        Transition {
            id: id.into(),
            name: id.into(),
            to: to.into(),
            takes_resolution: false,
        }
    }

    #[test]
    fn unknown_map_explores_then_finds_the_known_path() {
        let map = WorkflowMap::default();
        let none = HashSet::new();
        map.learn("To Do", vec![t("11", "In Progress")]);
        // In Progress is unexplored: go there to learn it.
        assert_eq!(
            map.next_hop("To Do", "Done", &none),
            Hop::Explore(t("11", "In Progress"))
        );
        map.learn("In Progress", vec![t("41", "To Do"), t("21", "In Review")]);
        map.learn("In Review", vec![t("51", "In Progress"), t("31", "Done")]);
        assert_eq!(
            map.next_hop("To Do", "Done", &none),
            Hop::Toward(t("11", "In Progress"))
        );
        assert_eq!(
            map.next_hop("In Progress", "done", &none),
            Hop::Toward(t("21", "In Review"))
        );
        assert_eq!(
            map.next_hop("In Review", "Done", &none),
            Hop::Toward(t("31", "Done"))
        );
        // Backwards is a path too.
        assert_eq!(
            map.next_hop("In Review", "To Do", &none),
            Hop::Toward(t("51", "In Progress"))
        );
    }

    #[test]
    fn a_fully_known_map_without_a_path_is_unreachable() {
        let map = WorkflowMap::default();
        map.learn("A", vec![t("1", "B")]);
        map.learn("B", vec![t("2", "A")]);
        assert_eq!(map.next_hop("A", "C", &HashSet::new()), Hop::Unreachable);
    }
}
