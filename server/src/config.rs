//! Node configuration, the way Kong users know it: a TOML file with Kong-style keys, each key overridable by
//! an environment variable `GATEHOUSE_<KEY>` and by a command-line flag `--<key> VALUE`, in that order of
//! precedence (flag over environment over file over default).

use std::path::{Path, PathBuf};
use std::time::Duration;

use proxy::listener::{ListenSpec, parse_listen};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid configuration file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("unknown configuration key '{0}' (keys are listed in README.md under Configuration)")]
    UnknownKey(String),
    #[error("invalid value for '{key}' from {origin}: {message}")]
    Value { key: String, origin: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("flag '{0}' needs a value")]
    MissingValue(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Database {
    Sqlite,
    Postgres,
}

impl Database {
    pub fn as_str(self) -> &'static str {
        match self {
            Database::Sqlite => "sqlite",
            Database::Postgres => "postgres",
        }
    }
}

/// Kong's log levels; `notice` (Kong's default) and the levels above `error` map onto tracing's nearest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Notice,
    Warn,
    Error,
    Crit,
    Alert,
    Emerg,
}

impl LogLevel {
    pub fn tracing_directive(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info | LogLevel::Notice => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error | LogLevel::Crit | LogLevel::Alert | LogLevel::Emerg => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Every node setting. Field names are the configuration keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Data directory: the SQLite database, the default certificate, generated keys.
    pub prefix: PathBuf,
    pub proxy_listen: String,
    pub admin_listen: String,
    pub admin_gui_listen: String,
    /// Where the admin UI's compiled assets (`pkg/`, static files) are; empty = `site/` next to the binary's
    /// folder (`target/site` for a cargo build).
    pub admin_gui_assets: String,
    /// Seconds an admin UI session lasts after sign-in.
    pub admin_gui_session_timeout: u64,
    /// The OpenID Provider admins sign in to the UI with (its issuer URL), through the embedded oxd module;
    /// empty = local administrators only.
    pub admin_gui_op_host: String,
    /// The UI's address as browsers reach it, for the OP's redirect URIs; empty = `http(s)://` + the first
    /// `admin_gui_listen` address.
    pub admin_gui_url: String,
    /// Scopes the UI asks the OP for.
    pub admin_gui_oidc_scope: String,
    /// The id_token claim that names the admin (falls back to `sub`).
    pub admin_gui_username_claim: String,
    /// `claim=value` an id_token must carry to sign in (the claim may be a list that contains the value);
    /// empty = anyone the OP authenticates.
    pub admin_gui_required_claim: String,
    pub oxd_listen: String,
    /// Callers allowed on the oxd API (oxd's `bind_ip_addresses`): empty = loopback only, `*` = anyone.
    pub oxd_bind_ip_addresses: String,
    pub database: Database,
    /// SQLite file; empty = `<prefix>/gatehouse.db`.
    pub sqlite_path: String,
    pub pg_host: String,
    pub pg_port: u16,
    pub pg_user: String,
    pub pg_password: String,
    pub pg_database: String,
    /// Milliseconds to wait for a database connection.
    pub pg_timeout: u64,
    pub pg_max_connections: u32,
    pub log_level: LogLevel,
    pub log_format: LogFormat,
    /// Addresses and CIDR blocks whose `X-Forwarded-*` / `X-Real-IP` headers are believed.
    pub trusted_ips: String,
    /// The gateway's own response headers: `server_tokens`, `latency_tokens`, header names, or `off`.
    pub headers: String,
    /// Media type of proxy error pages when the client states none.
    pub error_default_type: String,
    /// When set, every Admin API request must carry it (`Authorization: Bearer` or `Kong-Admin-Token`).
    pub admin_api_token: String,
    /// Default certificate of `ssl` listeners (PEM paths); empty = a self-signed one kept in the prefix.
    pub ssl_cert: String,
    pub ssl_cert_key: String,
    /// Seconds in-flight requests may take to finish after SIGINT/SIGTERM.
    pub shutdown_timeout: u64,
    /// The key that seals secrets at rest (OP client secrets, registration tokens); empty =
    /// `<prefix>/secrets.key`, created on first start. Every node of a cluster must share it.
    pub secrets_key_file: String,
    /// Lab opt-out: the oxd module does not verify the OP's TLS certificates (oxd's `trust_all_certs`).
    pub oxd_trust_all_certs: bool,
    /// PEM certificates the oxd module and the Gluu plugins trust besides the built-in roots (OPs, remote oxd).
    pub oxd_tls_ca_bundle: String,
    /// Bound of each call to an OP or a remote oxd server (nginx time).
    pub oxd_op_timeout: String,
    /// PKCE in the authorization-code flow: `auto` (S256 when the OP offers it) or `off`.
    pub oxd_pkce: String,
    pub oxd_state_expiration_in_minutes: u64,
    pub oxd_nonce_expiration_in_minutes: u64,
    pub oxd_request_object_expiration_in_minutes: u64,
    /// How long the OP's JWKS is kept before it is fetched again (an unknown `kid` refetches sooner).
    pub oxd_public_op_key_cache_expiration_in_minutes: u64,
    /// Protected oxd commands need `Authorization: Bearer` with a token of the site's client (scope `oxd`).
    pub oxd_protect_commands_with_access_token: bool,
    /// When set, the `AuthorizationOxdId` header must name one of these sites.
    pub oxd_protect_commands_with_oxd_id: String,
    /// The OPs the oxd module may call (URL prefixes or hosts); empty = any.
    pub oxd_allowed_op_hosts: String,
    /// `auto`, `client_secret_basic`, `client_secret_post` or `bearer` (oxAuth).
    pub oxd_introspection_auth_method: String,
    pub oxd_add_client_credentials_grant_type_automatically_during_client_registration: bool,
    pub oxd_uma2_auto_register_claims_gathering_endpoint_as_redirect_uri_of_client: bool,
    /// `remove-site` also deletes the client at the OP (RFC 7592 DELETE).
    pub oxd_remove_site_deletes_op_client: bool,
    /// The oxd module keeps an RP signing key, serves it at `GET /get-rp-jwks` and signs request objects with it.
    pub oxd_enable_jwks_generation: bool,
    /// nginx's `NUMBER SIZE`: a request line or header line must fit in SIZE, the head in NUMBER × SIZE;
    /// larger heads get 494.
    pub large_client_header_buffers: String,
    /// How long a client may take to send a request head (nginx time: `60s`, `500ms`, `1m`).
    pub client_header_timeout: String,
    /// Whether services with `tls_verify` unset verify their upstream's certificate (off, as in Kong).
    pub proxy_ssl_verify: bool,
    /// Idle upstream connections kept per upstream address, TLS identity and SNI.
    pub upstream_keepalive_pool_size: u32,
    /// Requests one upstream connection carries before it is closed.
    pub upstream_keepalive_max_requests: u32,
    /// Seconds an idle upstream connection is kept.
    pub upstream_keepalive_idle_timeout: u64,
    /// Proxy worker threads, each with its own single-threaded runtime and upstream pool, as nginx runs
    /// worker processes: `auto` (one per available core) or a number.
    pub nginx_worker_processes: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            prefix: PathBuf::from("/usr/local/gatehouse"),
            proxy_listen: "0.0.0.0:80, 0.0.0.0:443 ssl".into(),
            admin_listen: "127.0.0.1:8001".into(),
            admin_gui_listen: "127.0.0.1:1338".into(),
            admin_gui_assets: String::new(),
            admin_gui_session_timeout: 8 * 3600,
            admin_gui_op_host: String::new(),
            admin_gui_url: String::new(),
            admin_gui_oidc_scope: "openid profile email".into(),
            admin_gui_username_claim: "email".into(),
            admin_gui_required_claim: String::new(),
            oxd_listen: "127.0.0.1:8443 ssl".into(),
            oxd_bind_ip_addresses: String::new(),
            database: Database::Sqlite,
            sqlite_path: String::new(),
            pg_host: "127.0.0.1".into(),
            pg_port: 5432,
            pg_user: "gatehouse".into(),
            pg_password: String::new(),
            pg_database: "gatehouse".into(),
            pg_timeout: 5000,
            pg_max_connections: 10,
            log_level: LogLevel::Notice,
            log_format: LogFormat::Text,
            trusted_ips: String::new(),
            headers: "server_tokens, latency_tokens".into(),
            admin_api_token: String::new(),
            error_default_type: "text/plain".into(),
            ssl_cert: String::new(),
            ssl_cert_key: String::new(),
            shutdown_timeout: 10,
            secrets_key_file: String::new(),
            oxd_trust_all_certs: false,
            oxd_tls_ca_bundle: String::new(),
            oxd_op_timeout: "10s".into(),
            oxd_pkce: "auto".into(),
            oxd_state_expiration_in_minutes: 5,
            oxd_nonce_expiration_in_minutes: 5,
            oxd_request_object_expiration_in_minutes: 5,
            oxd_public_op_key_cache_expiration_in_minutes: 10,
            oxd_protect_commands_with_access_token: true,
            oxd_protect_commands_with_oxd_id: String::new(),
            oxd_allowed_op_hosts: String::new(),
            oxd_introspection_auth_method: "auto".into(),
            oxd_add_client_credentials_grant_type_automatically_during_client_registration: true,
            oxd_uma2_auto_register_claims_gathering_endpoint_as_redirect_uri_of_client: false,
            oxd_remove_site_deletes_op_client: false,
            oxd_enable_jwks_generation: false,
            large_client_header_buffers: "8 16k".into(),
            client_header_timeout: "60s".into(),
            proxy_ssl_verify: false,
            upstream_keepalive_pool_size: 60,
            upstream_keepalive_max_requests: 100,
            upstream_keepalive_idle_timeout: 60,
            nginx_worker_processes: "auto".into(),
        }
    }
}

