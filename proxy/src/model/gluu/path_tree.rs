//! The matching tree of protection documents (`gluu-plugins.md` §4.3, GG's `path-wildcard-tree.lua`): every
//! `"/" + METHOD + path` of a document is a branch of `/`-separated segments ending on a rule; a request walks
//! the tree segment by segment, each time taking the highest-priority child that accepts the segment:
//! literal > `{regex}` (document order) > `?` > `??`.
//!
//! The walk never backtracks, except for the `??` split search: a request may therefore miss a rule that a
//! lower-priority sibling would have matched. That is GG's behaviour, and documents are written for it.

use regex::Regex;

use crate::config_hash::ConfigMap;

/// A document's tree. Leaves are indexes into the document's list of conditions.
#[derive(Debug, Default)]
pub(super) struct PathTree {
    root: Node,
}

#[derive(Debug, Default)]
struct Node {
    /// Keyed by the document's segments, so the configuration's hasher serves (requests only look up).
    literals: ConfigMap<String, Node>,
    /// `{re}` children in insertion order, which is the order they are tried in.
    regexes: Vec<RegexChild>,
    /// The `?` child: any one segment.
    single: Option<Box<Node>>,
    /// The `??` child: zero or more segments.
    multi: Option<Box<Node>>,
    leaf: Option<usize>,
}

#[derive(Debug)]
struct RegexChild {
    /// The text between the braces; one node per distinct text, like GG.
    source: String,
    regex: Regex,
    node: Node,
}

/// A `{re}` segment whose regex does not compile.
#[derive(Debug)]
pub(super) struct InvalidRegex {
    pub segment: String,
    pub error: regex::Error,
}

/// The segments of `"/" + METHOD + path`: every `/` followed by the non-`/` characters up to the next `/`
/// (Lua's `/([^/]*)`), so a trailing `/` gives a final empty segment.
fn segments(text: &str) -> Segments<'_> {
    Segments { rest: text.bytes().position(|b| b == b'/').map(|at| &text[at + 1..]) }
}

/// [`segments`], by a byte scan (each request walks them; a `char` searcher costs more than they are long).
struct Segments<'a> {
    /// What follows the last `/` found.
    rest: Option<&'a str>,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match rest.bytes().position(|b| b == b'/') {
            Some(at) => {
                self.rest = Some(&rest[at + 1..]);
                Some(&rest[..at])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// The regex of a `{re}` segment (the whole segment, at least one character between the braces).
fn regex_source(segment: &str) -> Option<&str> {
    segment.strip_prefix('{')?.strip_suffix('}').filter(|source| !source.is_empty())
}

impl PathTree {
    /// Adds the branch of `method` and `pattern` ending on `leaf`; a later branch with the same segments
    /// replaces the earlier one's leaf, as in GG.
    pub(super) fn insert(&mut self, method: &str, pattern: &str, leaf: usize) -> Result<(), InvalidRegex> {
        let text = format!("/{method}{pattern}");
        let mut parts = segments(&text);
        let mut node = &mut self.root;
        // The method is a literal or `?`: `??` and `{re}` are not wildcards there (§4.3).
        if let Some(method) = parts.next() {
            node = match method {
                "?" => node.single.get_or_insert_default(),
                _ => node.literals.entry(method.to_string()).or_default(),
            };
        }
        for part in parts {
            node = node.child_mut(part)?;
        }
        node.leaf = Some(leaf);
        Ok(())
    }

    /// The leaf a request reaches, with the path captures collected on the way (`PC1…PCn` in order).
    pub(super) fn find(&self, method: &str, path: &str) -> Option<(usize, Vec<String>)> {
        let text;
        let mut segments = if path.starts_with('/') {
            // The segments of `"/" + METHOD + path` without building that string.
            Some(method).into_iter().chain(segments(path))
        } else {
            text = format!("/{method}{path}");
            None.into_iter().chain(segments(&text))
        };
        let mut node = &self.root;
        let mut captures = Vec::new();
        let mut index = 0;
        while let Some(segment) = segments.next() {
            match node.descend(segment) {
                Some((child, found)) => {
                    // The method is never a capture (§15 N3).
                    if index > 0 {
                        captures.extend(found);
                    }
                    node = child;
                }
                // `??` is the last resort; what it and its subtree match is not captured.
                None => {
                    let multi = node.multi.as_deref()?;
                    let rest: Vec<&str> = std::iter::once(segment).chain(segments).collect();
                    return multi.match_rest(&rest).map(|leaf| (leaf, captures));
                }
            }
            index += 1;
        }
        // `/path/??` also matches `/path` (GG issue #423), and takes precedence over the node's own rule.
        let multi_leaf = node.multi.as_ref().and_then(|multi| multi.leaf);
        multi_leaf.or(node.leaf).map(|leaf| (leaf, captures))
    }
}

impl Node {
    fn child_mut(&mut self, segment: &str) -> Result<&mut Node, InvalidRegex> {
        Ok(match segment {
            "?" => self.single.get_or_insert_default(),
            "??" => self.multi.get_or_insert_default(),
            _ => match regex_source(segment) {
                None => self.literals.entry(segment.to_string()).or_default(),
                Some(source) => {
                    let index = match self.regexes.iter().position(|child| child.source == source) {
                        Some(index) => index,
                        None => {
                            let regex = Regex::new(source)
                                .map_err(|error| InvalidRegex { segment: segment.to_string(), error })?;
                            self.regexes.push(RegexChild { source: source.to_string(), regex, node: Node::default() });
                            self.regexes.len() - 1
                        }
                    };
                    &mut self.regexes[index].node
                }
            },
        })
    }

    /// The child accepting `segment` other than `??`, by priority, with what it captures.
    fn descend(&self, segment: &str) -> Option<(&Node, Vec<String>)> {
        if let Some(node) = self.literals.get(segment) {
            return Some((node, Vec::new()));
        }
        for child in &self.regexes {
            if let Some(found) = child.regex.captures(segment) {
                return Some((&child.node, regex_captures(&found)));
            }
        }
        self.single.as_deref().map(|node| (node, vec![segment.to_string()]))
    }

    /// Matches the remaining segments (at least one) at a `??` node: the first split whose rest leads through
    /// the subtree to a rule wins; otherwise the `??` rule itself, if any, takes the whole remainder.
    fn match_rest(&self, rest: &[&str]) -> Option<usize> {
        (0..rest.len()).find_map(|consumed| self.walk(&rest[consumed..])).or(self.leaf)
    }

    /// Follows `segments` greedily through literal, regex and `?` children, ending on a rule.
    fn walk(&self, segments: &[&str]) -> Option<usize> {
        let mut node = self;
        for segment in segments {
            node = node.descend(segment)?.0;
        }
        node.leaf
    }
}

/// A regex segment's captures: its groups in order (a group that took no part is empty), or the whole match
/// when it has none.
fn regex_captures(found: &regex::Captures<'_>) -> Vec<String> {
    let text = |group: Option<regex::Match<'_>>| group.map_or_else(String::new, |m| m.as_str().to_string());
    if found.len() == 1 { vec![text(found.get(0))] } else { found.iter().skip(1).map(text).collect() }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
