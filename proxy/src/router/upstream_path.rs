//! The path sent upstream (`proxy.md` §3): the service path joined with what the route leaves of the
//! request, by Kong's `v0` and `v1` algorithms.

/// `path_handling` of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathHandling {
    V0,
    V1,
}

impl PathHandling {
    pub fn parse(value: &str) -> PathHandling {
        if value == "v1" { PathHandling::V1 } else { PathHandling::V0 }
    }
}

/// The upstream path for the normalized request path `req`, when the route matched `prefix` of it (or
/// matched without a path), for a service whose path is `base`. Joined by `concat`: it runs on every
/// request, and the formatting machinery costs more than the copy.
pub fn upstream_path(
    base: Option<&str>,
    req: &str,
    prefix: Option<&str>,
    strip_path: bool,
    handling: PathHandling,
) -> String {
    let base = base.unwrap_or("/");
    let without_slash = req.strip_prefix('/').unwrap_or(req);
    let postfix = sanitize(match prefix {
        Some(prefix) => req.get(prefix.len()..).unwrap_or(""),
        None => without_slash,
    });
    match handling {
        PathHandling::V1 => {
            if strip_path {
                if base.ends_with('/') && postfix.starts_with('/') {
                    [base, &postfix[1..]].concat()
                } else {
                    [base, postfix].concat()
                }
            } else {
                [base, without_slash].concat()
            }
        }
        PathHandling::V0 => {
            let base_no_slash = base.strip_suffix('/').unwrap_or(base);
            match (base.ends_with('/'), strip_path) {
                (true, true) if postfix.is_empty() => {
                    if base == "/" || req.ends_with('/') {
                        base.to_string()
                    } else {
                        base_no_slash.to_string()
                    }
                }
                (true, true) if postfix.starts_with('/') => [base_no_slash, postfix].concat(),
                (true, true) => [base, postfix].concat(),
                (true, false) => [base, without_slash].concat(),
                (false, true) if postfix.is_empty() => {
                    if req.len() > 1 && req.ends_with('/') {
                        [base, "/"].concat()
                    } else {
                        base.to_string()
                    }
                }
                (false, true) if postfix.starts_with('/') => [base, postfix].concat(),
                (false, true) => [base, "/", postfix].concat(),
                (false, false) => {
                    if req == "/" {
                        base.to_string()
                    } else {
                        [base, req].concat()
                    }
                }
            }
        }
    }
}

/// Kong 2.8's postfix sanitization: `.`/`..` vanish, a leading `./` or `../` is dropped.
fn sanitize(postfix: &str) -> &str {
    match postfix {
        "." | ".." => "",
        _ => postfix.strip_prefix("../").or_else(|| postfix.strip_prefix("./")).unwrap_or(postfix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::uri::normalize;

    /// The spec's 212 vectors (`shared/spec/path-handling-vectors.tsv`, copied beside this file).
    #[test]
    fn every_kong_path_handling_vector() {
        let table = include_str!("path-handling-vectors.tsv");
        let mut checked = 0;
        let mut failures = Vec::new();
        for line in table.lines().filter(|l| !l.starts_with('#')).skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            let [service, route, strip, handling, request, expected] = cols[..] else { panic!("bad row {line}") };
            let req = normalize(request);
            let prefix = if route.starts_with("(none") { None } else { Some(normalize(route)) };
            if let Some(prefix) = &prefix {
                assert!(req.starts_with(prefix.as_ref()), "row does not match its route: {line}");
            }
            let got =
                upstream_path(Some(service), &req, prefix.as_deref(), strip == "true", PathHandling::parse(handling));
            if got != expected {
                failures.push(format!("{line}  => got {got}"));
            }
            checked += 1;
        }
        assert_eq!(checked, 212);
        assert!(failures.is_empty(), "{} of 212 vectors fail:\n{}", failures.len(), failures.join("\n"));
    }
}
