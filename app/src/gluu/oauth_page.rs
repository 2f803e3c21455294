//! GG UI's "OAuth" page for a service, a route or global: gluu-oauth-auth and gluu-oauth-pep with one OP client.
//! The form is a plain HTML form (it posts without JavaScript); hydrated, it saves in place and shows a new
//! client's secret once.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::document::DocumentEditor;
use super::headers::HeadersEditor;
use super::oauth::{DeleteOauth, OAuthSettings, PluginScope, SaveOauth, get_oauth};

/// `kind` is `services`, `routes` or `global`; the id comes from the URL.
#[component]
pub fn OAuthPage(kind: &'static str) -> impl IntoView {
    let params = use_params_map();
    let scope = move || match kind {
        "global" => "global".to_string(),
        _ => format!("{kind}/{}", params.read().get("id").unwrap_or_default()),
    };
    let save = ServerAction::<SaveOauth>::new();
    let delete = ServerAction::<DeleteOauth>::new();
    let settings = Resource::new(
        move || (scope(), save.version().get(), delete.version().get()),
        |(scope, _, _)| get_oauth(scope),
    );
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let title = move || PluginScope::parse(&scope()).map(|s| s.label()).unwrap_or_default();

    view! {
        <section class="gluu-oauth" data-hydrated=move || hydrated.get().to_string()>
            <h1>"OAuth — " {title}</h1>
            {(kind == "global").then(|| view! { <super::metrics::MetricsToggle/> })}
            {move || {
                save.value().get().map(|outcome| match outcome {
                    Ok(saved) => view! { <SavedNotice saved/> }.into_any(),
                    Err(error) => view! { <p class="error save-error" role="alert">{error.to_string()}</p> }.into_any(),
                })
            }}
            {move || {
                delete.value().get().and_then(Result::err).map(|error| {
                    view! { <p class="error" role="alert">{error.to_string()}</p> }
                })
            }}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(current) => view! { <OAuthForm current save delete/> }.into_any(),
                        Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Shown after a save; the secret only when this save registered the client.
#[component]
fn SavedNotice(saved: super::oauth::Saved) -> impl IntoView {
    let client_id = saved.settings.client_id.clone();
    view! {
        <div class="notice" role="status">
            <p>"Saved."</p>
            {saved.new_client_secret.map(|secret| {
                view! {
                    <p>"OP client registered. Copy its secret now: it is not shown again."</p>
                    <dl class="new-client">
                        <dt>"Client ID"</dt>
                        <dd class="new-client-id"><code>{client_id}</code></dd>
                        <dt>"Client secret"</dt>
                        <dd class="new-client-secret"><code>{secret}</code></dd>
                    </dl>
                }
            })}
        </div>
    }
}

#[component]
fn OAuthForm(
    current: OAuthSettings,
    save: ServerAction<SaveOauth>,
    delete: ServerAction<DeleteOauth>,
) -> impl IntoView {
    let document = RwSignal::new(current.oauth_scope_expression.clone());
    let headers = RwSignal::new(current.custom_headers.clone());
    let has_client = !current.oxd_id.is_empty();
    let new_scope = current.scope.clone();
    let pass = current.pass_credentials.clone();
    let pep_on = current.pep_attached || !current.auth_attached;
    view! {
        <ActionForm action=save attr:class="oauth-form">
            <input type="hidden" name="scope" value=current.scope.clone()/>
            <fieldset class="client">
                <legend>"OP client"</legend>
                {if has_client {
                    view! {
                        <p>
                            "Client ID " <code class="client-id">{current.client_id.clone()}</code>
                            " (oxd id " <code>{current.oxd_id.clone()}</code> ") at " <code>{current.op_url.clone()}</code>
                        </p>
                        <input type="hidden" name="op_url" value=current.op_url.clone()/>
                        <input type="hidden" name="oxd_url" value=current.oxd_url.clone()/>
                        <p>"To change the client at the OP (oxd update-site), give a new redirect URI or scopes; empty keeps them."</p>
                        <label for="redirect_uri">"New redirect URI"</label>
                        <input id="redirect_uri" name="redirect_uri" type="url"/>
                        <label for="client_scopes">"New client scopes"</label>
                        <input id="client_scopes" name="client_scopes" type="text" placeholder="admin, employee"/>
                    }
                        .into_any()
                } else {
                    view! {
                        <p>"No OP client yet: saving registers one at the OP (oxd register-site)."</p>
                        <label for="op_url">"OP URL"</label>
                        <input id="op_url" name="op_url" type="url" required placeholder="https://op.example.com"/>
                        <label for="oxd_url">"oxd URL"</label>
                        <input id="oxd_url" name="oxd_url" type="url" required value=current.oxd_url.clone()/>
                        <label for="redirect_uri">"Client redirect URI"</label>
                        <input id="redirect_uri" name="redirect_uri" type="url" placeholder="defaults to the oxd URL"/>
                        <label for="client_scopes">"Client scopes"</label>
                        <input id="client_scopes" name="client_scopes" type="text" placeholder="admin, employee"/>
                    }
                        .into_any()
                }}
            </fieldset>
            <fieldset class="auth">
                <legend>"gluu-oauth-auth"</legend>
                <label for="anonymous">"Anonymous consumer id"</label>
                <input id="anonymous" name="anonymous" type="text" value=current.anonymous.clone()/>
                <label for="pass_credentials">"Pass credentials"</label>
                <select id="pass_credentials" name="pass_credentials">
                    {["pass", "hide", "phantom_token"]
                        .into_iter()
                        .map(|v| view! { <option value=v selected=pass == v>{v}</option> })
                        .collect_view()}
                </select>
                <input id="consumer_mapping" name="consumer_mapping" type="checkbox" value="on"
                    checked=current.consumer_mapping/>
                <label for="consumer_mapping">"Consumer mapping (client id = consumer custom_id)"</label>
                <label for="jwt_audience">"JWT audience"</label>
                <input id="jwt_audience" name="jwt_audience" type="text" value=current.jwt_audience.clone()/>
                <HeadersEditor rows=headers/>
            </fieldset>
            <fieldset class="pep">
                <legend>"gluu-oauth-pep"</legend>
                <input id="pep" name="pep" type="checkbox" value="on" checked=pep_on/>
                <label for="pep">"Authorize by scope expressions (gluu-oauth-pep)"</label>
                <input id="deny_by_default" name="deny_by_default" type="checkbox" value="on"
                    checked=current.deny_by_default/>
                <label for="deny_by_default">"Deny paths the document does not name (deny_by_default)"</label>
                <DocumentEditor document/>
            </fieldset>
            <button type="submit" class="save">"Save"</button>
        </ActionForm>
        {(current.auth_attached || current.pep_attached).then(|| {
            view! {
                <ActionForm action=delete attr:class="delete-form">
                    <input type="hidden" name="scope" value=new_scope/>
                    <button type="submit" class="danger">"Remove OAuth and its OP client"</button>
                </ActionForm>
            }
        })}
    }
}
