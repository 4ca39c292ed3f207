//! The HTTP gateway: one route table (which also generates the OpenAPI document), one state,
//! one error type.

pub mod admin;
pub mod console;
mod delivery;
mod error;
pub mod extract;
mod health;
mod jira;
mod metrics;
mod openapi;
pub mod serve;
mod sns;

use std::sync::Arc;

use axum::{Extension, Router, middleware, response::IntoResponse};
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use error::{ApiError, ErrorBody};
pub use jira::WebhookAck;

use crate::{
    bus::{EventBus, EventLog},
    config::{IntakeConfig, SnsConfig},
    domain::TopicArn,
    intake::Intake,
    metrics::Metrics,
    onboard::Doctor,
    peers::PeerHealth,
    secret::Secret,
    store::StateStore,
    verify::{
        jira::JiraVerifier,
        sns::{Fetcher, SnsVerifier, UrlRules},
    },
};

/// Everything a handler may need. The extractors and middleware clone it for every request,
/// so it is one `Arc`: cloning and dropping its dozen shared parts each time was measurable
/// (docs/benchmarks.md).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> AppState {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

pub struct Services {
    pub intake: Intake,
    pub store: Arc<dyn StateStore>,
    pub bus: Arc<dyn EventBus>,
    /// The bus's record of events, when it keeps one (the embedded queue).
    pub event_log: Option<Arc<dyn EventLog>>,
    pub jira: Arc<JiraIntake>,
    pub sns: Arc<SnsIntake>,
    /// The largest body either webhook route reads (`max_body_bytes`): the same deliveries,
    /// by two paths.
    pub webhook_body_limit: usize,
    pub metrics: Arc<Metrics>,
    pub peers: Arc<PeerHealth>,
    pub admin_token: Option<Secret>,
    /// `/metrics` asks for the admin token too.
    pub metrics_require_token: bool,
    /// The checks `GET /v1/doctor` runs; `None` where nothing wired them.
    pub doctor: Option<Arc<Doctor>>,
    /// The operator console's sessions and links.
    pub console: console::ConsoleSettings,
}

/// Settings of the Jira route, fixed at start-up.
pub struct JiraIntake {
    pub verifier: JiraVerifier,
    pub config: IntakeConfig,
}

/// Settings of the SNS route, fixed at start-up. The project filter is the Jira route's
/// (`jira.config`): the same deliveries, by another path.
pub struct SnsIntake {
    pub verifier: SnsVerifier,
    /// Topics whose messages are accepted; empty refuses all.
    pub topic_arns: Vec<TopicArn>,
}

impl SnsIntake {
    /// `fetcher` is how certificates and SubscribeURLs are fetched: HTTP in the service.
    pub fn new(config: &SnsConfig, fetcher: Arc<dyn Fetcher>, metrics: &Metrics) -> SnsIntake {
        SnsIntake {
            verifier: SnsVerifier::new(
                UrlRules::new(config.extra_cert_hosts.clone()),
                fetcher,
                config.cert_cache_size,
                config.cert_cache_ttl,
                metrics.sns_certificate_fetches.clone(),
            ),
            topic_arns: config.topic_arns.clone(),
        }
    }
}

/// The route table. Every route is annotated, so the document cannot drift from the code.
fn routes() -> OpenApiRouter<AppState> {
    let admin = OpenApiRouter::new()
        .routes(routes!(admin::mappings::list))
        .routes(routes!(admin::mappings::by_case))
        .routes(routes!(admin::mappings::by_issue))
        .routes(routes!(admin::events::list))
        .routes(routes!(admin::dead_letters::list))
        .routes(routes!(admin::dead_letters::show))
        .routes(routes!(admin::dead_letters::replay_one))
        .routes(routes!(admin::dead_letters::replay_matching))
        .routes(routes!(admin::resync::case))
        .routes(routes!(admin::resync::issue))
        .routes(routes!(admin::status::status))
        .routes(routes!(admin::doctor::doctor))
        .route_layer(middleware::from_fn(admin::require_admin));
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(openapi::document))
        .routes(routes!(jira::receive))
        .routes(routes!(sns::receive))
        .nest("/v1", admin)
}

/// The OpenAPI document of the whole API, as committed in `openapi/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    router
        .merge(console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(Extension(state.clone()))
        .with_state(state)
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
}

/// `router` with every request answered within `limit`, body reading included: a client
/// trickling its body cannot hold a connection and a handler for longer. Only the long-running
/// server applies it; on Lambda the function's own timeout does.
pub fn with_request_timeout(router: Router, limit: std::time::Duration) -> Router {
    router.layer(middleware::from_fn(
        move |request: axum::extract::Request, next: middleware::Next| async move {
            match tokio::time::timeout(limit, next.run(request)).await {
                Ok(response) => response,
                Err(_) => ApiError::RequestTimeout(limit.as_secs()).into_response(),
            }
        },
    ))
}

/// The span of every request: the path, never the query string, which may carry a token or a
/// secret (`?token=…`) and would reach the log with every line inside the span.
fn request_span(request: &axum::extract::Request) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        version = ?request.version(),
    )
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