/// Keys whose values never leave the process (`GET /` shows `******`, logs never print them).
const SECRET_KEYS: &[&str] = &["pg_password", "admin_api_token"];

impl Config {
    /// Loads the configuration: defaults, then `file`, then `GATEHOUSE_*` variables from `env`, then `flags`
    /// (`--key value` or `--key=value`; dashes and underscores are interchangeable in key names).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &[String],
    ) -> Result<Config, ConfigError> {
        let defaults = toml::Table::try_from(Config::default()).expect("the default configuration is TOML");
        let mut table = match file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Parse { path: path.into(), message: e.message().to_string() })?
            }
            None => toml::Table::new(),
        };
        if let Some(unknown) = table.keys().find(|key| !defaults.contains_key(*key)) {
            return Err(ConfigError::UnknownKey(unknown.clone()));
        }
        for (name, value) in env {
            if let Some(key) = name.strip_prefix("GATEHOUSE_") {
                let key = key.to_ascii_lowercase();
                // Variables the test harness and tools set for themselves are not configuration keys.
                if defaults.contains_key(&key) {
                    let typed = typed_value(&defaults, &key, &value, &format!("environment variable {name}"))?;
                    table.insert(key, typed);
                }
            }
        }
        for (key, value) in parse_flags(flags)? {
            if !defaults.contains_key(&key) {
                return Err(ConfigError::UnknownKey(key));
            }
            let typed = typed_value(&defaults, &key, &value, &format!("flag --{key}"))?;
            table.insert(key, typed);
        }
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Where the key that seals secrets at rest is kept.
    pub fn secrets_key_path(&self) -> PathBuf {
        if self.secrets_key_file.is_empty() {
            self.prefix.join("secrets.key")
        } else {
            PathBuf::from(&self.secrets_key_file)
        }
    }

    /// Checks everything that can be checked without binding or connecting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, _) in self.listen_settings() {
            self.listeners(key)?;
        }
        if self.prefix.as_os_str().is_empty() {
            return Err(ConfigError::Invalid("'prefix' must not be empty".into()));
        }
        if self.ssl_cert.is_empty() != self.ssl_cert_key.is_empty() {
            return Err(ConfigError::Invalid("'ssl_cert' and 'ssl_cert_key' must be set together".into()));
        }
        self.header_set()?;
        self.head_limits()?;
        self.client_header_timeout()?;
        self.proxy_workers()?;
        self.oxd_settings()?;
        if self.database == Database::Postgres && self.pg_host.is_empty() {
            return Err(ConfigError::Invalid("'pg_host' must be set when 'database' is 'postgres'".into()));
        }
        Ok(())
    }

    /// The listen settings, by key, in the order listeners start.
    pub fn listen_settings(&self) -> [(&'static str, &str); 4] {
        [
            ("admin_listen", &self.admin_listen),
            ("admin_gui_listen", &self.admin_gui_listen),
            ("oxd_listen", &self.oxd_listen),
            ("proxy_listen", &self.proxy_listen),
        ]
    }

    /// The parsed entries of the listen setting `key`.
    pub fn listeners(&self, key: &str) -> Result<Vec<ListenSpec>, ConfigError> {
        let value = self
            .listen_settings()
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .ok_or_else(|| ConfigError::UnknownKey(key.into()))?;
        parse_listen(value).map_err(|message| ConfigError::Value {
            key: key.into(),
            origin: "the configuration".into(),
            message,
        })
    }

    /// The parsed `headers` setting.
    pub fn header_set(&self) -> Result<proxy::headers::HeaderSet, ConfigError> {
        proxy::headers::HeaderSet::parse(&self.headers).map_err(|message| ConfigError::Value {
            key: "headers".into(),
            origin: "the configuration".into(),
            message,
        })
    }

    /// The parsed `large_client_header_buffers` setting.
    pub fn head_limits(&self) -> Result<proxy::request_head::HeadLimits, ConfigError> {
        proxy::request_head::HeadLimits::parse(&self.large_client_header_buffers).map_err(|message| {
            ConfigError::Value {
                key: "large_client_header_buffers".into(),
                origin: "the configuration".into(),
                message,
            }
        })
    }

    /// The parsed `client_header_timeout` setting.
    pub fn client_header_timeout(&self) -> Result<Duration, ConfigError> {
        parse_nginx_time(&self.client_header_timeout).filter(|timeout| !timeout.is_zero()).ok_or_else(|| {
            ConfigError::Value {
                key: "client_header_timeout".into(),
                origin: "the configuration".into(),
                message: format!("'{}' is not a time such as 60s, 500ms or 1m", self.client_header_timeout),
            }
        })
    }

    /// The parsed `nginx_worker_processes` setting: how many proxy workers run.
    pub fn proxy_workers(&self) -> Result<usize, ConfigError> {
        let value = self.nginx_worker_processes.trim();
        if value == "auto" {
            return Ok(std::thread::available_parallelism().map_or(1, usize::from));
        }
        value.parse::<usize>().ok().filter(|n| (1..=1024).contains(n)).ok_or_else(|| ConfigError::Value {
            key: "nginx_worker_processes".into(),
            origin: "the configuration".into(),
            message: format!("'{value}' is neither 'auto' nor a number of workers from 1 to 1024"),
        })
    }

    pub fn sqlite_file(&self) -> PathBuf {
        if self.sqlite_path.is_empty() { self.prefix.join("gatehouse.db") } else { PathBuf::from(&self.sqlite_path) }
    }

    pub fn ssl_dir(&self) -> PathBuf {
        self.prefix.join("ssl")
    }

    /// The configuration as `GET /` shows it: Kong's key names, list settings as arrays, secrets masked.
    pub fn public_view(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).expect("the configuration serializes");
        let map = value.as_object_mut().expect("the configuration is an object");
        for key in SECRET_KEYS {
            if map.get(*key).and_then(|v| v.as_str()).is_some_and(|v| !v.is_empty()) {
                map.insert((*key).into(), "******".into());
            }
        }
        for (key, setting) in self.listen_settings() {
            let entries: Vec<String> = setting.split(',').map(|s| s.trim().to_string()).collect();
            map.insert(key.into(), entries.into());
        }
        value
    }
}

