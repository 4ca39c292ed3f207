use std::time::Duration;

use aws_sdk_securityir::types::CaseAttachmentStatus;
use sir_emulator::Operation;

use crate::{create, start};

#[tokio::test]
async fn upload_and_download_through_presigned_urls() {
    let emu = start().await;
    let client = emu.sdk_client();
    let http = reqwest::Client::new();
    let id = create(&client, "Evidence").await;
    let bytes = b"{\"eventName\":\"CreateAccessKey\"}".to_vec();

    let upload = client
        .get_case_attachment_upload_url()
        .case_id(&id)
        .file_name("cloudtrail-excerpt.json")
        .content_length(bytes.len() as i64)
        .client_token("jira-attachment-42")
        .send()
        .await
        .unwrap();
    let url = upload.attachment_presigned_url().to_string();
    assert!(url.starts_with(&emu.endpoint_url()));
    assert!(url.contains("X-Amz-Signature="));

    let got = client.get_case().case_id(&id).send().await.unwrap();
    let att = &got.case_attachments()[0];
    assert_eq!(att.file_name(), "cloudtrail-excerpt.json");
    assert_eq!(att.attachment_status(), &CaseAttachmentStatus::Pending);
    assert_eq!(att.creator(), "123456789012");
    let attachment_id = att.attachment_id().to_string();

    // Downloading before the bytes arrive is refused.
    let err = client
        .get_case_attachment_download_url()
        .case_id(&id)
        .attachment_id(&attachment_id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception());

    // Wrong length and forged signature are refused like S3 refuses them.
    let short = http.put(&url).body(b"{}".to_vec()).send().await.unwrap();
    assert_eq!(short.status(), 403);
    let forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    let forged = http.put(&forged).body(bytes.clone()).send().await.unwrap();
    assert_eq!(forged.status(), 403);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("SignatureDoesNotMatch")
    );

    let put = http.put(&url).body(bytes.clone()).send().await.unwrap();
    assert_eq!(put.status(), 200);
    assert_eq!(
        emu.attachment_bytes(&id, &attachment_id).as_deref(),
        Some(bytes.as_slice())
    );
    let got = client.get_case().case_id(&id).send().await.unwrap();
    assert_eq!(
        got.case_attachments()[0].attachment_status(),
        &CaseAttachmentStatus::Verified
    );

    let download = client
        .get_case_attachment_download_url()
        .case_id(&id)
        .attachment_id(&attachment_id)
        .send()
        .await
        .unwrap();
    let resp = http
        .get(download.attachment_presigned_url())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("cloudtrail-excerpt.json")
    );
    assert_eq!(resp.bytes().await.unwrap().as_ref(), bytes.as_slice());

    // The same clientToken gives back the same upload URL and no second attachment.
    let again = client
        .get_case_attachment_upload_url()
        .case_id(&id)
        .file_name("cloudtrail-excerpt.json")
        .content_length(bytes.len() as i64)
        .client_token("jira-attachment-42")
        .send()
        .await
        .unwrap();
    assert_eq!(again.attachment_presigned_url(), url);
    assert_eq!(emu.case(&id).unwrap().attachments.len(), 1);

    // Presigned traffic is logged but is not SIR API traffic.
    assert_eq!(emu.log().count(Operation::PresignedUpload), 3);
    assert_eq!(emu.log().count(Operation::PresignedDownload), 1);
}

#[tokio::test]
async fn presigned_urls_expire() {
    let emu = start().await;
    let client = emu.sdk_client();
    let id = create(&client, "Late upload").await;
    let upload = client
        .get_case_attachment_upload_url()
        .case_id(&id)
        .file_name("late.txt")
        .content_length(4)
        .send()
        .await
        .unwrap();
    emu.advance_clock(Duration::from_secs(3600));
    let resp = reqwest::Client::new()
        .put(upload.attachment_presigned_url())
        .body("late")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("expired"));
}

#[tokio::test]
async fn upload_url_members_are_validated() {
    let emu = start().await;
    let client = emu.sdk_client();
    let id = create(&client, "Bad names").await;
    let err = client
        .get_case_attachment_upload_url()
        .case_id(&id)
        .file_name("../../etc/passwd")
        .content_length(0)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let v = match err {
        aws_sdk_securityir::operation::get_case_attachment_upload_url::GetCaseAttachmentUploadUrlError::ValidationException(v) => v,
        other => panic!("expected ValidationException, got {other:?}"),
    };
    let names: Vec<_> = v.field_list().iter().map(|f| f.name()).collect();
    assert_eq!(names, ["fileName", "contentLength"]);
}
