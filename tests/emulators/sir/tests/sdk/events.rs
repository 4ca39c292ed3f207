use std::time::Duration;

use aws_sdk_securityir::types::SelfManagedCaseStatus;
use sir_emulator::{EventKind, PrincipalDisplay, SirEvent};

use crate::{create, start};

async fn next(rx: &mut tokio::sync::broadcast::Receiver<SirEvent>) -> SirEvent {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an event arrives")
        .expect("channel open")
}

#[tokio::test]
async fn changes_emit_native_style_events() {
    let emu = start().await;
    let mut rx = emu.subscribe_events();
    let client = emu.sdk_client();

    let id = create(&client, "Eventful").await;
    let arn = emu.case(&id).unwrap().case_arn;
    let e = next(&mut rx).await;
    assert_eq!(e.detail_type, "Case Created");
    assert_eq!(e.source, "aws.security-ir");
    assert_eq!(e.resources, vec![arn]);
    assert_eq!(
        e.detail,
        serde_json::json!({ "caseId": id, "createdBy": "123456789012" })
    );
    assert_eq!(e.account, "123456789012");
    assert_eq!(e.region, "us-east-1");
    assert_eq!(
        e.actor_access_key_id,
        sir_emulator::INTEGRATION_ACCESS_KEY_ID
    );
    let envelope = e.to_json();
    assert_eq!(envelope["detail-type"], "Case Created");
    assert_eq!(envelope["version"], "0");
    assert!(envelope["time"].as_str().unwrap().ends_with('Z'));

    client
        .update_case()
        .case_id(&id)
        .title("t")
        .send()
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await.kind, EventKind::CaseUpdated);
    client
        .update_case_status()
        .case_id(&id)
        .case_status(SelfManagedCaseStatus::DetectionAndAnalysis)
        .send()
        .await
        .unwrap();
    let e = next(&mut rx).await;
    assert_eq!(e.detail_type, "Case Updated");
    assert_eq!(e.detail["updatedBy"], "123456789012");

    let cid = client
        .create_case_comment()
        .case_id(&id)
        .body("hello")
        .send()
        .await
        .unwrap()
        .comment_id()
        .to_string();
    let e = next(&mut rx).await;
    assert_eq!(e.detail_type, "Case Comment Added");
    assert_eq!(e.detail["createdBy"], "123456789012");
    client
        .update_case_comment()
        .case_id(&id)
        .comment_id(&cid)
        .body("hello again")
        .send()
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await.detail_type, "Case Comment Updated");

    // The analyst's changes carry the analyst as the actor (visible in ARN display mode).
    emu.set_principal_display(PrincipalDisplay::Arn);
    emu.analyst().add_comment(&id, "from the console").unwrap();
    let e = next(&mut rx).await;
    assert_eq!(e.detail["createdBy"], emu.analyst_principal().arn);
    assert_eq!(e.actor_access_key_id, sir_emulator::ANALYST_ACCESS_KEY_ID);

    client.close_case().case_id(&id).send().await.unwrap();
    let e = next(&mut rx).await;
    assert_eq!(e.detail_type, "Case Closed");
    assert_eq!(e.detail["updatedBy"], emu.integration_principal().arn);

    assert_eq!(emu.events().len(), 7);
    // Reads emit nothing; failed writes emit nothing.
    client.get_case().case_id(&id).send().await.unwrap();
    let _ = client.close_case().case_id(&id).send().await;
    assert_eq!(emu.events().len(), 7);
}

#[tokio::test]
async fn events_can_be_switched_off() {
    let emu = start().await;
    let client = emu.sdk_client();
    emu.set_events_enabled(false);
    create(&client, "Silent").await;
    assert!(emu.events().is_empty());
    emu.set_events_enabled(true);
    create(&client, "Loud").await;
    assert_eq!(emu.events().len(), 1);
    emu.clear_events();
    assert!(emu.events().is_empty());
}
