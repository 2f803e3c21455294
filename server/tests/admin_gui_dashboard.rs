//! The dashboard's live figures: traffic per service from gluu-metrics (server errors counted apart), and
//! the OpenID Providers the configuration names with whether they answer.

mod support;

use reqwest::Method;
use serde_json::json;
use support::op::Op;
use support::{Gatehouse, admin, echo, free_port, service, until};

#[tokio::test]
async fn the_dashboard_shows_traffic_per_service_and_the_ops_in_use() {
    let op = Op::start(&[]);
    let (node, _dir) = Gatehouse::start(&["--admin_gui_op_host", &op.issuer, "--admin_gui_required_claim", "x=y"]);
    let html = support::gui::signed_in_page(&node, "/").await;
    assert!(html.contains("No request counted yet"), "gluu-metrics is off: {html}");

    admin(&node, Method::POST, "/plugins", json!({"name": "gluu-metrics"})).await;
    let upstream = echo::start().await;
    service(&node, "billing", json!({"url": format!("http://{upstream}")})).await;
    service(&node, "broken", json!({"url": format!("http://{}", free_port())})).await;
    until(&node, "/billing", 200).await;
    until(&node, "/broken", 502).await;
    for _ in 0..4 {
        reqwest::get(format!("http://{}/billing", node.proxy_http)).await.unwrap();
    }

    let html = support::gui::signed_in_page(&node, "/").await;
    let row = |service: &str| {
        let start =
            html.find(&format!("<tr data-service=\"{service}\">")).unwrap_or_else(|| panic!("{service}: {html}"));
        html[start..start + html[start..].find("</tr>").unwrap()].to_string()
    };
    assert!(row("billing").contains("<td class=\"errors\">0</td>"), "{}", row("billing"));
    assert!(!row("billing").contains("<td class=\"requests\">0</td>"));
    assert!(!row("broken").contains("<td class=\"errors\">0</td>"), "502s are server errors: {}", row("broken"));
    let op_line = html.find(&format!("data-op=\"{}\"", op.issuer)).map(|at| &html[at..at + 300]).unwrap_or_default();
    assert!(op_line.contains("reachable") && op_line.contains("admin UI sign-in"), "{html}");
    assert!(html.contains("Embedded oxd module: running"));
}
