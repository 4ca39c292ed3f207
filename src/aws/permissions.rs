//! Every AWS action the service calls, per role: the one list that deploy/template.yaml's
//! roles, deploy/container.md's task role and the IAM-enforced tests are checked against
//! (deploy/tests). A call added to the code without its action here fails those tests; an action
//! granted without a call here fails them too.

/// Where a set of grants is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The Lambda gateway: webhooks, the admin API (its `/v1/doctor` included).
    Gateway,
    /// The Lambda case → issue consumer.
    CaseToIssue,
    /// The Lambda issue → case consumer.
    IssueToCase,
    /// The scheduled Lambda poller.
    Poller,
    /// The long-running process (container task role): every role in one process, consuming
    /// from SQS, and `doctor`.
    Container,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Gateway,
        Role::CaseToIssue,
        Role::IssueToCase,
        Role::Poller,
        Role::Container,
    ];

    /// The IAM role's logical id in deploy/template.yaml; `None` for the container, whose
    /// role deploy/container.md documents.
    pub fn template_role(self) -> Option<&'static str> {
        match self {
            Role::Gateway => Some("GatewayRole"),
            Role::CaseToIssue => Some("JiraClientRole"),
            Role::IssueToCase => Some("SirClientRole"),
            Role::Poller => Some("PollerRole"),
            Role::Container => None,
        }
    }

    /// The actions the role's code calls, sorted.
    pub fn actions(self) -> Vec<&'static str> {
        let mut actions: Vec<&'static str> = GRANTS
            .iter()
            .filter(|g| g.roles.contains(&self))
            .map(|g| g.action)
            .collect();
        actions.sort_unstable();
        actions.dedup();
        actions
    }
}

/// One action, who calls it, and the SDK operation (the client method) that needs it.
#[derive(Debug)]
pub struct Grant {
    pub action: &'static str,
    /// The SDK client method, as the code spells it (`.batch_get_item()`).
    pub sdk_method: &'static str,
    pub roles: &'static [Role],
    pub why: &'static str,
}

use Role::{
    CaseToIssue as C2I, Container as Ctr, Gateway as Gw, IssueToCase as I2C, Poller as Pol,
};

/// Every role holds the state store: the store's actions are granted as one set, on the one
/// table. BatchGetItem reads what GetItem already may (the poller's watermarks, in batches).
const STORE: &[Role] = &[Gw, C2I, I2C, Pol, Ctr];

