//! Signing in to a node's admin UI as a browser does: the first-start setup with the setup token from the
//! prefix (or a sign-in when an administrator exists), then the session cookie and the page's CSRF token.

use reqwest::redirect::Policy;

use super::Gatehouse;

pub const USERNAME: &str = "admin";
pub const PASSWORD: &str = "a long test password";

/// A signed-in admin UI session.
pub struct GuiSession {
    pub cookie: String,
    pub csrf: String,
}

/// A client that shows redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// The setup token the node keeps in its prefix while no administrator exists.
pub fn setup_token(node: &Gatehouse) -> Option<String> {
    std::fs::read_to_string(node.prefix.join("admin_setup_token")).ok().map(|t| t.trim().to_string())
}

/// The session cookie (`name=value`) a form post answered with.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("gatehouse_session=") && !v.starts_with("gatehouse_session=;"))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// The content of `<meta name="csrf-token">` in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf-token\"")?;
    let tag_start = html[..at].rfind('<')?;
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>')?];
    let content = tag.split("content=\"").nth(1)?;
    Some(content[..content.find('"')?].to_string())
}

/// `gatehouse admin create` on the node's prefix, the password on standard input; its output.
pub fn admin_create(node: &Gatehouse, username: &str, password: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(super::binary())
        .args(["admin", "create", "--username", username, "--prefix"])
        .arg(&node.prefix)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

/// `gatehouse admin create`, which must succeed.
pub fn create_admin(node: &Gatehouse, username: &str, password: &str) {
    let output = admin_create(node, username, password);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Signs in (creating the first administrator on a fresh node) and reads the session's CSRF token.
pub async fn sign_in(node: &Gatehouse) -> GuiSession {
    let client = client();
    let response = match setup_token(node) {
        Some(token) => {
            let form =
                [("token", token.as_str()), ("username", USERNAME), ("password", PASSWORD), ("confirm", PASSWORD)];
            client.post(node.gui_url("/setup")).form(&form).send().await.unwrap()
        }
        None => {
            let form = [("username", USERNAME), ("password", PASSWORD), ("next", "/")];
            let first = client.post(node.gui_url("/login")).form(&form).send().await.unwrap();
            if session_cookie(&first).is_some() {
                first
            } else {
                // No setup token (an OP signs admins in): a local administrator from the CLI.
                create_admin(node, USERNAME, PASSWORD);
                client.post(node.gui_url("/login")).form(&form).send().await.unwrap()
            }
        }
    };
    assert_eq!(response.status(), 303);
    let cookie = session_cookie(&response).expect("a signed-in answer sets the session cookie");
    let page = client.get(node.gui_url("/")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csrf = csrf_in(&page.text().await.unwrap()).expect("a signed-in page carries the CSRF token");
    GuiSession { cookie, csrf }
}

impl GuiSession {
    /// A request with the session's cookie and CSRF token, as the UI's own code sends it.
    pub fn post(&self, node: &Gatehouse, path: &str) -> reqwest::RequestBuilder {
        client().post(node.gui_url(path)).header("cookie", &self.cookie).header("x-csrf-token", &self.csrf)
    }

    /// A page as the signed-in browser gets it: its status and HTML.
    pub async fn page(&self, node: &Gatehouse, path: &str) -> (u16, String) {
        let response = client().get(node.gui_url(path)).header("cookie", &self.cookie).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

/// A page of the admin UI, signed in first.
pub async fn signed_in_page(node: &Gatehouse, path: &str) -> String {
    let (status, html) = sign_in(node).await.page(node, path).await;
    assert_eq!(status, 200, "{path}: {html}");
    html
}
