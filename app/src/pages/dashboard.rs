//! The dashboard: node information and entity counts, with a refresh that works once the page is hydrated.

use leptos::prelude::*;

use crate::dashboard::{Dashboard, get_dashboard};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let refreshes = RwSignal::new(0u32);
    let dashboard = Resource::new(move || refreshes.get(), |_| get_dashboard());
    // Effects only run in the browser, so this flips once hydration has wired up the page.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <section class="dashboard" data-hydrated=move || hydrated.get().to_string()>
            <div class="page-title">
                <h1>"Dashboard"</h1>
                <button
                    type="button"
                    class="refresh"
                    disabled=move || !hydrated.get()
                    on:click=move |_| refreshes.update(|n| *n += 1)
                >
                    "Refresh"
                </button>
                <span class="refreshed" aria-live="polite">
                    {move || match refreshes.get() {
                        0 => String::new(),
                        1 => "Refreshed once".to_string(),
                        n => format!("Refreshed {n} times"),
                    }}
                </span>
            </div>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match dashboard.await {
                        Ok(data) => view! { <DashboardView data/> }.into_any(),
                        Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DashboardView(data: Dashboard) -> impl IntoView {
    let database_status = if data.database_reachable { "reachable" } else { "unreachable" };
    view! {
        <div class="cards">
            <article class="card node">
                <h2>"Node"</h2>
                <dl>
                    <dt>"Hostname"</dt>
                    <dd class="hostname">{data.hostname}</dd>
                    <dt>"Node ID"</dt>
                    <dd class="node-id"><code>{data.node_id}</code></dd>
                    <dt>"Version"</dt>
                    <dd class="version">
                        {format!("Gatehouse {} (Kong {} compatible)", data.version, data.kong_version)}
                    </dd>
                    <dt>"Database"</dt>
                    <dd class="database">{format!("{} ({database_status})", data.database)}</dd>
                    <dt>"Configuration version"</dt>
                    <dd class="config-version">{data.config_version}</dd>
                </dl>
            </article>
            <article class="card listeners">
                <h2>"Listeners"</h2>
                <table>
                    <thead><tr><th scope="col">"Setting"</th><th scope="col">"Addresses"</th></tr></thead>
                    <tbody>
                        {data
                            .listeners
                            .into_iter()
                            .map(|l| view! { <tr><td><code>{l.setting}</code></td><td>{l.addresses.join(", ")}</td></tr> })
                            .collect_view()}
                    </tbody>
                </table>
            </article>
            <article class="card traffic">
                <h2>"Traffic (this node)"</h2>
                {match data.traffic {
                    None => view! {
                        <p class="empty">
                            "No request counted yet. Traffic per service comes from gluu-metrics: turn it on in "
                            <a href="/gluu/global">"Gluu (global)"</a>"."
                        </p>
                    }.into_any(),
                    Some(services) => view! {
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Service"</th>
                                    <th scope="col">"Requests/s"</th>
                                    <th scope="col">"5xx/s"</th>
                                    <th scope="col">"Requests"</th>
                                    <th scope="col">"5xx"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {services.into_iter().map(|t| {
                                    let name = t.service.clone();
                                    view! {
                                    <tr data-service=name>
                                        <td>{t.service}</td>
                                        <td class="rate">{format!("{:.1}", t.requests_per_second)}</td>
                                        <td class="error-rate">{format!("{:.1}", t.errors_per_second)}</td>
                                        <td class="requests">{t.requests}</td>
                                        <td class="errors">{t.errors}</td>
                                    </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <p class="hint">"Rates over the last minute; totals since the node started."</p>
                    }.into_any(),
                }}
            </article>
            <article class="card providers">
                <h2>"OpenID Providers and oxd"</h2>
                <p class="oxd-status">
                    {if data.oxd_running { "Embedded oxd module: running" } else { "Embedded oxd module: off" }}
                </p>
                {data.providers.is_empty().then(|| view! { <p class="empty">"No OP is configured yet."</p> })}
                <ul>
                    {data.providers.into_iter().map(|p| {
                        let status = p.problem.clone().unwrap_or_else(|| "reachable".into());
                        let (url, problem) = (p.url.clone(), p.problem.is_some());
                        view! {
                            <li data-op=url class:problem=problem>
                                <code>{p.url}</code>" — "<span class="op-status">{status}</span>
                                <span class="hint">{format!(" ({})", p.used_by.join(", "))}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </article>
            <article class="card counts">
                <h2>"Configuration"</h2>
                <table>
                    <thead><tr><th scope="col">"Entity"</th><th scope="col">"Count"</th></tr></thead>
                    <tbody>
                        {data
                            .counts
                            .into_iter()
                            .map(|c| {
                                view! {
                                    <tr data-kind=c.kind.as_str()>
                                        <td>{c.kind.label()}</td>
                                        <td class="count">{c.count}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </article>
        </div>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::dashboard::{EntityCount, ListenerInfo};
    use proxy::model::EntityKind;

    fn sample() -> Dashboard {
        Dashboard {
            hostname: "gw-1".into(),
            node_id: "7b0d1c4e-0000-4000-8000-000000000001".into(),
            version: "0.1.0".into(),
            kong_version: "2.2.1".into(),
            started_at: 0,
            database: "postgres".into(),
            database_reachable: false,
            config_version: 42,
            listeners: vec![ListenerInfo { setting: "proxy_listen".into(), addresses: vec!["0.0.0.0:80".into()] }],
            counts: vec![EntityCount { kind: EntityKind::Snis, count: 3 }],
            traffic: Some(vec![crate::dashboard::ServiceTraffic {
                service: "billing".into(),
                requests: 10,
                errors: 2,
                requests_per_second: 1.5,
                errors_per_second: 0.3,
            }]),
            providers: vec![crate::dashboard::ProviderStatus {
                url: "https://op.example".into(),
                used_by: vec!["gluu-oauth-auth on a service".into()],
                problem: Some("no answer within 2 s".into()),
            }],
            oxd_running: true,
        }
    }

    #[test]
    fn dashboard_view_renders_node_listeners_and_counts() {
        let owner = Owner::new();
        let html = owner.with(|| view! { <DashboardView data=sample()/> }.to_html());
        assert!(html.contains(r#"<dd class="hostname">gw-1</dd>"#), "{html}");
        assert!(html.contains("postgres (unreachable)"), "{html}");
        assert!(html.contains("<code>proxy_listen</code>"), "{html}");
        assert!(html.contains(r#"<tr data-kind="snis"><td>SNIs</td><td class="count">3</td></tr>"#), "{html}");
        assert!(html.contains(r#"<dd class="config-version">42</dd>"#), "{html}");
        assert!(html.contains(r#"<td class="rate">1.5</td><td class="error-rate">0.3</td>"#), "{html}");
        assert!(html.contains("no answer within 2 s"), "{html}");
    }
}
