//! The protection-document editor (`oauth_scope_expression`, `gluu-plugins.md` §4): the JSON text is the one
//! source of truth, shown raw and as a list of paths; the builder adds a path with its methods and a scope
//! expression to it: all of / any of / none of a list of scopes, or a nested rule written with `and`, `or`,
//! `not` and parentheses (`admin and (employee or not guest)`), turned into GG's JsonLogic over a data list. Every change is checked live by the engine's own
//! parser ([`ProtectionDocument::parse`]), which shows GG's messages.

use leptos::prelude::*;
use proxy::model::gluu::ProtectionDocument;
use serde_json::{Value, json};

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// GG's message for `text`, or `None` when the document is valid (an empty one means "no document").
pub fn document_error(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    ProtectionDocument::parse(text).err().map(|e| e.to_string())
}

/// A scope expression over `scopes`: `op` is `and`, `or` or `!` (none of them).
pub fn scope_expression(op: &str, scopes: &[String]) -> Value {
    let vars: Vec<Value> = (0..scopes.len()).map(|i| json!({"var": i})).collect();
    let rule = match op {
        "or" => json!({"or": vars}),
        "!" => json!({"!": {"or": vars}}),
        _ => json!({"and": vars}),
    };
    json!({"rule": rule, "data": scopes})
}

/// The scope expression the builder's choice `op` (`and`, `or`, `!`, or `rule`) makes of `text`; `None` when
/// no scope is named (any valid token).
pub fn scope_rule(op: &str, text: &str) -> Result<Option<Value>, String> {
    if op == "rule" {
        return if text.trim().is_empty() { Ok(None) } else { parse_rule(text).map(Some) };
    }
    let scopes = crate::gluu::oauth::words(text);
    Ok((!scopes.is_empty()).then(|| scope_expression(op, &scopes)))
}

/// `admin and (employee or not guest)` as `{"rule": JsonLogic, "data": [scopes]}`: `not` binds tighter than
/// `and`, `and` tighter than `or`; each distinct scope is one `var` of `data`.
pub fn parse_rule(text: &str) -> Result<Value, String> {
    let spaced = text.replace('(', " ( ").replace(')', " ) ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut rule = RuleParser { tokens, at: 0, data: Vec::new() };
    let expression = rule.or()?;
    if let Some(extra) = rule.tokens.get(rule.at) {
        return Err(format!("unexpected '{extra}' in the scope rule"));
    }
    Ok(json!({"rule": expression, "data": rule.data}))
}

struct RuleParser<'a> {
    tokens: Vec<&'a str>,
    at: usize,
    data: Vec<String>,
}

impl<'a> RuleParser<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.tokens.get(self.at).copied()
    }

    fn is(&self, word: &str) -> bool {
        self.peek().is_some_and(|token| token.eq_ignore_ascii_case(word))
    }

    /// `a or b or …`, flattened into one `or`.
    fn or(&mut self) -> Result<Value, String> {
        let mut terms = vec![self.and()?];
        while self.is("or") {
            self.at += 1;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { json!({"or": terms}) })
    }

    fn and(&mut self) -> Result<Value, String> {
        let mut terms = vec![self.not()?];
        while self.is("and") {
            self.at += 1;
            terms.push(self.not()?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { json!({"and": terms}) })
    }

    fn not(&mut self) -> Result<Value, String> {
        if self.is("not") {
            self.at += 1;
            return Ok(json!({"!": self.not()?}));
        }
        match self.peek() {
            None => Err("the scope rule ends too early".to_string()),
            Some("(") => {
                self.at += 1;
                let inner = self.or()?;
                if self.peek() != Some(")") {
                    return Err("a '(' in the scope rule is not closed".to_string());
                }
                self.at += 1;
                Ok(inner)
            }
            Some(")") => Err("unexpected ')' in the scope rule".to_string()),
            Some(word) if ["and", "or"].iter().any(|op| word.eq_ignore_ascii_case(op)) => {
                Err(format!("a scope is missing before '{word}'"))
            }
            Some(scope) => {
                self.at += 1;
                let index = match self.data.iter().position(|known| known == scope) {
                    Some(index) => index,
                    None => {
                        self.data.push(scope.to_string());
                        self.data.len() - 1
                    }
                };
                Ok(json!({"var": index}))
            }
        }
    }
}

