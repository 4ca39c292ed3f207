use aws_sdk_securityir::error::ProvideErrorMetadata;
use aws_sdk_securityir::operation::create_case::CreateCaseError;
use aws_sdk_securityir::operation::get_case::GetCaseError;
use aws_sdk_securityir::operation::list_cases::ListCasesError;
use aws_sdk_securityir::types::{ValidationExceptionReason, Watcher};
use reqwest::Method;

use crate::{create, new_case, raw, start};

#[tokio::test]
async fn create_case_validation_reports_every_bad_member() {
    let emu = start().await;
    let client = emu.sdk_client();
    let err = new_case(&client, &"t".repeat(301))
        .description("d".repeat(8001))
        .impacted_accounts("1234")
        .watchers(Watcher::builder().email("not-an-email").build().unwrap())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let CreateCaseError::ValidationException(v) = err else {
        panic!("expected ValidationException, got {err:?}");
    };
    assert_eq!(
        v.reason(),
        &ValidationExceptionReason::FieldValidationFailed
    );
    let names: Vec<_> = v.field_list().iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        [
            "title",
            "description",
            "impactedAccounts.2.member",
            "watchers.2.member.email"
        ]
    );
    assert!(v.message().starts_with("4 validation errors detected"));
    assert!(
        v.field_list()[1]
            .message()
            .contains("less than or equal to 8000")
    );
    assert_eq!(emu.case_count(), 0);

    // Exactly at the limits is fine.
    new_case(&client, &"t".repeat(300))
        .description("d".repeat(8000))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn missing_required_members_and_unknown_enums() {
    let emu = start().await;
    let client = emu.sdk_client();
    let err = client
        .create_case()
        .title("Only a title")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let CreateCaseError::ValidationException(v) = err else {
        panic!("expected ValidationException, got {err:?}");
    };
    let names: Vec<_> = v.field_list().iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        [
            "resolverType",
            "description",
            "engagementType",
            "reportedIncidentStartDate",
            "impactedAccounts",
            "watchers"
        ]
    );

    let (status, headers, body) = raw(
        &emu,
        Method::POST,
        "/v1/create-case",
        Some(serde_json::json!({
            "title": "t", "description": "d", "engagementType": "Breach",
            "resolverType": "Self", "reportedIncidentStartDate": 1764164400,
            "impactedAccounts": [], "watchers": []
        })),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        headers["x-amzn-errortype"]
            .to_str()
            .unwrap()
            .starts_with("ValidationException:")
    );
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["fieldList"][0]["name"], "engagementType");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("Security Incident, Investigation")
    );

    // Not JSON at all.
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/create-case", emu.endpoint_url()))
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AK/20261126/us-east-1/security-ir/aws4_request, SignedHeaders=host, Signature=00")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["reason"], "CANNOT_PARSE");
}

#[tokio::test]
async fn unknown_and_malformed_case_ids() {
    let emu = start().await;
    let client = emu.sdk_client();
    let err = client
        .get_case()
        .case_id("9999999999")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, GetCaseError::ResourceNotFoundException(_)),
        "{err:?}"
    );
    assert_eq!(err.code(), Some("ResourceNotFoundException"));

    let err = client
        .get_case()
        .case_id("abc")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
}

#[tokio::test]
async fn list_limits_and_foreign_tokens() {
    let emu = start().await;
    let client = emu.sdk_client();
    let err = client
        .list_cases()
        .max_results(26)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());
    let err = client
        .list_cases()
        .next_token("made-up")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        matches!(err, ListCasesError::InvalidTokenException(_)),
        "{err:?}"
    );

    // A comments token is not a cases token.
    let id = create(&client, "Tokens").await;
    for i in 0..3 {
        emu.analyst().add_comment(&id, &format!("c{i}")).unwrap();
    }
    let page = client
        .list_comments()
        .case_id(&id)
        .max_results(1)
        .send()
        .await
        .unwrap();
    let err = client
        .list_cases()
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_token_exception());
}

#[tokio::test]
async fn unsigned_and_denied_callers_get_access_denied() {
    let emu = start().await;
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/list-cases", emu.endpoint_url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(
        resp.headers()["x-amzn-errortype"]
            .to_str()
            .unwrap()
            .starts_with("AccessDeniedException")
    );

    emu.deny_access_key("AKIDREADONLY", true);
    let err = emu
        .sdk_client_as("AKIDREADONLY")
        .list_cases()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_access_denied_exception());
    emu.deny_access_key("AKIDREADONLY", false);
    emu.sdk_client_as("AKIDREADONLY")
        .list_cases()
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_routes_answer_unknown_operation() {
    let emu = start().await;
    let (status, headers, _) = raw(&emu, Method::POST, "/v1/delete-case", None).await;
    assert_eq!(status, 404);
    assert!(
        headers["x-amzn-errortype"]
            .to_str()
            .unwrap()
            .starts_with("UnknownOperationException")
    );
}
