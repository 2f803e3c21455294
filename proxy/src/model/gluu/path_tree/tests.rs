//! The pattern table of `gluu-plugins.md` §4.4 (GG's `t/specs/path-wildcard-tree/test_spec.lua`), row by row,
//! and the priority, capture and backtracking rules of §4.3.

use super::PathTree;

/// A tree of `GET` rules, one per pattern, in document order.
struct Rules<'a> {
    patterns: Vec<&'a str>,
    tree: PathTree,
}

fn get_rules<'a>(patterns: &[&'a str]) -> Rules<'a> {
    let mut tree = PathTree::default();
    for (index, pattern) in patterns.iter().enumerate() {
        tree.insert("GET", pattern, index).unwrap();
    }
    Rules { patterns: patterns.to_vec(), tree }
}

impl Rules<'_> {
    /// The pattern a `GET` of `path` matches.
    fn pattern(&self, path: &str) -> Option<&str> {
        self.tree.find("GET", path).map(|(leaf, _)| self.patterns[leaf])
    }

    fn captures(&self, path: &str) -> Vec<String> {
        self.tree.find("GET", path).expect("the path matches").1
    }
}

#[test]
fn multi_wildcard_alone_matches_everything() {
    let rules = get_rules(&["/??"]);
    for path in ["/", "/folder", "/folder/file.ext", "/a/b/c/", "/path/xxx/yyy/file"] {
        assert_eq!(rules.pattern(path), Some("/??"), "{path}");
    }
}

#[test]
fn literal_file_name_matches_only_itself() {
    let rules = get_rules(&["/folder/file.ext"]);
    assert_eq!(rules.pattern("/folder/file.ext"), Some("/folder/file.ext"));
    assert_eq!(rules.pattern("/folder/file"), None);
}

#[test]
fn literal_path_matches_neither_a_trailing_slash_nor_a_longer_path() {
    let rules = get_rules(&["/folder/file"]);
    assert_eq!(rules.pattern("/folder/file"), Some("/folder/file"));
    assert_eq!(rules.pattern("/folder/file/"), None);
    assert_eq!(rules.pattern("/folder/file/123"), None);
}

#[test]
fn single_wildcard_matches_exactly_one_segment() {
    let rules = get_rules(&["/folder/?/file"]);
    assert_eq!(rules.pattern("/folder/123/file"), Some("/folder/?/file"));
    assert_eq!(rules.pattern("/folder/xxx/file"), Some("/folder/?/file"));
    assert_eq!(rules.pattern("/folder/file"), None);
    assert_eq!(rules.pattern("/folder/a/b/file"), None);
}

#[test]
fn trailing_multi_wildcard_matches_the_bare_path_and_everything_below() {
    let rules = get_rules(&["/path/??"]);
    for path in ["/path", "/path/", "/path/xxx/yyy/file"] {
        assert_eq!(rules.pattern(path), Some("/path/??"), "{path}");
    }
    assert_eq!(rules.pattern("/pathology"), None);
}

#[test]
fn inner_multi_wildcard_matches_zero_or_more_segments() {
    let rules = get_rules(&["/path/??/image.jpg"]);
    assert_eq!(rules.pattern("/path/image.jpg"), Some("/path/??/image.jpg"));
    assert_eq!(rules.pattern("/path/one/two/image.jpg"), Some("/path/??/image.jpg"));
    assert_eq!(rules.pattern("/path/one/two/image.png"), None);
}

#[test]
fn single_wildcard_wins_over_multi_wildcard() {
    let rules = get_rules(&["/path/??/image.jpg", "/path/?/image.jpg"]);
    assert_eq!(rules.pattern("/path/xxx/image.jpg"), Some("/path/?/image.jpg"));
    assert_eq!(rules.pattern("/path/one/two/image.jpg"), None, "`?` took `one`: no backtracking to `??`");
}

#[test]
fn regex_wins_over_single_wildcard() {
    let rules = get_rules(&["/path/?/image.jpg", "/path/{abc|xyz}/image.jpg"]);
    assert_eq!(rules.pattern("/path/abc/image.jpg"), Some("/path/{abc|xyz}/image.jpg"));
    assert_eq!(rules.pattern("/path/xyz/image.jpg"), Some("/path/{abc|xyz}/image.jpg"));
    assert_eq!(rules.pattern("/path/123/image.jpg"), Some("/path/?/image.jpg"));
}

#[test]
fn regex_after_single_wildcard_matches() {
    let rules = get_rules(&["/users/?/{todos|photos}"]);
    assert_eq!(rules.pattern("/users/123/todos"), Some("/users/?/{todos|photos}"));
    assert_eq!(rules.pattern("/users/123/videos"), None);
}

