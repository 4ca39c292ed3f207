//! Counts every HTTP attempt the SDK makes to SIR, by operation and status, as an SDK
//! interceptor: the SDK retries throttled calls on its own, and those 429s must show in
//! `peer_api_calls` too, not only the call's final outcome.

use std::{fmt, sync::Arc};

use aws_sdk_securityir::config::{
    ConfigBag, Intercept, RuntimeComponents, interceptors::FinalizerInterceptorContextRef,
};
use aws_sdk_securityir::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

use crate::metrics::{Metrics, PeerCallLabels};

/// Label values are `&'static str`; operations the service does not call count as `other`.
const OPERATIONS: &[&str] = &[
    "GetCase",
    "ListCases",
    "ListComments",
    "UpdateCase",
    "UpdateCaseStatus",
    "CloseCase",
    "CreateCaseComment",
    "UpdateCaseComment",
    "GetCaseAttachmentDownloadUrl",
    "GetCaseAttachmentUploadUrl",
    "ListCaseEdits",
    "CreateCase",
];

pub struct CallMetrics {
    metrics: Arc<Metrics>,
}

impl CallMetrics {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl fmt::Debug for CallMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallMetrics")
    }
}

impl Intercept for CallMetrics {
    fn name(&self) -> &'static str {
        "SirCallMetrics"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg.load::<Metadata>().map(|m| m.name()).unwrap_or("");
        let operation = OPERATIONS
            .iter()
            .find(|op| **op == name)
            .copied()
            .unwrap_or("other");
        // 0: no answer at all (connection refused, timeout).
        let status = context.response().map_or(0, |r| r.status().as_u16());
        self.metrics
            .peer_calls
            .get_or_create(&PeerCallLabels {
                peer: "sir",
                operation,
                status,
            })
            .inc();
        Ok(())
    }
}
