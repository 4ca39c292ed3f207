//! The request log: one record per HTTP request, so tests can count calls (a poll cycle's list
//! calls, the writes an echo must not cause) instead of guessing from state.

use std::{sync::Mutex, time::Instant};

use serde::Serialize;

use crate::auth::Principal;
use crate::model::Timestamp;

/// The service operations the emulator serves, plus the presigned-URL traffic it also serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Operation {
    CreateCase,
    GetCase,
    UpdateCase,
    UpdateCaseStatus,
    CloseCase,
    UpdateResolverType,
    ListCases,
    ListCaseEdits,
    CreateCaseComment,
    UpdateCaseComment,
    ListComments,
    GetCaseAttachmentUploadUrl,
    GetCaseAttachmentDownloadUrl,
    ListMemberships,
    GetMembership,
    /// A PUT of attachment bytes to an upload URL the emulator issued (S3's side in AWS).
    PresignedUpload,
    /// A GET of attachment bytes from a download URL the emulator issued.
    PresignedDownload,
    /// A request no route matches.
    Unknown,
}

impl Operation {
    /// Operations that change a case. Presigned uploads change one too (an attachment is added),
    /// but they are S3 traffic, not SIR API calls, so they are not counted here.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Operation::CreateCase
                | Operation::UpdateCase
                | Operation::UpdateCaseStatus
                | Operation::CloseCase
                | Operation::UpdateResolverType
                | Operation::CreateCaseComment
                | Operation::UpdateCaseComment
                | Operation::GetCaseAttachmentUploadUrl
        )
    }

    /// A call to the SIR API itself (what throttling applies to).
    pub fn is_api_call(self) -> bool {
        !matches!(
            self,
            Operation::PresignedUpload | Operation::PresignedDownload | Operation::Unknown
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateCase => "CreateCase",
            Operation::GetCase => "GetCase",
            Operation::UpdateCase => "UpdateCase",
            Operation::UpdateCaseStatus => "UpdateCaseStatus",
            Operation::CloseCase => "CloseCase",
            Operation::UpdateResolverType => "UpdateResolverType",
            Operation::ListCases => "ListCases",
            Operation::ListCaseEdits => "ListCaseEdits",
            Operation::CreateCaseComment => "CreateCaseComment",
            Operation::UpdateCaseComment => "UpdateCaseComment",
            Operation::ListComments => "ListComments",
            Operation::GetCaseAttachmentUploadUrl => "GetCaseAttachmentUploadUrl",
            Operation::GetCaseAttachmentDownloadUrl => "GetCaseAttachmentDownloadUrl",
            Operation::ListMemberships => "ListMemberships",
            Operation::GetMembership => "GetMembership",
            Operation::PresignedUpload => "PresignedUpload",
            Operation::PresignedDownload => "PresignedDownload",
            Operation::Unknown => "Unknown",
        }
    }
}

/// Why the emulator answered with an error it made up rather than one the request earned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Injected {
    Throttled,
    Fault,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// 1, 2, 3… in arrival order since the emulator started (not reset by `reset`).
    pub seq: u64,
    pub at: Timestamp,
    pub operation: Operation,
    pub method: String,
    pub path: String,
    pub case_id: Option<String>,
    pub status: u16,
    /// The `X-Amzn-ErrorType` code of an error answer.
    pub error_type: Option<String>,
    /// `None` for presigned-URL traffic and unauthenticated requests.
    pub principal: Option<Principal>,
    pub injected: Option<Injected>,
    /// When the request reached the emulator, on the monotonic clock (`at` is the emulator's
    /// own clock, in milliseconds, taken when it answered): for latency benchmarks.
    #[serde(skip)]
    pub received: Instant,
}

impl RequestRecord {
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn access_key_id(&self) -> Option<&str> {
        self.principal.as_ref().map(|p| p.access_key_id.as_str())
    }
}

#[derive(Default)]
pub struct RequestLog {
    inner: Mutex<LogInner>,
}

#[derive(Default)]
struct LogInner {
    next_seq: u64,
    records: Vec<RequestRecord>,
}

impl RequestLog {
    pub(crate) fn push(&self, mut record: RequestRecord) {
        let mut inner = self.inner.lock().expect("request log poisoned");
        inner.next_seq += 1;
        record.seq = inner.next_seq;
        inner.records.push(record);
    }

    /// Every record since the last `reset`, oldest first.
    pub fn records(&self) -> Vec<RequestRecord> {
        self.inner
            .lock()
            .expect("request log poisoned")
            .records
            .clone()
    }

    pub fn count_where(&self, f: impl Fn(&RequestRecord) -> bool) -> usize {
        self.inner
            .lock()
            .expect("request log poisoned")
            .records
            .iter()
            .filter(|r| f(r))
            .count()
    }

    /// Requests of one operation, whatever their outcome (throttled attempts included).
    pub fn count(&self, op: Operation) -> usize {
        self.count_where(|r| r.operation == op)
    }

    /// Requests of one operation that succeeded.
    pub fn count_ok(&self, op: Operation) -> usize {
        self.count_where(|r| r.operation == op && r.succeeded())
    }

    /// Write calls (see [`Operation::is_write`]), whatever their outcome.
    pub fn writes(&self) -> Vec<RequestRecord> {
        self.records()
            .into_iter()
            .filter(|r| r.operation.is_write())
            .collect()
    }

    pub fn count_writes(&self) -> usize {
        self.count_where(|r| r.operation.is_write())
    }

    /// Calls made with one access key id.
    pub fn by_access_key(&self, access_key_id: &str) -> Vec<RequestRecord> {
        self.records()
            .into_iter()
            .filter(|r| r.access_key_id() == Some(access_key_id))
            .collect()
    }

    pub fn reset(&self) {
        self.inner
            .lock()
            .expect("request log poisoned")
            .records
            .clear();
    }
}
