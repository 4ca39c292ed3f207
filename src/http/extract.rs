//! Axum's extractors with their rejections turned into [`ApiError`], so a malformed query,
//! path or body gets the same JSON error shape as everything else.

use axum::extract::{FromRequest, FromRequestParts};

use super::ApiError;

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);
