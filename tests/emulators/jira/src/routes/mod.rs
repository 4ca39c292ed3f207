//! The HTTP surface: Jira's REST routes behind one gate (log → auth → rate limit), plus the
//! emulator's own control and media routes, which are neither authenticated nor logged.

use std::sync::{Arc, Mutex};

use axum::{
    Extension, Router,
    body::Bytes,
    extract::DefaultBodyLimit,
    extract::{Request, State as AxumState},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::Value;

use crate::{
    auth::{Caller, authenticate},
    config::Mode,
    error::{JiraError, JiraResult},
    log::{RequestLog, RequestRecord, is_write},
    rate_limit::RateLimiter,
    repr::ApiVersion,
    state::State,
    webhooks::Dispatcher,
};

mod attachments;
mod comments;
pub(crate) mod control;
mod issues;
mod meta;
mod properties;
mod search;
mod webhooks;
mod workflows;

/// What every handler shares.
#[derive(Clone)]
pub struct App {
    pub state: Arc<Mutex<State>>,
    pub limiter: Arc<Mutex<RateLimiter>>,
    pub log: Arc<RequestLog>,
    pub dispatcher: Arc<Dispatcher>,
    /// Key for the signed media URLs attachment content redirects to.
    pub media_key: Arc<String>,
}

impl App {
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("state lock")
    }
}

pub fn router(app: App, mode: Mode) -> Router {
    let mut rest = Router::new().nest("/rest/api/2", api_routes(mode, ApiVersion::V2));
    if mode.serves_v3() {
        rest = rest.nest("/rest/api/3", api_routes(mode, ApiVersion::V3));
    }
    if mode != Mode::Cloud {
        rest = rest.nest("/rest/api/latest", api_routes(mode, ApiVersion::V2));
    }
    let rest = rest
        .merge(webhooks::routes())
        .route(
            "/secure/attachment/{id}/{filename}",
            get(attachments::secure_content),
        )
        .layer(middleware::from_fn_with_state(app.clone(), gate));
    Router::new()
        .merge(rest)
        .merge(control::routes())
        .route("/_media/attachment/{id}", get(attachments::media))
        .fallback(not_found)
        .with_state(app)
}

fn api_routes(mode: Mode, api: ApiVersion) -> Router<App> {
    let mut r = Router::new()
        .route("/myself", get(meta::myself))
        .route("/serverInfo", get(meta::server_info))
        .route("/user", get(meta::user))
        .route("/project", get(meta::projects))
        .route("/project/search", get(meta::project_search))
        .route("/project/{key}", get(meta::project))
        .route("/project/{key}/statuses", get(meta::project_statuses))
        .route("/issuetype", get(meta::issue_types))
        .route("/issuetype/project", get(meta::issue_types_for_project))
        .route("/issuetype/{id}", get(meta::issue_type))
        .route(
            "/issue/createmeta/{project}/issuetypes",
            get(meta::createmeta_issue_types),
        )
        .route(
            "/issue/createmeta/{project}/issuetypes/{type_id}",
            get(meta::createmeta_fields),
        )
        .route("/status", get(meta::statuses))
        .route("/statuscategory", get(meta::status_categories))
        .route("/priority", get(meta::priorities))
        .route("/priority/{id}", get(meta::priority))
        .route("/resolution", get(meta::resolutions))
        .route("/resolution/{id}", get(meta::resolution))
        .route("/field", get(meta::fields))
        .route("/issue", post(issues::create))
        .route(
            "/issue/{key}",
            get(issues::get).put(issues::edit).delete(issues::delete),
        )
        .route(
            "/issue/{key}/transitions",
            get(issues::transitions).post(issues::transition),
        )
        .route("/issue/{key}/changelog", get(issues::changelog))
        .route(
            "/issue/{key}/comment",
            get(comments::list).post(comments::add),
        )
        .route(
            "/issue/{key}/comment/{id}",
            get(comments::get)
                .put(comments::update)
                .delete(comments::delete),
        )
        .route(
            "/issue/{key}/attachments",
            // The handler enforces the configured attachment limit itself (413, not 400).
            post(attachments::add).layer(DefaultBodyLimit::disable()),
        )
        .route("/attachment/meta", get(attachments::meta))
        .route(
            "/attachment/{id}",
            get(attachments::get).delete(attachments::delete),
        )
        .route("/issue/{key}/properties", get(properties::issue_keys))
        .route(
            "/issue/{key}/properties/{prop}",
            get(properties::issue_get)
                .put(properties::issue_set)
                .delete(properties::issue_delete),
        )
        .route("/comment/{id}/properties", get(properties::comment_keys))
        .route(
            "/comment/{id}/properties/{prop}",
            get(properties::comment_get)
                .put(properties::comment_set)
                .delete(properties::comment_delete),
        )
        .route("/search", get(search::legacy).post(search::legacy_post));
    if !mode.is_data_center() {
        r = r
            .route("/search/jql", get(search::jql_get).post(search::jql_post))
            .route("/search/approximate-count", post(search::approximate_count))
            .route("/attachment/content/{id}", get(attachments::content))
            .route(
                "/workflowscheme/project",
                get(workflows::schemes_for_project),
            )
            .route("/workflow/search", get(workflows::search));
    }
    r.layer(Extension(api))
}

