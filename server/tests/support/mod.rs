//! Starts the real `gatehouse` binary on free loopback ports with a temporary prefix, for black-box tests.

#![allow(dead_code)] // each test file uses a different part of the harness

pub mod deck;
pub mod echo;
pub mod fake_op;
pub mod faulty;
pub mod gluu;
pub mod gui;
pub mod op;
pub mod oxd_api;
pub mod process;
pub mod raw;
pub mod tls_echo;
pub mod ws_echo;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct Gatehouse {
    child: Option<Child>,
    pub prefix: PathBuf,
    pub admin: SocketAddr,
    pub gui: SocketAddr,
    pub oxd: SocketAddr,
    pub proxy_http: SocketAddr,
    pub proxy_https: SocketAddr,
    log: PathBuf,
    extra: Vec<String>,
}

/// Whether an HTTP server answers `GET /` on `addr` (any status).
fn answers(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = [0u8; 5];
    stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n").is_ok()
        && stream.read_exact(&mut head).is_ok()
        && &head == b"HTTP/"
}

/// A port that was free a moment ago.
pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_gatehouse")
}

impl Gatehouse {
    /// Starts a node on `prefix` with the given extra `--key value` settings and waits until it serves.
    pub fn start_in(prefix: &Path, extra: &[&str]) -> Gatehouse {
        let mut node = Gatehouse {
            child: None,
            prefix: prefix.to_path_buf(),
            admin: free_port(),
            gui: free_port(),
            oxd: free_port(),
            proxy_http: free_port(),
            proxy_https: free_port(),
            log: prefix.join("gatehouse.log"),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        // A port free when it was picked can be taken by a test running alongside before the node binds it:
        // then the node starts again on other ports, with a fresh log.
        for attempt in 1.. {
            match node.try_spawn() {
                Ok(()) => break,
                Err(why) if attempt < 5 && why.contains("Address already in use") => {
                    if let Some(mut child) = node.child.take() {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    let _ = std::fs::remove_file(&node.log);
                    (node.admin, node.gui, node.oxd) = (free_port(), free_port(), free_port());
                    (node.proxy_http, node.proxy_https) = (free_port(), free_port());
                }
                Err(why) => panic!("{why}"),
            }
        }
        node
    }

    pub fn start(extra: &[&str]) -> (Gatehouse, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (Gatehouse::start_in(dir.path(), extra), dir)
    }

    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "start".to_string(),
            "--prefix".into(),
            self.prefix.display().to_string(),
            "--admin_listen".into(),
            self.admin.to_string(),
            "--admin_gui_listen".into(),
            self.gui.to_string(),
            "--oxd_listen".into(),
            format!("{} ssl", self.oxd),
            "--proxy_listen".into(),
            format!("{}, {} ssl", self.proxy_http, self.proxy_https),
        ];
        args.extend(self.extra.iter().cloned());
        args
    }

    fn spawn(&mut self) {
        if let Err(why) = self.try_spawn() {
            panic!("{why}");
        }
    }

    fn try_spawn(&mut self) -> Result<(), String> {
        std::fs::create_dir_all(&self.prefix).unwrap();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(binary())
            .args(self.args())
            .env_remove("RUST_LOG")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start gatehouse");
        self.child = Some(child);
        self.wait_until_serving()
    }

    fn wait_until_serving(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return Err(format!("gatehouse exited with {status} before serving:\n{}", self.log()));
            }
            // An answer, not a connect: the sockets are bound (and accept into the backlog) before the node has
            // finished starting, e.g. before it has written its default certificate.
            if answers(self.admin) && answers(self.gui) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("gatehouse did not serve within 30 s:\n{}", self.log()))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends SIGTERM and waits for the process to end.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        signal(child.id(), "TERM");
        wait_with_timeout(&mut child, Duration::from_secs(20))
    }

    /// Waits for a node that was already signalled to end.
    pub fn stop_after_signal(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        wait_with_timeout(&mut child, Duration::from_secs(20))
    }

    /// Starts the same node again, on the same prefix and ports.
    pub fn restart(&mut self) {
        if self.child.is_some() {
            assert!(self.stop().success());
        }
        self.spawn();
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    pub fn gui_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gui)
    }

    /// The default certificate the node generated in its prefix.
    pub fn default_certificate(&self) -> Vec<u8> {
        std::fs::read(self.prefix.join("ssl/gatehouse-default.crt")).unwrap()
    }

    /// An HTTPS client that trusts the node's default certificate and resolves `localhost` to `addr`.
    pub fn tls_client(&self, addr: SocketAddr) -> reqwest::Client {
        let cert = reqwest::Certificate::from_pem(&self.default_certificate()).unwrap();
        reqwest::Client::builder()
            .add_root_certificate(cert)
            .resolve("localhost", addr)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }
}

impl Drop for Gatehouse {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("gatehouse did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Runs the binary to completion with `args`, returning (status, stdout, stderr).
pub fn run(args: &[&str]) -> (ExitStatus, String, String) {
    let output = Command::new(binary()).args(args).env_remove("RUST_LOG").stdin(Stdio::null()).output().unwrap();
    (output.status, String::from_utf8_lossy(&output.stdout).into(), String::from_utf8_lossy(&output.stderr).into())
}

/// An Admin API request that must succeed; its JSON answer (null when there is none).
pub async fn admin(
    node: &Gatehouse,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let response = reqwest::Client::new().request(method, node.admin_url(path)).json(&body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// Waits until the proxy answers `path` with `status`; returns how long the change took to go live.
pub async fn until(node: &Gatehouse, path: &str, status: u16) -> Duration {
    let started = Instant::now();
    loop {
        let response = reqwest::get(format!("http://{}{path}", node.proxy_http)).await.unwrap();
        if response.status() == status {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{path} never answered {status}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A service `name` with `fields` (`url`, timeouts, TLS; `retries` 0 unless given), routed at `/<name>`.
pub async fn service(node: &Gatehouse, name: &str, fields: serde_json::Value) {
    let mut body = serde_json::json!({"retries": 0});
    if let (Some(body), Some(fields)) = (body.as_object_mut(), fields.as_object()) {
        body.extend(fields.clone());
    }
    admin(node, reqwest::Method::PUT, &format!("/services/{name}"), body).await;
    let route = serde_json::json!({"paths": [format!("/{name}")]});
    admin(node, reqwest::Method::POST, &format!("/services/{name}/routes"), route).await;
}

/// Waits until everything configured so far serves: a route added last, to a working upstream, answers.
/// (Routes to upstreams that fail on purpose cannot show it themselves.)
pub async fn configured(node: &Gatehouse) {
    let sentinel = echo::start().await;
    service(node, "sentinel", serde_json::json!({"url": format!("http://{sentinel}")})).await;
    until(node, "/sentinel", 200).await;
}
