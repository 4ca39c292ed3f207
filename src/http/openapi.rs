use std::sync::LazyLock;

use axum::{
    http::{HeaderValue, header},
    response::IntoResponse,
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sir-jira-bridge",
        description = "Webhook gateway and admin API of the service that keeps AWS Security Incident Response cases and Jira issues in step.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "webhooks", description = "Deliveries from Jira, directly or through an SNS topic"),
        (name = "health", description = "Liveness, readiness, metrics"),
        (name = "admin", description = "Inspect and repair what the integration did (bearer token)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// This document.
#[utoipa::path(operation_id = "openapi", get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = serde_json::Value)))]
pub async fn document() -> impl IntoResponse {
    // Generated from the route table on first request, then served as is.
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        serde_json::to_string(&super::openapi_document()).expect("the OpenAPI document serializes")
    });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        DOCUMENT.as_str(),
    )
}
