//! Admins signing in to the UI with OpenID Connect at the real OP of `end2end/op`, through the embedded oxd
//! module: one OP client registered for the UI, the code flow bound to the browser that started it, the
//! required claim enforced, and sign-out at the OP.

mod support;

use support::Gatehouse;
use support::gui::{client, csrf_in};
use support::op::Op;
use support::oxd_api::browse;

fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

fn start(op: &Op) -> (Gatehouse, tempfile::TempDir) {
    Gatehouse::start(&["--admin_gui_op_host", &op.issuer, "--admin_gui_required_claim", "email=alice@example.com"])
}

/// The browser's cookie jar after a sign-in at the OP as `user`, and the callback URL the OP sent it to.
async fn through_the_op(node: &Gatehouse, op: &Op, user: &str) -> (Vec<String>, String) {
    let mut jar = Vec::new();
    let (status, authorize) = browse(&mut jar, &node.gui_url("/login/oidc?next=%2Fservices"), None).await;
    assert_eq!(status, 303);
    assert!(authorize.starts_with(&format!("{}/auth?", op.issuer)), "{authorize}");
    assert!(authorize.contains("code_challenge_method=S256"), "PKCE: {authorize}");
    let callback = op.sign_in(&mut jar, &authorize, user, &node.gui_url("/login/callback")).await;
    (jar, callback)
}

#[tokio::test]
async fn an_admin_the_op_names_signs_in_and_signing_out_ends_the_op_session_too() {
    let op = Op::start(&[]);
    let (node, _dir) = start(&op);
    let page = client().get(node.gui_url("/")).send().await.unwrap();
    assert!(location(&page).starts_with("/login?next="), "with an OP there is no setup token: sign in");
    assert!(support::gui::setup_token(&node).is_none());
    let login = client().get(node.gui_url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(login.contains("Sign in with the OpenID Provider"), "{login}");

    let (mut jar, callback) = through_the_op(&node, &op, "alice").await;
    let (status, _) = browse(&mut jar, &callback, None).await;
    assert_eq!(status, 200, "the callback page hops to the asked-for page from this site");
    let session = jar.iter().find(|c| c.starts_with("gatehouse_session=")).expect("a session cookie").clone();
    let html = client().get(node.gui_url("/services")).header("cookie", &session).send().await.unwrap();
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    assert!(html.contains("<span class=\"who\">alice@example.com</span>"), "{html}");
    assert_eq!(op.stats().await["registration"], 1);

    let csrf = csrf_in(&html).unwrap();
    let out = client()
        .post(node.gui_url("/logout"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let end_session = location(&out);
    assert!(end_session.starts_with(&format!("{}/session/end?", op.issuer)), "RP-initiated logout: {end_session}");
    assert!(end_session.contains("id_token_hint="), "{end_session}");
    let after = client().get(node.gui_url("/")).header("cookie", &session).send().await.unwrap();
    assert_eq!(after.status(), 303, "the session is over on the gateway");

    // A second sign-in reuses the UI's OP client.
    let (mut jar, callback) = through_the_op(&node, &op, "alice").await;
    assert_eq!(browse(&mut jar, &callback, None).await.0, 200);
    assert_eq!(op.stats().await["registration"], 1, "one OP client for the UI");
}

#[tokio::test]
async fn someone_without_the_required_claim_or_another_browsers_code_is_refused() {
    let op = Op::start(&[]);
    let (node, _dir) = start(&op);
    let (mut jar, callback) = through_the_op(&node, &op, "mallory").await;
    let (status, refused) = browse(&mut jar, &callback, None).await;
    assert_eq!((status, refused.as_str()), (303, "/login?error=forbidden"));
    assert!(!jar.iter().any(|c| c.starts_with("gatehouse_session=") && c.len() > "gatehouse_session=".len()));

    // Alice's code, delivered to a browser that did not start her sign-in (no state cookie): refused.
    let (_alice_jar, callback) = through_the_op(&node, &op, "alice").await;
    let (status, refused) = browse(&mut Vec::new(), &callback, None).await;
    assert_eq!((status, refused.as_str()), (303, "/login?error=oidc"));
}
