//! decK (Kong's own configuration tool, Debian's `deck` 1.4), run against a node's Admin API.

use std::process::Command;

use super::Gatehouse;

/// Runs `deck <args> --kong-addr <node>`; whether it succeeded, and what it printed.
pub fn deck(node: &Gatehouse, args: &[&str]) -> (bool, String) {
    let output = Command::new("deck")
        .args(args)
        .arg("--kong-addr")
        .arg(node.admin_url(""))
        .output()
        .expect("decK is installed by ./scripts/setup test (Debian package `deck`)");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}
