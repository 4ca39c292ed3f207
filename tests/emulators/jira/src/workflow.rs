//! A project's workflow: its statuses and which transitions leave each one. Reaching a status
//! may take several transitions, and a transition not available from the current status fails.

use std::collections::{HashMap, VecDeque};

use crate::config::{StatusCategory, WorkflowConfig};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub id: String,
    pub name: String,
    pub category: StatusCategory,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub id: String,
    pub name: String,
    /// Status ids it leaves from; empty: global.
    pub from: Vec<String>,
    /// Target status id.
    pub to: String,
    pub screen_fields: Vec<String>,
    /// Resolution id a post function sets when none is given.
    pub resolution: Option<String>,
    pub event: String,
}

impl Transition {
    pub fn is_global(&self) -> bool {
        self.from.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct Workflow {
    pub initial: String,
    pub statuses: Vec<Status>,
    pub transitions: Vec<Transition>,
}

impl Workflow {
    /// Compiles a configuration, resolving status names; `resolution_id` maps a resolution name
    /// to its id.
    pub fn compile(
        config: &WorkflowConfig,
        resolution_id: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let statuses: Vec<Status> = config
            .statuses
            .iter()
            .map(|s| Status {
                id: s.id.clone(),
                name: s.name.clone(),
                category: s.category,
            })
            .collect();
        let mut seen = HashMap::new();
        for s in &statuses {
            if seen.insert(s.id.clone(), ()).is_some() {
                return Err(format!("duplicate status id {}", s.id));
            }
        }
        let by_name = |name: &str| {
            statuses
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(name) || s.id == name)
                .map(|s| s.id.clone())
                .ok_or_else(|| format!("workflow names unknown status \"{name}\""))
        };
        let initial = by_name(&config.initial)?;
        let mut transitions = Vec::new();
        for t in &config.transitions {
            let to = by_name(&t.to)?;
            let from = t
                .from
                .iter()
                .map(|f| by_name(f))
                .collect::<Result<Vec<_>, _>>()?;
            let to_done = statuses
                .iter()
                .any(|s| s.id == to && s.category == StatusCategory::Done);
            let screen_fields = t.screen_fields.clone().unwrap_or_else(|| {
                if to_done {
                    vec!["resolution".to_owned()]
                } else {
                    Vec::new()
                }
            });
            let resolution = match &t.resolution {
                Some(name) => Some(resolution_id(name).ok_or_else(|| {
                    format!("transition {} names unknown resolution {name}", t.id)
                })?),
                None => None,
            };
            transitions.push(Transition {
                id: t.id.clone(),
                name: t.name.clone(),
                from,
                to,
                screen_fields,
                resolution,
                event: t
                    .event
                    .clone()
                    .unwrap_or_else(|| "issue_generic".to_owned()),
            });
        }
        Ok(Self {
            initial,
            statuses,
            transitions,
        })
    }

    pub fn status(&self, id: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.id == id)
    }

    pub fn status_by_name(&self, name: &str) -> Option<&Status> {
        self.statuses
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// Transitions available from `status_id`. A global transition is offered everywhere except
    /// on its own target.
    pub fn available_from(&self, status_id: &str) -> Vec<&Transition> {
        self.transitions
            .iter()
            .filter(|t| {
                if t.is_global() {
                    t.to != status_id
                } else {
                    t.from.iter().any(|f| f == status_id)
                }
            })
            .collect()
    }

    pub fn find_available(&self, status_id: &str, transition_id: &str) -> Option<&Transition> {
        self.available_from(status_id)
            .into_iter()
            .find(|t| t.id == transition_id)
    }

    /// The fewest transitions from `from` to `to` (status ids); `None` when unreachable,
    /// `Some(empty)` when already there.
    pub fn shortest_path(&self, from: &str, to: &str) -> Option<Vec<&Transition>> {
        if from == to {
            return Some(Vec::new());
        }
        // status id -> (the status it was first reached from, the transition taken)
        let mut reached: HashMap<&str, (&str, &Transition)> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(current) = queue.pop_front() {
            for t in self.available_from(current) {
                if t.to == from || reached.contains_key(t.to.as_str()) {
                    continue;
                }
                reached.insert(&t.to, (current, t));
                if t.to == to {
                    let mut path = Vec::new();
                    let mut at = to;
                    while at != from {
                        let (prev, step) = reached[at];
                        path.push(step);
                        at = prev;
                    }
                    path.reverse();
                    return Some(path);
                }
                queue.push_back(&t.to);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_workflow() -> Workflow {
        Workflow::compile(&WorkflowConfig::default(), |n| {
            (n == "Done").then(|| "10000".to_owned())
        })
        .unwrap()
    }

    #[test]
    fn done_needs_three_steps_from_to_do() {
        let w = default_workflow();
        let path = w.shortest_path("10000", "10002").unwrap();
        let ids: Vec<&str> = path.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["11", "21", "31"]);
        assert!(
            w.find_available("10000", "31").is_none(),
            "Done is not offered from To Do"
        );
        assert_eq!(w.shortest_path("3", "3").unwrap().len(), 0);
    }

    #[test]
    fn unreachable_status_has_no_path() {
        let mut config = WorkflowConfig::default();
        config.transitions.retain(|t| t.id != "61");
        let w = Workflow::compile(&config, |_| Some("10000".into())).unwrap();
        assert!(w.shortest_path("10002", "10000").is_none());
    }

    #[test]
    fn global_transitions_are_offered_everywhere_but_their_target() {
        let mut config = WorkflowConfig::default();
        config.transitions.push(crate::config::TransitionConfig {
            id: "91".into(),
            name: "Cancel".into(),
            from: vec![],
            to: "Done".into(),
            screen_fields: None,
            resolution: None,
            event: None,
        });
        let w = Workflow::compile(&config, |_| Some("10000".into())).unwrap();
        assert!(w.find_available("10000", "91").is_some());
        assert!(w.find_available("10002", "91").is_none());
        assert_eq!(w.shortest_path("10000", "10002").unwrap().len(), 1);
    }

    #[test]
    fn unknown_status_names_are_rejected() {
        let mut config = WorkflowConfig::default();
        config.transitions[0].to = "Nowhere".into();
        assert!(Workflow::compile(&config, |_| None).is_err());
    }
}
