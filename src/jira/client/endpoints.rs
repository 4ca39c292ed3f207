//! The Jira REST endpoints the service calls: the [`JiraApi`] implementation.

use super::{json::*, *};

#[async_trait]
impl JiraApi for JiraClient {
    fn flavour(&self) -> Flavour {
        self.flavour
    }

    async fn myself(&self) -> Result<JiraUser, JiraError> {
        const OP: &str = "get_myself";
        let r = self
            .send(OP, || self.request(Method::GET, "/myself"))
            .await?;
        let v = self.json(OP, r).await?;
        let id = match self.flavour {
            Flavour::Cloud => str_at(&v, "/accountId"),
            Flavour::DataCenter => str_at(&v, "/name").or_else(|| str_at(&v, "/key")),
        }
        .ok_or_else(|| unexpected(OP, "accountId/name"))?;
        Ok(JiraUser {
            id,
            display_name: str_at(&v, "/displayName"),
        })
    }

    async fn create_issue(&self, issue: &NewIssue) -> Result<IssueIds, JiraError> {
        const OP: &str = "create_issue";
        let mut fields = json!({
            "project": {"key": issue.project_key},
            "issuetype": issue_type_json(&issue.issue_type),
            "summary": issue.summary,
            "description": self.rich(&issue.description),
            "labels": issue.labels,
        });
        for (id, value) in &issue.custom_fields {
            fields[id] = value.clone();
        }
        let mut body = json!({ "fields": fields });
        // Both create endpoints take entity properties beside the fields, so an issue is never
        // seen without them and tagging it costs no second call: Cloud's `POST /rest/api/3/issue`
        // body (`IssueUpdateDetails`) has "properties: Details of issue properties to be add or
        // update", an array of `EntityProperty {key, value}`; Data Center's `POST
        // /rest/api/2/issue` body (`IssueUpdateBean`) has `properties: EntityPropertyBean[]`.
        // Limits as for `PUT …/properties/{key}`: key ≤ 255 characters, value JSON ≤ 32 KB
        // (developer.atlassian.com/server/jira/platform/entity-properties).
        if !issue.properties.is_empty() {
            let properties: Vec<Value> = issue
                .properties
                .iter()
                .map(|(key, value)| json!({"key": key, "value": value}))
                .collect();
            body["properties"] = Value::Array(properties);
        }
        let r = self
            .send(OP, || self.request(Method::POST, "/issue").json(&body))
            .await?;
        let v = self.json(OP, r).await?;
        Ok(IssueIds {
            id: str_at(&v, "/id").ok_or_else(|| unexpected(OP, "id"))?,
            key: str_at(&v, "/key").ok_or_else(|| unexpected(OP, "key"))?,
        })
    }

    async fn edit_issue(&self, key: &str, edit: &IssueEdit) -> Result<(), JiraError> {
        const OP: &str = "edit_issue";
        if edit.is_empty() {
            return Ok(());
        }
        let mut fields = serde_json::Map::new();
        if let Some(summary) = &edit.summary {
            fields.insert("summary".into(), json!(summary));
        }
        if let Some(description) = &edit.description {
            fields.insert("description".into(), self.rich(description));
        }
        for (id, value) in &edit.custom_fields {
            fields.insert(id.clone(), value.clone());
        }
        let mut body = json!({ "fields": fields });
        if !edit.add_labels.is_empty() {
            let adds: Vec<Value> = edit.add_labels.iter().map(|l| json!({"add": l})).collect();
            body["update"] = json!({ "labels": adds });
        }
        let path = format!("/issue/{key}");
        self.send(OP, || self.request(Method::PUT, &path).json(&body))
            .await?;
        Ok(())
    }