/// `document` with one more item; `Err` when the current text is not a JSON array.
pub fn with_item(document: &str, path: &str, methods: &[String], rule: Option<Value>) -> Result<String, String> {
    let mut items = match document.trim() {
        "" => Vec::new(),
        text => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items,
            _ => return Err("fix the JSON below before adding paths".to_string()),
        },
    };
    let mut condition = json!({"httpMethods": methods});
    if let Some(rule) = rule {
        condition["scope_expression"] = rule;
    }
    items.push(json!({"path": path, "conditions": [condition]}));
    Ok(serde_json::to_string_pretty(&Value::Array(items)).unwrap_or_default())
}

/// `document` without item `index` (unchanged when it is not an array).
pub fn without_item(document: &str, index: usize) -> String {
    match serde_json::from_str::<Value>(document) {
        Ok(Value::Array(mut items)) if index < items.len() => {
            items.remove(index);
            if items.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&Value::Array(items)).unwrap_or_default()
            }
        }
        _ => document.to_string(),
    }
}

/// One line per path of the document: the path and, per condition, its methods and scope data.
fn summaries(document: &str) -> Vec<(String, String)> {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(document) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            let conditions: Vec<String> = item["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let methods = c["httpMethods"].as_array().into_iter().flatten().filter_map(Value::as_str);
                    let methods = methods.collect::<Vec<_>>().join(" ");
                    match c.get("scope_expression") {
                        Some(expression) => format!("{methods}: {}", expression["rule"]),
                        None => format!("{methods}: any valid token"),
                    }
                })
                .collect();
            (item["path"].as_str().unwrap_or_default().to_string(), conditions.join("; "))
        })
        .collect()
}

