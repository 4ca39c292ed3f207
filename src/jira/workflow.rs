//! Reaching a Jira status through the workflow. Jira only tells which transitions are available
//! from the issue's current status, so the path is found as it goes: every `GET transitions`
//! teaches the map what one status offers, a breadth-first search over what is known picks the
//! next hop, and where the known map has no path the walk explores the nearest status whose
//! transitions it has not seen yet. The map is kept for the process's life, so after the first
//! walks a path is direct.

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

/// What the integration has learned of the workflow: the transitions each status offers.
#[derive(Debug, Default)]
pub struct WorkflowMap {
    offered: Mutex<HashMap<String, Vec<Transition>>>,
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

/// Moves the issue to `target`, setting `resolution` on the last transition when its screen
/// takes one. `at` is where the caller last left the issue (`None`: unknown, take it as found);
/// the walk updates it after each transition it takes, so a failed walk says how far it got.
///
/// Every hop reads the issue's status and its offered transitions in one answer
/// ([`JiraApi::position`]): what the map learns always belongs to the status it was offered
/// from, even when a person moves the issue between two reads or a read is retried after a 429.
pub async fn walk(
    jira: &dyn JiraApi,
    map: &WorkflowMap,
    key: &str,
    at: &mut Option<String>,
    target: &str,
    resolution: Option<&str>,
) -> Result<Walked, WorkflowError> {
    let mut taken = Vec::new();
    let mut visited = HashSet::new();
    let mut refused = 0;
    loop {
        let position = jira.position(key).await?;
        let status = position.status;
        if at.as_deref().is_some_and(|a| norm(a) != norm(&status)) {
            return Ok(Walked::Moved { found: status });
        }
        map.learn(&status, position.transitions);
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
            Hop::Toward(t) | Hop::Explore(t) => t,
            Hop::Unreachable => {
                return Err(WorkflowError::Unreachable {
                    from: status,
                    target: target.to_owned(),
                });
            }
        };
        let resolution = resolution.filter(|_| t.takes_resolution && norm(&t.to) == norm(target));
        tracing::debug!(issue_key = key, from = %status, to = %t.to, transition = %t.id, "transitioning");
        *at = Some(status);
        match jira.transition(key, &t.id, resolution).await {
            Ok(()) => {
                taken.push(t.id.clone());
                *at = Some(t.to);
            }
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
