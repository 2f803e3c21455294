//! Properties of the matching tree (`gluu-plugins.md` §4.3) over generated patterns and requests.

use proptest::prelude::*;

use super::PathTree;

/// One segment of a generated pattern.
#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    Regex(&'static str),
    Single,
    Multi,
}

impl Segment {
    fn text(&self) -> String {
        match self {
            Segment::Literal(text) => text.clone(),
            Segment::Regex(source) => format!("{{{source}}}"),
            Segment::Single => "?".into(),
            Segment::Multi => "??".into(),
        }
    }
}

/// Valid regexes, with and without groups and anchors.
const REGEXES: &[&str] = &["^\\d+$", "abc|xyz", "^(x)?y$", ".*", "^(\\w+)-(\\d)$", "b"];

/// A literal segment from a small alphabet, so that generated requests often meet generated patterns; it may be
/// empty (`/a//b`), but is never `?`, `??` or `{…}`.
fn literal() -> impl Strategy<Value = String> {
    "[ab1.]{0,2}"
}

/// Any request segment: arbitrary text without `/`, or one from the literal alphabet.
fn request_segment() -> impl Strategy<Value = String> {
    prop_oneof![literal(), "[^/]{0,6}", Just("?".to_string()), Just("??".to_string())]
}

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        3 => literal().prop_map(Segment::Literal),
        1 => prop::sample::select(REGEXES).prop_map(Segment::Regex),
        1 => Just(Segment::Single),
        1 => Just(Segment::Multi),
    ]
}

/// `/s1/s2/…` (the empty string for no segments).
fn path_of<S: AsRef<str>>(segments: &[S]) -> String {
    segments.iter().map(|segment| format!("/{}", segment.as_ref())).collect()
}

fn pattern_of(segments: &[Segment]) -> String {
    path_of(&segments.iter().map(Segment::text).collect::<Vec<_>>())
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![Just("GET".to_string()), Just("POST".to_string()), Just("?".to_string())]
}

fn tree_of(patterns: &[(String, String)]) -> PathTree {
    let mut tree = PathTree::default();
    for (index, (method, pattern)) in patterns.iter().enumerate() {
        tree.insert(method, pattern, index).expect("generated regexes compile");
    }
    tree
}

// proptest's default of 256 cases per property; `PROPTEST_CASES` sets another count.
proptest! {
    #[test]
    fn a_literal_pattern_matches_exactly_itself(
        segments in prop::collection::vec(literal(), 1..6),
        extra in request_segment(),
    ) {
        let path = path_of(&segments);
        let tree = tree_of(&[("GET".into(), path.clone())]);
        prop_assert_eq!(tree.find("GET", &path), Some((0, Vec::new())));
        prop_assert_eq!(tree.find("GET", &format!("{path}/{extra}")), None, "an extra segment");
        prop_assert_eq!(tree.find("GET", &path_of(&segments[..segments.len() - 1])), None, "a segment fewer");
        prop_assert_eq!(tree.find("POST", &path), None, "another method");
    }

    #[test]
    fn a_trailing_multi_wildcard_matches_its_prefix_followed_by_any_segments(
        prefix in prop::collection::vec(literal(), 1..4),
        rest in prop::collection::vec(request_segment(), 0..5),
    ) {
        let prefix_path = path_of(&prefix);
        let tree = tree_of(&[("GET".into(), format!("{prefix_path}/??"))]);
        let path = format!("{prefix_path}{}", path_of(&rest));
        prop_assert_eq!(tree.find("GET", &path), Some((0, Vec::new())));
        // `/pathology` is not under `/path/??`.
        let other = format!("{prefix_path}x{}", path_of(&rest));
        prop_assert_eq!(tree.find("GET", &other), None);
    }

    #[test]
    fn each_single_wildcard_captures_exactly_its_request_segment(
        pattern in prop::collection::vec(prop::option::of(literal()), 1..6),
        values in prop::collection::vec(request_segment(), 6),
    ) {
        // `None` is a `?`, which the request fills with the value at its position.
        let texts: Vec<String> =
            pattern.iter().map(|segment| segment.clone().unwrap_or_else(|| "?".into())).collect();
        let request: Vec<String> = pattern
            .iter()
            .zip(&values)
            .map(|(segment, value)| segment.clone().unwrap_or_else(|| value.clone()))
            .collect();
        let expected: Vec<String> = pattern
            .iter()
            .zip(&values)
            .filter(|(segment, _)| segment.is_none())
            .map(|(_, value)| value.clone())
            .collect();
        let tree = tree_of(&[("GET".into(), path_of(&texts))]);
        prop_assert_eq!(tree.find("GET", &path_of(&request)), Some((0, expected)));
        prop_assert_eq!(tree.find("GET", &path_of(&request[..request.len() - 1])), None, "a segment fewer");
        prop_assert_eq!(tree.find("GET", &format!("{}/x", path_of(&request))), None, "a segment more");
    }

    #[test]
    fn a_catch_all_document_matches_every_request(
        method in "[A-Z]{1,7}",
        segments in prop::collection::vec(request_segment(), 0..6),
    ) {
        let tree = tree_of(&[("?".into(), "/??".into())]);
        prop_assert_eq!(tree.find(&method, &path_of(&segments)), Some((0, Vec::new())));
    }

    #[test]
    fn lower_priority_items_never_change_the_match_of_a_literal_path(
        literal_segments in prop::collection::vec(literal(), 1..5),
        others in prop::collection::vec(
            (method(), any::<prop::sample::Index>(), prop_oneof![
                prop::sample::select(REGEXES).prop_map(Segment::Regex),
                Just(Segment::Single),
                Just(Segment::Multi),
            ], prop::collection::vec(segment(), 0..3)),
            0..4,
        ),
        literal_first in any::<bool>(),
    ) {
        // Each other item follows the literal path for a while, then leaves it through a wildcard or regex
        // segment, which a literal always beats; none of them can end on the literal path's own node.
        let path = path_of(&literal_segments);
        let mut patterns = Vec::new();
        for (method, shared, leaving, tail) in others {
            let shared = shared.index(literal_segments.len());
            let mut segments: Vec<Segment> =
                literal_segments[..shared].iter().cloned().map(Segment::Literal).collect();
            segments.push(leaving);
            segments.extend(tail);
            patterns.push((method, pattern_of(&segments)));
        }
        let literal_index = if literal_first { 0 } else { patterns.len() };
        patterns.insert(literal_index, ("GET".into(), path.clone()));
        let tree = tree_of(&patterns);
        prop_assert_eq!(tree.find("GET", &path), Some((literal_index, Vec::new())));
    }

    #[test]
    fn matching_never_panics_and_finds_only_inserted_rules(
        patterns in prop::collection::vec(
            (prop_oneof![method(), "[A-Z?{}]{0,3}"], prop::collection::vec(segment(), 0..6)),
            1..8,
        ),
        method in prop_oneof![method(), "\\PC{0,4}"],
        path in prop_oneof![
            prop::collection::vec(request_segment(), 0..8).prop_map(|segments| path_of(&segments)),
            "\\PC{0,24}",
        ],
    ) {
        let patterns: Vec<(String, String)> =
            patterns.into_iter().map(|(method, segments)| (method, pattern_of(&segments))).collect();
        let tree = tree_of(&patterns);
        if let Some((leaf, captures)) = tree.find(&method, &path) {
            prop_assert!(leaf < patterns.len());
            prop_assert!(captures.len() <= path.split('/').count() * 2, "{:?}", captures);
        }
    }
}
