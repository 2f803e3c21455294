//! The real OpenID Provider of `end2end/op` (oidc-provider with the project's UMA extension), started on a
//! free loopback port for one test and stopped by its process id when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub struct Op {
    child: Child,
    /// The issuer, `http://127.0.0.1:<port>`.
    pub issuer: String,
}

impl Op {
    /// Starts the OP with extra flags (`--clients`, `--token-ttl`, ...) and waits for its ready line.
    pub fn start(flags: &[&str]) -> Op {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/op/server.js");
        let mut child = Command::new("node")
            .arg(script)
            .args(["--port", "0"])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node must be installed and end2end/op set up (./scripts/setup test runs npm ci there)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let issuer = line
            .trim()
            .strip_prefix("OP_READY ")
            .unwrap_or_else(|| panic!("the OP did not start (run `npm ci` in end2end/op): {line:?}"))
            .to_string();
        Op { child, issuer }
    }

    /// Calls to each OP endpoint so far (`GET /_test/stats`).
    pub async fn stats(&self) -> Value {
        reqwest::get(format!("{}/_test/stats", self.issuer)).await.unwrap().json().await.unwrap()
    }

    pub async fn configure(&self, settings: Value) {
        let response =
            reqwest::Client::new().post(format!("{}/_test/config", self.issuer)).json(&settings).send().await.unwrap();
        assert!(response.status().is_success());
    }
}

impl Op {
    /// Follows the OP's scripted login from `url` (an authorization URL) with the cookies of `jar`, signing in as
    /// `user` at the login prompt and passing any later prompt (consent), until the OP redirects to a URL that
    /// starts with `callback`: that URL.
    pub async fn sign_in(&self, jar: &mut Vec<String>, url: &str, user: &str, callback: &str) -> String {
        let (mut status, mut location) = super::oxd_api::browse(jar, url, None).await;
        let mut signed_in = false;
        for _ in 0..10 {
            assert_eq!(status, 303, "{location}");
            if location.starts_with(callback) {
                return location;
            }
            let next = if location.starts_with('/') { format!("{}{location}", self.issuer) } else { location.clone() };
            (status, location) = if next.contains("/interaction/") && !signed_in {
                signed_in = true;
                super::oxd_api::browse(jar, &next, Some(&[("login", user)])).await
            } else {
                super::oxd_api::browse(jar, &next, None).await
            };
        }
        panic!("the login never came back to {callback}: {location}");
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