    async fn issue(&self, key: &str) -> Result<IssueSnapshot, JiraError> {
        const OP: &str = "get_issue";
        let v = self
            .get_issue(key, &[("fields", "status,labels,attachment".into())])
            .await?;
        Ok(IssueSnapshot {
            id: str_at(&v, "/id").ok_or_else(|| unexpected(OP, "id"))?,
            key: str_at(&v, "/key").ok_or_else(|| unexpected(OP, "key"))?,
            status: str_at(&v, "/fields/status/name").unwrap_or_default(),
            labels: v
                .pointer("/fields/labels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            attachments: attachments(&v),
        })
    }

    async fn issue_detail(&self, key: &str) -> Result<IssueDetail, JiraError> {
        const OP: &str = "get_issue";
        let fields = "summary,description,status,resolution,labels,project,issuetype,priority,\
                      created,updated,attachment";
        let v = self.get_issue(key, &[("fields", fields.into())]).await?;
        let issue =
            crate::event::jira::issue_from_rest(&v).map_err(|e| JiraError::client(OP, None, e))?;
        Ok(IssueDetail {
            issue,
            resolution: str_at(&v, "/fields/resolution/name"),
            attachments: attachments(&v),
        })
    }

    async fn search(&self, jql: &str) -> Result<Vec<IssueIds>, JiraError> {
        const OP: &str = "search_issues";
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        let mut start_at = 0usize;
        // Bounded: a search for one case's label matches a handful of issues at most.
        for _ in 0..50 {
            let v = match self.flavour {
                Flavour::Cloud => {
                    let r = self
                        .send(OP, || {
                            let mut q = vec![
                                ("jql", jql.to_owned()),
                                ("fields", "key".to_owned()),
                                ("maxResults", "100".to_owned()),
                            ];
                            if let Some(t) = &token {
                                q.push(("nextPageToken", t.clone()));
                            }
                            self.request_q(Method::GET, "/search/jql", &q)
                        })
                        .await?;
                    self.json(OP, r).await?
                }
                Flavour::DataCenter => {
                    let r = self
                        .send(OP, || {
                            self.request_q(
                                Method::GET,
                                "/search",
                                &[
                                    ("jql", jql.to_owned()),
                                    ("fields", "key".to_owned()),
                                    ("maxResults", "100".to_owned()),
                                    ("startAt", start_at.to_string()),
                                ],
                            )
                        })
                        .await?;
                    self.json(OP, r).await?
                }
            };
            let issues = v.get("issues").and_then(Value::as_array).cloned();
            let page: Vec<IssueIds> = issues
                .iter()
                .flatten()
                .filter_map(|i| {
                    Some(IssueIds {
                        id: str_at(i, "/id")?,
                        key: str_at(i, "/key")?,
                    })
                })
                .collect();
            let n = page.len();
            found.extend(page);
            let more = match self.flavour {
                Flavour::Cloud => {
                    token = str_at(&v, "/nextPageToken");
                    !v.get("isLast").and_then(Value::as_bool).unwrap_or(true) && token.is_some()
                }
                Flavour::DataCenter => {
                    start_at += n;
                    let total = v.get("total").and_then(Value::as_u64).unwrap_or(0) as usize;
                    n > 0 && start_at < total
                }
            };
            if !more {
                break;
            }
        }
        found.sort_by_key(|i| i.id.parse::<u64>().unwrap_or(u64::MAX));
        Ok(found)
    }

    async fn transitions(&self, key: &str) -> Result<Vec<Transition>, JiraError> {
        const OP: &str = "get_transitions";
        let path = format!("/issue/{key}/transitions");
        let r = self
            .send(OP, || {
                self.request_q(
                    Method::GET,
                    &path,
                    &[("expand", "transitions.fields".into())],
                )
            })
            .await?;
        let v = self.json(OP, r).await?;
        Ok(transitions(&v))
    }

    async fn status_changed_at(
        &self,
        key: &str,
    ) -> Result<Option<time::OffsetDateTime>, JiraError> {
        let v = self
            .get_issue(
                key,
                &[("fields", "status".into()), ("expand", "changelog".into())],
            )
            .await?;
        // Jira lists the most recent changes first.
        let histories = v.pointer("/changelog/histories").and_then(Value::as_array);
        Ok(histories
            .into_iter()
            .flatten()
            .find(|h| {
                h.get("items")
                    .and_then(Value::as_array)
                    .is_some_and(|items| items.iter().any(|i| i["field"] == "status"))
            })
            .and_then(|h| h.get("created").and_then(Value::as_str))
            .and_then(crate::jira::api::parse_time))
    }

    async fn position(&self, key: &str) -> Result<Position, JiraError> {
        let query = [
            ("fields", "status".into()),
            ("expand", "transitions.fields".into()),
        ];
        let v = self.get_issue(key, &query).await?;
        Ok(Position {
            status: str_at(&v, "/fields/status/name")
                .ok_or_else(|| unexpected("get_issue", "status"))?,
            transitions: transitions(&v),
        })
    }

    async fn transition(
        &self,
        key: &str,
        transition_id: &str,
        resolution: Option<&str>,
    ) -> Result<(), JiraError> {
        const OP: &str = "transition_issue";
        let mut body = json!({"transition": {"id": transition_id}});
        if let Some(name) = resolution {
            body["fields"] = json!({"resolution": {"name": name}});
        }
        let path = format!("/issue/{key}/transitions");
        self.send(OP, || self.request(Method::POST, &path).json(&body))
            .await?;
        Ok(())
    }

    async fn comments(&self, key: &str) -> Result<Vec<JiraComment>, JiraError> {
        Ok(self
            .comment_values(key)
            .await?
            .iter()
            .filter_map(|c| {
                let body = c.get("body")?;
                Some(JiraComment {
                    id: str_at(c, "/id")?,
                    text: match body {
                        Value::String(s) => s.clone(),
                        other => adf::to_text(other),
                    },
                    author: str_at(c, "/author/accountId").or_else(|| str_at(c, "/author/name")),
                })
            })
            .collect())
    }

    async fn comment_events(&self, key: &str) -> Result<Vec<CommentEvent>, JiraError> {
        let issue = json!({ "key": key });
        Ok(self
            .comment_values(key)
            .await?
            .iter()
            .filter_map(|c| comment_from_rest(&issue, c).ok())
            .collect())
    }

    async fn search_page(
        &self,
        jql: &str,
        cursor: Option<&SearchCursor>,
    ) -> Result<SearchPage, JiraError> {
        const OP: &str = "search_issues";
        let mut query = vec![
            ("jql", jql.to_owned()),
            ("fields", SEARCH_FIELDS.to_owned()),
            ("maxResults", "100".to_owned()),
        ];
        let (path, start_at) = match self.flavour {
            Flavour::Cloud => {
                if let Some(SearchCursor::Token(t)) = cursor {
                    query.push(("nextPageToken", t.clone()));
                }
                ("/search/jql", 0)
            }
            Flavour::DataCenter => {
                let start_at = match cursor {
                    Some(SearchCursor::StartAt(n)) => *n,
                    _ => 0,
                };
                query.push(("startAt", start_at.to_string()));
                ("/search", start_at)
            }
        };
        let r = self
            .send(OP, || self.request_q(Method::GET, path, &query))
            .await?;
        let v = self.json(OP, r).await?;
        let mut issues = Vec::new();
        for found in v
            .get("issues")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let issue = crate::event::jira::issue_from_rest(found)
                .map_err(|e| JiraError::client(OP, None, e))?;
            let listed = found
                .pointer("/fields/comment/comments")
                .and_then(Value::as_array);
            let comments: Vec<CommentEvent> = listed
                .into_iter()
                .flatten()
                .filter_map(|c| comment_from_rest(found, c).ok())
                .collect();
            let total = found
                .pointer("/fields/comment/total")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            issues.push(FoundIssue {
                comments_complete: listed.is_some() && total <= comments.len() as u64,
                comments,
                detail: IssueDetail {
                    issue,
                    resolution: str_at(found, "/fields/resolution/name"),
                    attachments: attachments(found),
                },
            });
        }
        let next = match self.flavour {
            Flavour::Cloud => str_at(&v, "/nextPageToken")
                .filter(|_| !v.get("isLast").and_then(Value::as_bool).unwrap_or(true))
                .map(SearchCursor::Token),
            Flavour::DataCenter => {
                let seen = start_at + issues.len() as u64;
                let total = v.get("total").and_then(Value::as_u64).unwrap_or(0);
                (!issues.is_empty() && seen < total).then_some(SearchCursor::StartAt(seen))
            }
        };
        Ok(SearchPage { issues, next })
    }

