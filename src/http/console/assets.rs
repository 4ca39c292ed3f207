//! The page, its script and its style, compiled into the binary: the console works where the
//! gateway runs (Lambda included) and fetches nothing from anywhere else.

use axum::{
    http::{HeaderName, HeaderValue, header},
    response::IntoResponse,
};

const PAGE: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

/// Only this origin's script and style run, no inline code, nothing framed: an injected string
/// that slipped past the script's escaping still could not run.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn headers(content_type: &'static str) -> [(HeaderName, HeaderValue); 5] {
    [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        // A new binary serves new assets; an old page in a cache would call the API it knew.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ]
}

pub async fn page() -> impl IntoResponse {
    (headers("text/html; charset=utf-8"), PAGE)
}

pub async fn script() -> impl IntoResponse {
    (headers("text/javascript; charset=utf-8"), SCRIPT)
}

pub async fn style() -> impl IntoResponse {
    (headers("text/css; charset=utf-8"), STYLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The issue's budget: everything the console sends a browser stays under 200 KB.
    #[test]
    fn the_console_is_under_200_kb() {
        let total = PAGE.len() + SCRIPT.len() + STYLE.len();
        assert!(total < 200 * 1024, "{total} bytes");
    }

    /// Nothing is fetched from another origin: every reference is a path on this one.
    #[test]
    fn the_page_references_nothing_off_origin() {
        for asset in [PAGE, SCRIPT, STYLE] {
            assert!(!asset.contains("//cdn") && !asset.contains("@import"));
        }
        assert!(PAGE.contains(r#"src="/console/app.js""#));
        assert!(PAGE.contains(r#"href="/console/app.css""#));
    }
}
