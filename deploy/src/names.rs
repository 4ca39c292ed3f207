//! The names a stack gives what it creates outside CloudFormation's generated names: the SSM
//! parameters (the secrets this command writes and the template's plain ones), the bus, the
//! log groups and the artifacts' keys. All derive from the stack name or `--prefix`, so two
//! stacks in one account and region never share one, and none is the AWS sample's.

/// The stack name a first deployment gets; it keeps the names deployments have always had.
pub const DEFAULT_STACK: &str = "sir-jira-bridge";
/// The SSM path of the default stack: the one AWS's sample integration uses too, so a stack
/// meant to run beside the sample takes another name or `--prefix`.
pub const LEGACY_PREFIX: &str = "/SecurityIncidentResponse";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error(
        "--stack-name: `{0}` is not a CloudFormation stack name: use letters, digits and \
         hyphens, starting with a letter (at most 128)"
    )]
    Stack(String),
    #[error(
        "--prefix: `{0}` is not an SSM path: start it with `/`, use letters, digits and \
         `_.-/`, and end it without `/` (e.g. /sir-jira-bridge/team-a)"
    )]
    Prefix(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub stack: String,
    /// The SSM path every parameter of the stack lives under.
    pub prefix: String,
}

impl Names {
    /// `--prefix` wins; without it the default stack keeps the legacy path and any other stack
    /// gets `/sir-jira-bridge/<stack>`.
    pub fn new(stack: &str, prefix: Option<&str>) -> Result<Names, NameError> {
        let valid_stack = stack.len() <= 128
            && stack.starts_with(|c: char| c.is_ascii_alphabetic())
            && stack.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid_stack {
            return Err(NameError::Stack(stack.to_owned()));
        }
        let prefix = match prefix {
            Some(p) => {
                let valid = p.starts_with('/')
                    && p.len() > 1
                    && !p.ends_with('/')
                    && !p.contains("//")
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c));
                if !valid {
                    return Err(NameError::Prefix(p.to_owned()));
                }
                p.to_owned()
            }
            None if stack == DEFAULT_STACK => LEGACY_PREFIX.to_owned(),
            None => format!("/sir-jira-bridge/{stack}"),
        };
        Ok(Names {
            stack: stack.to_owned(),
            prefix,
        })
    }

    pub fn parameter(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }

    pub fn jira_token(&self) -> String {
        self.parameter("jiraToken")
    }

    pub fn webhook_secret(&self) -> String {
        self.parameter("jiraWebhookSecret")
    }

    pub fn admin_token(&self) -> String {
        self.parameter("adminToken")
    }

    /// Every name the stack and this command choose, by kind. CloudFormation names the rest
    /// (functions, queues, topics, the table, the roles) after the stack itself.
    pub fn named_resources(&self) -> Vec<(&'static str, String)> {
        let stack = &self.stack;
        let mut names: Vec<(&'static str, String)> = [
            "jiraToken",
            "jiraWebhookSecret",
            "adminToken",
            "jiraEmail",
            "jiraUrl",
            "jiraProjectKey",
        ]
        .into_iter()
        .map(|n| ("SSM parameter", self.parameter(n)))
        .collect();
        names.push(("EventBridge bus", format!("{stack}-events")));
        for group in ["gateway", "jira-client", "sir-client", "poller"] {
            names.push(("log group", format!("/sir-jira-bridge/{stack}/{group}")));
        }
        names.push((
            "artifact keys",
            format!("s3://<artifact-bucket>/sir-jira-bridge/{stack}/"),
        ));
        names.push((
            "CloudFormation-named (functions, table, topics, queues, roles, alarms)",
            format!("{stack}-<LogicalId>-<suffix>"),
        ));
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_stack_keeps_todays_names_and_others_get_their_own() {
        let first = Names::new(DEFAULT_STACK, None).unwrap();
        assert_eq!(first.jira_token(), "/SecurityIncidentResponse/jiraToken");
        let second = Names::new("team-b", None).unwrap();
        assert_eq!(
            second.webhook_secret(),
            "/sir-jira-bridge/team-b/jiraWebhookSecret"
        );
        let told = Names::new(DEFAULT_STACK, Some("/bridges/a")).unwrap();
        assert_eq!(told.admin_token(), "/bridges/a/adminToken");
    }

    #[test]
    fn bad_names_are_refused_with_their_fix() {
        for stack in ["", "1abc", "a_b", "a b"] {
            assert!(Names::new(stack, None).is_err(), "{stack}");
        }
        for prefix in ["a", "/", "/a/", "/a//b", "/a b"] {
            let err = Names::new("s", Some(prefix)).unwrap_err().to_string();
            assert!(err.starts_with("--prefix") && !err.contains('\n'), "{err}");
        }
    }
}