    async fn add_comment(&self, key: &str, body: &Value) -> Result<String, JiraError> {
        const OP: &str = "add_comment";
        let payload = json!({"body": self.rich(body)});
        let path = format!("/issue/{key}/comment");
        let r = self
            .send(OP, || self.request(Method::POST, &path).json(&payload))
            .await?;
        let v = self.json(OP, r).await?;
        str_at(&v, "/id").ok_or_else(|| unexpected(OP, "id"))
    }

    async fn update_comment(&self, key: &str, id: &str, body: &Value) -> Result<(), JiraError> {
        const OP: &str = "update_comment";
        let payload = json!({"body": self.rich(body)});
        let path = format!("/issue/{key}/comment/{id}");
        self.send(OP, || self.request(Method::PUT, &path).json(&payload))
            .await?;
        Ok(())
    }

    async fn add_attachment(
        &self,
        key: &str,
        file_name: &str,
        content_type: &str,
        bytes: Bytes,
    ) -> Result<Vec<JiraAttachment>, JiraError> {
        const OP: &str = "add_attachment";
        let (form_type, body) = multipart(file_name, content_type, &bytes);
        let path = format!("/issue/{key}/attachments");
        let r = self
            .send(OP, || {
                self.request(Method::POST, &path)
                    // Without it Jira answers 403 "XSRF check failed".
                    .header("X-Atlassian-Token", "no-check")
                    .header(header::CONTENT_TYPE, form_type.clone())
                    .body(body.clone())
            })
            .await?;
        let v = self.json(OP, r).await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(attachment)
            .collect())
    }

    async fn download_attachment(
        &self,
        attachment: &JiraAttachment,
        max_bytes: u64,
    ) -> Result<Option<Bytes>, JiraError> {
        const OP: &str = "download_attachment";
        if attachment.size > max_bytes {
            return Ok(None);
        }
        // Cloud answers with a redirect to its media host (followed, without our credentials);
        // Data Center serves the file at its own path outside the REST API.
        let url = match self.flavour {
            Flavour::Cloud => self.url(&format!("/attachment/content/{}", attachment.id)),
            Flavour::DataCenter => format!(
                "{}/secure/attachment/{}/{}",
                self.base,
                attachment.id,
                url::form_urlencoded::byte_serialize(attachment.filename.as_bytes())
                    .collect::<String>()
            ),
        };
        let mut response = self
            .send(OP, || self.http.request(Method::GET, &url))
            .await?;
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Ok(None);
        }
        let mut buf = bytes::BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| JiraError::Unavailable {
            operation: OP,
            message: transport_message(&e),
        })? {
            buf.extend_from_slice(&chunk);
            if buf.len() as u64 > max_bytes {
                return Ok(None);
            }
        }
        Ok(Some(buf.freeze()))
    }

    async fn set_issue_property(
        &self,
        key: &str,
        property: &str,
        value: &Value,
    ) -> Result<(), JiraError> {
        const OP: &str = "set_issue_property";
        let path = format!("/issue/{key}/properties/{property}");
        self.send(OP, || self.request(Method::PUT, &path).json(value))
            .await?;
        Ok(())
    }

    async fn issue_property(&self, key: &str, property: &str) -> Result<Option<Value>, JiraError> {
        const OP: &str = "get_issue_property";
        let path = format!("/issue/{key}/properties/{property}");
        match self.send(OP, || self.request(Method::GET, &path)).await {
            Ok(r) => Ok(self.json(OP, r).await?.get("value").cloned()),
            Err(JiraError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