pub const GRANTS: &[Grant] = &[
    // ---- the state store (src/store/dynamodb)
    Grant {
        action: "dynamodb:GetItem",
        sdk_method: "get_item",
        roles: STORE,
        why: "state reads",
    },
    Grant {
        action: "dynamodb:PutItem",
        sdk_method: "put_item",
        roles: STORE,
        why: "state writes, insert-once claims",
    },
    Grant {
        action: "dynamodb:UpdateItem",
        sdk_method: "update_item",
        roles: STORE,
        why: "leases, counters, ledger",
    },
    Grant {
        action: "dynamodb:DeleteItem",
        sdk_method: "delete_item",
        roles: STORE,
        why: "released leases, replayed dead letters",
    },
    Grant {
        action: "dynamodb:Query",
        sdk_method: "query",
        roles: STORE,
        why: "mappings, dead letters, blobs",
    },
    Grant {
        action: "dynamodb:BatchGetItem",
        sdk_method: "batch_get_item",
        roles: STORE,
        why: "the poller's per-case watermarks",
    },
    Grant {
        action: "dynamodb:BatchWriteItem",
        sdk_method: "batch_write_item",
        roles: STORE,
        why: "large event copies (blobs)",
    },
    Grant {
        action: "dynamodb:TransactWriteItems",
        sdk_method: "transact_write_items",
        roles: STORE,
        why: "mapping pairs written together",
    },
    // ---- the bus
    Grant {
        action: "events:PutEvents",
        sdk_method: "put_events",
        roles: &[Gw, Pol, Ctr],
        why: "publishing webhook, resync and poller events",
    },
    Grant {
        action: "events:DescribeEventBus",
        sdk_method: "describe_event_bus",
        roles: &[Gw, Ctr],
        why: "doctor's bus check (`doctor`, GET /v1/doctor)",
    },
    // ---- the container's consumers (SQS fed by a rule on the bus)
    Grant {
        action: "sqs:ReceiveMessage",
        sdk_method: "receive_message",
        roles: &[Ctr],
        why: "workers' long poll",
    },
    Grant {
        action: "sqs:DeleteMessage",
        sdk_method: "delete_message",
        roles: &[Ctr],
        why: "a handled event",
    },
    Grant {
        action: "sqs:ChangeMessageVisibility",
        sdk_method: "change_message_visibility",
        roles: &[Ctr],
        why: "lease extension, retry backoff",
    },
    Grant {
        action: "sqs:GetQueueAttributes",
        sdk_method: "get_queue_attributes",
        roles: &[Ctr],
        why: "doctor's queue check",
    },
    // ---- doctor's SNS check, where the gateway has a topic
    Grant {
        action: "sns:ListSubscriptionsByTopic",
        sdk_method: "list_subscriptions_by_topic",
        roles: &[Gw, Ctr],
        why: "doctor's subscription check",
    },
    // ---- secrets given by reference (src/aws/secrets.rs): each role reads only its own
    Grant {
        action: "ssm:GetParameter",
        sdk_method: "get_parameter",
        roles: &[Gw, C2I, I2C, Ctr],
        why: "secrets by `ssm:` reference (gateway: webhook secret, admin token; consumers: Jira token)",
    },
    Grant {
        action: "secretsmanager:GetSecretValue",
        sdk_method: "get_secret_value",
        roles: &[Ctr],
        why: "secrets by `secretsmanager:` reference (the template uses SSM)",
    },
    // ---- Security Incident Response (src/sir/client.rs)
    Grant {
        action: "security-ir:ListCases",
        sdk_method: "list_cases",
        roles: &[Pol, Ctr],
        why: "the poller, backfill",
    },
    Grant {
        action: "security-ir:GetCase",
        sdk_method: "get_case",
        roles: &[C2I, I2C, Pol, Ctr],
        why: "reading a case",
    },
    Grant {
        action: "security-ir:ListComments",
        sdk_method: "list_comments",
        roles: &[C2I, I2C, Ctr],
        why: "comment sync",
    },
    Grant {
        action: "security-ir:GetCaseAttachmentDownloadUrl",
        sdk_method: "get_case_attachment_download_url",
        roles: &[C2I, Ctr],
        why: "case attachments to Jira",
    },
    Grant {
        action: "security-ir:CreateCase",
        sdk_method: "create_case",
        roles: &[I2C, Ctr],
        why: "an issue created in Jira opens a case",
    },
    Grant {
        action: "security-ir:UpdateCase",
        sdk_method: "update_case",
        roles: &[I2C, Ctr],
        why: "issue fields to the case",
    },
    Grant {
        action: "security-ir:UpdateCaseStatus",
        sdk_method: "update_case_status",
        roles: &[I2C, Ctr],
        why: "issue status to the case",
    },
    Grant {
        action: "security-ir:CloseCase",
        sdk_method: "close_case",
        roles: &[I2C, Ctr],
        why: "a resolved issue",
    },
    Grant {
        action: "security-ir:CreateCaseComment",
        sdk_method: "create_case_comment",
        roles: &[I2C, Ctr],
        why: "Jira comments to the case",
    },
    Grant {
        action: "security-ir:UpdateCaseComment",
        sdk_method: "update_case_comment",
        roles: &[I2C, Ctr],
        why: "edited Jira comments",
    },
    Grant {
        action: "security-ir:GetCaseAttachmentUploadUrl",
        sdk_method: "get_case_attachment_upload_url",
        roles: &[I2C, Ctr],
        why: "Jira attachments to the case",
    },
];

/// SDK calls in the code that no deployed role makes: creating the table is what the template
/// (or an operator) does; the code's `create_table` serves the tests against moto.
pub const NOT_GRANTED: &[(&str, &str)] = &[
    (
        "create_table",
        "dynamodb:CreateTable (tests; the template creates the table)",
    ),
    (
        "describe_table",
        "dynamodb:DescribeTable (waiting for a table the tests create)",
    ),
    (
        "update_time_to_live",
        "dynamodb:UpdateTimeToLive (tests; the template sets the TTL)",
    ),
];
