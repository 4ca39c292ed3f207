use jira_emulator::EmulatorConfig;
use reqwest::multipart::{Form, Part};

use crate::helpers::*;

async fn upload(client: &Client, key: &str, token: Option<&str>, bytes: Vec<u8>) -> Resp {
    let part = Part::bytes(bytes)
        .file_name("trail.json")
        .mime_str("application/json")
        .unwrap();
    let mut req = client
        .http
        .post(format!(
            "{}/rest/api/3/issue/{key}/attachments",
            client.base
        ))
        .header("authorization", client.auth.clone().unwrap())
        .multipart(Form::new().part("file", part));
    if let Some(t) = token {
        req = req.header("x-atlassian-token", t);
    }
    finish(req.send().await.unwrap()).await
}

#[tokio::test]
async fn uploads_need_the_xsrf_token_and_respect_the_size_limit() {
    let (jira, client) = start().await;
    let key = client.create("evidence", &[]).await;
    let refused = upload(&client, &key, None, b"{}".to_vec()).await;
    assert_eq!(refused.status, 403);
    assert_eq!(&refused.bytes[..], b"XSRF check failed");

    jira.set_limits(|l| l.max_attachment_bytes = 1024);
    let too_big = upload(&client, &key, Some("no-check"), vec![b'x'; 4096]).await;
    assert_eq!(too_big.status, 413);
    assert!(jira.attachments(&key).is_empty());

    let ok = upload(
        &client,
        &key,
        Some("no-check"),
        br#"{"event":"ConsoleLogin"}"#.to_vec(),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let list = ok.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["filename"], "trail.json");
    assert_eq!(list[0]["size"], 24);
    assert_eq!(list[0]["mimeType"], "application/json");
    let stored = jira.attachments(&key);
    assert_eq!(&stored[0].content[..], br#"{"event":"ConsoleLogin"}"#);
    assert_eq!(
        upload(&client, "SEC-404", Some("no-check"), b"x".to_vec())
            .await
            .status,
        404
    );
    let issue = client
        .get(&format!("/rest/api/3/issue/{key}?fields=attachment"))
        .await;
    assert_eq!(issue.body["fields"]["attachment"][0]["id"], list[0]["id"]);
}

#[tokio::test]
async fn content_redirects_to_a_signed_media_url() {
    let (_jira, client) = start().await;
    let key = client.create("download", &[]).await;
    let up = upload(&client, &key, Some("no-check"), b"payload".to_vec()).await;
    let id = up.body[0]["id"].as_str().unwrap().to_owned();
    let content_url = up.body[0]["content"].as_str().unwrap().to_owned();
    assert!(content_url.ends_with(&format!("/rest/api/3/attachment/content/{id}")));

    let redirect = client
        .get(&format!("/rest/api/3/attachment/content/{id}"))
        .await;
    assert_eq!(redirect.status, 303);
    let location = redirect.header("location").unwrap().to_owned();
    let media = finish(client.http.get(&location).send().await.unwrap()).await;
    assert_eq!(media.status, 200, "the media URL needs no Jira credentials");
    assert_eq!(&media.bytes[..], b"payload");
    let forged = finish(
        client
            .http
            .get(location.replace("token=", "token=0"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(forged.status, 401);

    let direct = client
        .get(&format!(
            "/rest/api/3/attachment/content/{id}?redirect=false"
        ))
        .await;
    assert_eq!(direct.status, 200);
    assert_eq!(&direct.bytes[..], b"payload");
    assert_eq!(
        client
            .get(&format!("/rest/api/3/attachment/{id}"))
            .await
            .body["filename"],
        "trail.json"
    );
    assert_eq!(
        client
            .delete(&format!("/rest/api/3/attachment/{id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        client
            .get(&format!("/rest/api/3/attachment/content/{id}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn data_center_serves_content_under_secure() {
    let (_jira, client) = start_with(EmulatorConfig::data_center()).await;
    let r = client
        .post("/rest/api/2/issue", serde_json::json!({"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Task"}, "summary": "dc"}}))
        .await;
    let key = r.body["key"].as_str().unwrap().to_owned();
    let part = Part::bytes(b"dc-bytes".to_vec()).file_name("a.txt");
    let up = finish(
        client
            .http
            .post(format!(
                "{}/rest/api/2/issue/{key}/attachments",
                client.base
            ))
            .header("authorization", client.auth.clone().unwrap())
            .header("x-atlassian-token", "no-check")
            .multipart(Form::new().part("file", part))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(up.status, 200);
    let content = up.body[0]["content"].as_str().unwrap();
    assert!(content.contains("/secure/attachment/"));
    let path = content.trim_start_matches(&client.base);
    let bytes = client.get(path).await;
    assert_eq!(&bytes.bytes[..], b"dc-bytes");
}