#[component]
pub fn DocumentEditor(document: RwSignal<String>) -> impl IntoView {
    let path = RwSignal::new(String::new());
    let methods = RwSignal::new(vec!["GET".to_string()]);
    let op = RwSignal::new("and".to_string());
    let scopes = RwSignal::new(String::new());
    let builder_error = RwSignal::new(None::<String>);
    let add = move |_| {
        let p = path.get_untracked();
        if p.trim().is_empty() {
            builder_error.set(Some("Path is required".to_string()));
            return;
        }
        let rule = scope_rule(&op.get_untracked(), &scopes.get_untracked());
        match rule.and_then(|rule| with_item(&document.get_untracked(), p.trim(), &methods.get_untracked(), rule)) {
            Ok(text) => {
                document.set(text);
                builder_error.set(None);
                path.set(String::new());
                scopes.set(String::new());
            }
            Err(error) => builder_error.set(Some(error)),
        }
    };
    view! {
        <fieldset class="document">
            <legend>"Protection document (oauth_scope_expression)"</legend>
            <ul class="document-paths">
                {move || {
                    summaries(&document.get())
                        .into_iter()
                        .enumerate()
                        .map(|(index, (p, conditions))| {
                            view! {
                                <li data-path=p.clone()>
                                    <code>{p.clone()}</code>
                                    " "
                                    <span>{conditions}</span>
                                    " "
                                    <button
                                        type="button"
                                        aria-label=format!("Remove path {p}")
                                        on:click=move |_| document.update(|d| *d = without_item(d, index))
                                    >
                                        "Remove"
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <div class="builder">
                <label for="doc-path">"Path"</label>
                <input id="doc-path" type="text" placeholder="/posts/??" prop:value=move || path.get()
                    on:input=move |ev| path.set(event_target_value(&ev))/>
                <span class="methods" role="group" aria-label="HTTP methods">
                    {METHODS
                        .iter()
                        .map(|m| {
                            let m = m.to_string();
                            let id = format!("doc-method-{m}");
                            let checked = {
                                let m = m.clone();
                                move || methods.get().contains(&m)
                            };
                            let toggle = {
                                let m = m.clone();
                                move |_| methods.update(|list| {
                                    if let Some(i) = list.iter().position(|x| *x == m) {
                                        list.remove(i);
                                    } else {
                                        list.push(m.clone());
                                    }
                                })
                            };
                            view! {
                                <input id=id.clone() type="checkbox" prop:checked=checked on:change=toggle/>
                                <label for=id>{m}</label>
                            }
                        })
                        .collect_view()}
                </span>
                <label for="doc-op">"Scopes required"</label>
                <select id="doc-op" on:change=move |ev| op.set(event_target_value(&ev))>
                    <option value="and">"all of"</option>
                    <option value="or">"any of"</option>
                    <option value="!">"none of"</option>
                    <option value="rule">"rule (and, or, not, parentheses)"</option>
                </select>
                <input id="doc-scopes" type="text" aria-label="Scopes"
                    placeholder=move || if op.get() == "rule" { "admin and (employee or not guest)" } else { "admin, employee" }
                    prop:value=move || scopes.get() on:input=move |ev| scopes.set(event_target_value(&ev))/>
                <button type="button" class="add-path" on:click=add>"Add path"</button>
                <p class="error" role="alert">{move || builder_error.get()}</p>
            </div>
            <label for="oauth_scope_expression">"Document JSON"</label>
            <textarea id="oauth_scope_expression" name="oauth_scope_expression" rows="12"
                prop:value=move || document.get() on:input=move |ev| document.set(event_target_value(&ev))>
                {document.get_untracked()}
            </textarea>
            <p class="document-status" role="status">
                {move || match document_error(&document.get()) {
                    Some(error) => error,
                    None => "Valid".to_string(),
                }}
            </p>
        </fieldset>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_document_is_valid_and_removing_its_items_empties_it() {
        let doc = with_item("", "/allowed", &["GET".into()], scope_rule("and", "admin").unwrap()).unwrap();
        let doc = with_item(&doc, "/forbidden", &["GET".into()], scope_rule("and", "nobody").unwrap()).unwrap();
        assert_eq!(document_error(&doc), None);
        let parsed: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(
            parsed[0]["conditions"][0]["scope_expression"],
            json!({"rule": {"and": [{"var": 0}]}, "data": ["admin"]})
        );
        assert_eq!(without_item(&without_item(&doc, 0), 0), "");
    }

    #[test]
    fn the_engines_messages_are_shown_for_bad_documents() {
        assert_eq!(document_error("[").as_deref(), Some("Invalid JSON in expression"));
        assert_eq!(document_error("[{\"path\":\"/a\"}]").as_deref(), Some("Conditions are missing in expression"));
        assert!(with_item("{", "/a", &[], None).is_err());
    }

    #[test]
    fn nested_rules_become_json_logic_over_each_distinct_scope() {
        let rule = parse_rule("admin and (employee or not guest) or admin").unwrap();
        assert_eq!(
            rule,
            json!({"rule": {"or": [{"and": [{"var": 0}, {"or": [{"var": 1}, {"!": {"var": 2}}]}]}, {"var": 0}]},
                   "data": ["admin", "employee", "guest"]})
        );
        let doc = with_item("", "/api/??", &["GET".into()], Some(rule)).unwrap();
        assert_eq!(document_error(&doc), None, "the engine takes the nested rule: {doc}");
        assert_eq!(scope_rule("rule", "  ").unwrap(), None);
        for (bad, message) in [
            ("admin and", "ends too early"),
            ("(admin or employee", "not closed"),
            ("admin)", "unexpected ')'"),
            ("or admin", "missing before 'or'"),
        ] {
            let error = parse_rule(bad).unwrap_err();
            assert!(error.contains(message), "{bad}: {error}");
        }
    }
}