async fn not_found() -> JiraError {
    JiraError::not_found("null for uri: the requested resource does not exist")
}

/// Logs, authenticates and rate-limits every REST request.
async fn gate(AxumState(app): AxumState<App>, mut request: Request, next: Next) -> Response {
    let received = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let write = is_write(&method, &path);
    let caller = authenticate(&app.state(), request.headers());
    let (response, account) = match caller {
        Err(e) => (e.into_response(), None),
        Ok(caller) => {
            let verdict = app.limiter.lock().expect("limiter lock").check(write);
            match verdict {
                Err(e) => (e.into_response(), Some(caller.account_id)),
                Ok(allowance) => {
                    let account = caller.account_id.clone();
                    request.extensions_mut().insert(caller);
                    let mut response = next.run(request).await;
                    if let Some(a) = allowance {
                        let h = response.headers_mut();
                        h.insert(
                            HeaderName::from_static("x-ratelimit-limit"),
                            HeaderValue::from(a.limit),
                        );
                        h.insert(
                            HeaderName::from_static("x-ratelimit-remaining"),
                            HeaderValue::from(a.remaining),
                        );
                    }
                    (response, Some(account))
                }
            }
        }
    };
    app.log.record(RequestRecord {
        seq: 0,
        method: method.to_string(),
        path,
        query,
        status: response.status().as_u16(),
        account,
        write,
        received,
    });
    response
}

// ---- helpers shared by the handlers ---------------------------------------------------------

/// Query parameters, keeping repeats (`fields=a&fields=b`).
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn from_query(query: Option<&str>) -> Self {
        let pairs = query
            .map(|q| {
                q.split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                        (decode(k), decode(v))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self(pairs)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A non-negative integer parameter.
    pub fn int(&self, name: &str) -> JiraResult<Option<usize>> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(|n| Some(n.max(0) as usize))
                .map_err(|_| {
                    JiraError::bad_request(format!("The '{name}' parameter must be a number"))
                }),
        }
    }

    pub fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON request body, refused the way Jira refuses it (415 for other media types, 400 for
/// malformed JSON).
pub fn json_body(headers: &HeaderMap, body: &Bytes) -> JiraResult<Value> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.to_ascii_lowercase().contains("json") {
        return Err(JiraError::message(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type: the request body must be application/json",
        ));
    }
    if body.is_empty() {
        return Err(JiraError::bad_request(
            "No content to map to Object due to end of input",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| JiraError::bad_request(format!("Unexpected content: {e}")))
}

pub type Actor = Extension<Caller>;
pub type Api = Extension<ApiVersion>;

/// 204 No Content.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_keep_repeats_and_decode() {
        let p = Params::from_query(Some(
            "fields=summary,labels&fields=status&jql=project%20%3D%20SEC+AND",
        ));
        assert_eq!(p.all("fields"), ["summary,labels", "status"]);
        assert_eq!(p.get("jql"), Some("project = SEC AND"));
    }
}
