//! The sign-in pages: `/login` (a local administrator's username and password) and `/setup` (the first
//! administrator, with the node's one-time setup token). Plain HTML forms posted to the server, which answers
//! with a redirect: they work before the page hydrates and without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The message for a `?error=` the server's form handlers redirect with.
fn problem(code: &str) -> &'static str {
    match code {
        "invalid" => "Wrong username or password.",
        "throttled" => "Too many wrong passwords: wait 15 minutes before trying again.",
        "token" => "That is not this node's setup token (it is in the node's log and in <prefix>/admin_setup_token).",
        "username" => "A username is 1 to 64 letters, digits and . _ - @.",
        "short" => "A password has at least 12 characters.",
        "confirm" => "The two passwords differ.",
        "oidc" => "Sign-in at the OpenID Provider did not complete; try again.",
        "forbidden" => "The OpenID Provider signed you in, but you are not an administrator of this gateway.",
        _ => "The sign-in store cannot be reached right now; try again.",
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error").map(|code| problem(&code));
    let next = move || query.read().get("next").unwrap_or_default();
    let oidc = crate::session::sign_in_options().oidc;
    let oidc_href = move || format!("/login/oidc?next={}", super::entity_list::encode(&next()));
    view! {
        <section class="sign-in">
            <form class="panel" method="post" action="/login">
                <h1>"Sign in"</h1>
                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                {oidc.then(|| view! {
                    <a class="button oidc" rel="external" href=oidc_href>"Sign in with the OpenID Provider"</a>
                    <p class="hint">"Or as a local administrator:"</p>
                })}
                <input type="hidden" name="next" prop:value=next/>
                <div class="field">
                    <label for="username">"Username"</label>
                    <input id="username" name="username" autocomplete="username" required autofocus/>
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required/>
                </div>
                <div class="actions"><button type="submit">"Sign in"</button></div>
            </form>
        </section>
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error").map(|code| problem(&code));
    view! {
        <section class="sign-in">
            <form class="panel" method="post" action="/setup">
                <h1>"Create the first administrator"</h1>
                <p>
                    "This node has no administrator yet. Its log shows a one-time setup token (also in "
                    <code>"<prefix>/admin_setup_token"</code>", readable only by the user Gatehouse runs as); enter it to create one."
                </p>
                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                <div class="field">
                    <label for="token">"Setup token"</label>
                    <input id="token" name="token" autocomplete="off" required/>
                </div>
                <div class="field">
                    <label for="username">"Username"</label>
                    <input id="username" name="username" autocomplete="username" required/>
                </div>
                <div class="field">
                    <label for="password">"Password " <span class="hint">"(at least 12 characters)"</span></label>
                    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="12"/>
                </div>
                <div class="field">
                    <label for="confirm">"Password again"</label>
                    <input id="confirm" name="confirm" type="password" autocomplete="new-password" required minlength="12"/>
                </div>
                <div class="actions"><button type="submit">"Create and sign in"</button></div>
            </form>
        </section>
    }
}
