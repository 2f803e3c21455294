//! Calls to a node's oxd API as a client app makes them, a browser for the OP's scripted login, and the check
//! that no secret leaked.

use serde_json::{Value, json};

use super::Gatehouse;
use super::op::Op;

/// `POST /<command>` on the node's oxd API (TLS, the node's own certificate): (status, JSON body, or the text
/// as a JSON string when it is not JSON).
pub async fn oxd(node: &Gatehouse, command: &str, body: Value, bearer: Option<&str>) -> (u16, Value) {
    let base = format!("https://localhost:{}", node.oxd.port());
    oxd_at(&node.tls_client(node.oxd), &base, command, body, bearer).await
}

/// `POST {base}/<command>` with `client`, for an oxd API on another listener.
pub async fn oxd_at(
    client: &reqwest::Client,
    base: &str,
    command: &str,
    body: Value,
    bearer: Option<&str>,
) -> (u16, Value) {
    let mut request = client.post(format!("{base}/{command}")).json(&body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// `body` with `extra`'s fields added.
pub fn with(mut body: Value, extra: Value) -> Value {
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

/// None of `secrets` is in the node's log (whatever its level) or in any of `bodies`.
pub fn assert_no_secret_leaked(node: &Gatehouse, secrets: &[&str], bodies: &[Value]) {
    let log = node.log();
    assert!(!log.is_empty(), "the node logged nothing");
    for secret in secrets {
        assert!(!log.contains(secret), "the log shows the secret {secret}:\n{log}");
        for body in bodies {
            assert!(!body.to_string().contains(secret), "an answer shows the secret {secret}: {body}");
        }
    }
}

/// A site of `op` with a bearer for its protected commands: (oxd_id, bearer).
pub async fn site_with_bearer(node: &Gatehouse, op: &Op, metadata: Value) -> (String, String) {
    let request = with(json!({"op_host": op.issuer, "redirect_uris": ["https://client.example.com/cb"]}), metadata);
    let (status, site) = oxd(node, "register-site", request, None).await;
    assert_eq!(status, 200, "{site}");
    let (_, token) = oxd(
        node,
        "get-client-token",
        json!({"op_host": op.issuer, "client_id": site["client_id"], "client_secret": site["client_secret"],
            "scope": ["oxd"]}),
        None,
    )
    .await;
    (site["oxd_id"].as_str().unwrap().to_string(), token["access_token"].as_str().unwrap().to_string())
}

/// The OP's answer to `GET`/`POST` without following redirects, keeping its cookies in `jar`: (status, Location).
pub async fn browse(jar: &mut Vec<String>, url: &str, form: Option<&[(&str, &str)]>) -> (u16, String) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut request = match form {
        Some(form) => client.post(url).form(form),
        None => client.get(url),
    };
    if !jar.is_empty() {
        request = request.header("cookie", jar.join("; "));
    }
    let response = request.send().await.unwrap();
    for cookie in response.headers().get_all("set-cookie") {
        let pair = cookie.to_str().unwrap().split(';').next().unwrap().to_string();
        let name = pair.split('=').next().unwrap().to_string();
        jar.retain(|c| !c.starts_with(&format!("{name}=")));
        jar.push(pair);
    }
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (response.status().as_u16(), location)
}

/// The value of the query parameter `name` of `url`.
pub fn query_value(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}