/// nginx's time syntax: a number with `ms`, `s` (the default), `m` or `h`.
pub(crate) fn parse_nginx_time(value: &str) -> Option<Duration> {
    let value = value.trim();
    let digits = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let number: u64 = value[..digits].parse().ok()?;
    let millis = match &value[digits..] {
        "ms" => number,
        "" | "s" => number.checked_mul(1000)?,
        "m" => number.checked_mul(60_000)?,
        "h" => number.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(millis))
}

/// Splits `--key value` / `--key=value` pairs, normalising dashes in the key to underscores.
fn parse_flags(flags: &[String]) -> Result<Vec<(String, String)>, ConfigError> {
    let mut pairs = Vec::new();
    let mut iter = flags.iter();
    while let Some(flag) = iter.next() {
        let Some(body) = flag.strip_prefix("--") else {
            return Err(ConfigError::Invalid(format!("unexpected argument '{flag}' (settings are --key value)")));
        };
        let (key, value) = match body.split_once('=') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (body.to_string(), iter.next().ok_or_else(|| ConfigError::MissingValue(flag.clone()))?.clone()),
        };
        pairs.push((key.replace('-', "_"), value));
    }
    Ok(pairs)
}

/// Types a string from the environment or the command line by the default value's TOML type.
fn typed_value(defaults: &toml::Table, key: &str, raw: &str, origin: &str) -> Result<toml::Value, ConfigError> {
    let invalid = |message: String| ConfigError::Value { key: key.into(), origin: origin.into(), message };
    Ok(match defaults.get(key) {
        Some(toml::Value::Integer(_)) => {
            toml::Value::Integer(raw.trim().parse().map_err(|_| invalid(format!("'{raw}' is not an integer")))?)
        }
        Some(toml::Value::Boolean(_)) => toml::Value::Boolean(match raw.trim() {
            "on" | "true" => true,
            "off" | "false" => false,
            _ => return Err(invalid(format!("'{raw}' is not on/off"))),
        }),
        _ => toml::Value::String(raw.to_string()),
    })
}

mod oxd;
pub use oxd::OxdApiSettings;
#[cfg(test)]
mod tests;