#[test]
fn trailing_single_wildcard_matches_an_empty_or_any_last_segment_and_captures_in_order() {
    let rules = get_rules(&["/users/?/{todos|photos}/?"]);
    assert_eq!(rules.pattern("/users/123/todos/"), Some("/users/?/{todos|photos}/?"));
    assert_eq!(rules.pattern("/users/123/todos/321"), Some("/users/?/{todos|photos}/?"));
    assert_eq!(rules.captures("/users/123/todos/321"), ["123", "todos", "321"]);
    assert_eq!(rules.captures("/users/123/todos/"), ["123", "todos", ""]);
}

#[test]
fn captures_of_the_gg_matcher_test() {
    let rules = get_rules(&["/users/?/{todos|photos}/123"]);
    assert_eq!(rules.captures("/users/123/todos/123"), ["123", "todos"]);
}

#[test]
fn literal_wins_over_regex_and_regexes_are_tried_in_document_order() {
    let rules = get_rules(&["/a/{^b.*}", "/a/{^bc$}", "/a/bcd", "/a/?"]);
    assert_eq!(rules.pattern("/a/bcd"), Some("/a/bcd"));
    assert_eq!(rules.pattern("/a/bc"), Some("/a/{^b.*}"), "the first regex accepting the segment wins");
    assert_eq!(rules.pattern("/a/c"), Some("/a/?"));
}

#[test]
fn regexes_search_unanchored_and_capture_their_groups() {
    let rules = get_rules(&["/n/{\\d+}", "/g/{^(\\d\\d\\d)-([a-d]{4})$}", "/o/{^(x)?y$}"]);
    assert_eq!(rules.captures("/n/abc42def"), ["42"], "no groups: the whole match");
    assert_eq!(rules.captures("/g/123-abcd"), ["123", "abcd"]);
    assert_eq!(rules.pattern("/g/x123-abcd"), None, "anchors are the pattern's own");
    assert_eq!(rules.captures("/o/y"), [""], "a group that took no part captures nothing");
}

#[test]
fn no_backtracking_after_a_higher_priority_choice() {
    // `a` is taken as a literal; when `c` then fails there, `/?/c` is not tried.
    let rules = get_rules(&["/a/b", "/?/c"]);
    assert_eq!(rules.pattern("/a/c"), None);
    assert_eq!(rules.pattern("/x/c"), Some("/?/c"));
    // `?` accepts `image.jpg`, and `/path/??/image.jpg` is then out of reach.
    let rules = get_rules(&["/path/?/image.jpg", "/path/??/image.jpg"]);
    assert_eq!(rules.pattern("/path/image.jpg"), None);
}

#[test]
fn multi_wildcard_rule_takes_the_remainder_when_no_split_reaches_its_subtree() {
    let rules = get_rules(&["/a/??", "/a/??/z"]);
    assert_eq!(rules.pattern("/a/x/y/z"), Some("/a/??/z"));
    assert_eq!(rules.pattern("/a/x/y"), Some("/a/??"));
    assert_eq!(rules.pattern("/a"), Some("/a/??"), "the `??` rule wins over a bare node");
}

#[test]
fn multi_wildcard_child_rule_wins_over_the_node_rule_when_the_path_ends() {
    let rules = get_rules(&["/a", "/a/??"]);
    assert_eq!(rules.pattern("/a"), Some("/a/??"));
}

#[test]
fn segments_after_multi_wildcard_are_not_captured() {
    let rules = get_rules(&["/?/??/{(\\d+)}"]);
    assert_eq!(rules.captures("/u/x/5"), ["u"]);
}

#[test]
fn literals_are_case_sensitive() {
    let rules = get_rules(&["/Folder"]);
    assert_eq!(rules.pattern("/folder"), None);
}

#[test]
fn methods_match_literally_or_through_the_wildcard_which_captures_nothing() {
    let mut tree = PathTree::default();
    tree.insert("POST", "/a/?", 0).unwrap();
    tree.insert("?", "/a/?", 1).unwrap();
    assert_eq!(tree.find("POST", "/a/1"), Some((0, vec!["1".to_string()])));
    assert_eq!(tree.find("DELETE", "/a/1"), Some((1, vec!["1".to_string()])), "path captures start at PC1");
}

#[test]
fn multi_wildcard_and_regex_are_literals_in_the_method_position() {
    let mut tree = PathTree::default();
    tree.insert("??", "/a", 0).unwrap();
    tree.insert("{.*}", "/b", 1).unwrap();
    assert_eq!(tree.find("GET", "/a"), None);
    assert_eq!(tree.find("GET", "/b"), None);
}

#[test]
fn a_regex_that_does_not_compile_is_reported_with_its_segment() {
    let mut tree = PathTree::default();
    let error = tree.insert("GET", "/a/{(unclosed}", 0).unwrap_err();
    assert_eq!(error.segment, "{(unclosed}");
}
