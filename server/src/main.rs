//! `gatehouse`: start the gateway, check a configuration file, move configuration, add administrators,
//! print the version.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use server::config::Config;

/// Read when no `--config` is given and the file exists, as Kong reads /etc/kong/kong.conf.
const DEFAULT_CONFIG_FILE: &str = "/etc/gatehouse/gatehouse.toml";

/// mimalloc instead of glibc's allocator: the proxy allocates and frees small objects on every request from
/// several worker threads, where glibc's malloc/free cost about a seventh of each request's instructions.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    about = "Gatehouse: a Kong-compatible security API gateway with Gluu's OAuth, UMA and OpenID Connect plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start Gatehouse (the default command). Any setting can follow as `--KEY VALUE`.
    Start {
        #[command(flatten)]
        node: NodeSettings,
    },
    /// Check a configuration file (with the environment and any `--KEY VALUE` settings) and exit.
    Check {
        /// TOML configuration file.
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "--KEY VALUE")]
        settings: Vec<String>,
    },
    /// Move configuration in and out in Kong's declarative format (YAML or JSON).
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Manage the admin UI's local administrators.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Print the version.
    Version,
}

#[derive(Subcommand)]
enum AdminAction {
    /// Create a local administrator; the password is read from the first line of standard input.
    Create {
        #[arg(long)]
        username: String,
        #[command(flatten)]
        node: NodeSettings,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    #[command(name = "db_import")]
    /// Validate FILE and apply it to the database in one transaction (entities it names are created or
    /// replaced; others are left as they are).
    DbImport {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        node: NodeSettings,
    },
    #[command(name = "db_export")]
    /// Write the database's configuration to FILE as YAML (`-` for standard output).
    DbExport {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        node: NodeSettings,
    },
}

/// Where a command finds the node's configuration.
#[derive(Args, Default)]
struct NodeSettings {
    /// TOML configuration file.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Settings that override the file and the environment, e.g. `--admin_listen 127.0.0.1:9001`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "--KEY VALUE")]
    settings: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Start { node: NodeSettings::default() });
    match command {
        Command::Version => {
            say(&format!("Gatehouse {} (Kong {} compatible)", proxy::VERSION, proxy::KONG_COMPAT_VERSION));
            ExitCode::SUCCESS
        }
        Command::Check { file, settings } => match load(file.as_deref(), &settings) {
            Ok(_) => {
                let source = file.map(|f| f.display().to_string()).unwrap_or_else(|| "the defaults".into());
                say(&format!("configuration at {source} is valid"));
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error),
        },
        Command::Config { action } => {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => return fail(&format!("cannot start the runtime: {error}")),
            };
            match runtime.block_on(declarative_command(action)) {
                Ok(line) => {
                    if !line.is_empty() {
                        say(&line);
                    }
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error),
            }
        }
        Command::Admin { action: AdminAction::Create { username, node } } => {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => return fail(&format!("cannot start the runtime: {error}")),
            };
            match runtime.block_on(create_admin(&username, &node)) {
                Ok(()) => {
                    say(&format!("administrator {} created", username.trim()));
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error),
            }
        }
        Command::Start { node } => {
            let config = match load(node.config.as_deref(), &node.settings) {
                Ok(config) => config,
                Err(error) => return fail(&error),
            };
            server::logging::init(&config);
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => return fail(&format!("cannot start the runtime: {error}")),
            };
            match runtime.block_on(server::runtime::run(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(&error),
            }
        }
    }
}

/// `gatehouse config db_import|db_export`: returns what to print.
async fn declarative_command(action: ConfigAction) -> Result<String, String> {
    use std::sync::Arc;

    let (ConfigAction::DbImport { node, .. } | ConfigAction::DbExport { node, .. }) = &action;
    let config = load(node.config.as_deref(), &node.settings)?;
    let store = server::store::Store::open(&config).await.map_err(|e| e.to_string())?;
    let node = Arc::new(server::node::Node::new(config, Arc::new(store)));
    match action {
        ConfigAction::DbImport { file, .. } => {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let parsed = server::declarative::parse(&text).map_err(|e| e.to_string())?;
            let applied = server::declarative::import(&node, parsed).await.map_err(|e| e.to_string())?;
            Ok(format!("parse successful; {} entities imported from {}", applied.len(), file.display()))
        }
        ConfigAction::DbExport { file, .. } => {
            let exported = server::declarative::export(&node.store).await.map_err(|e| e.to_string())?;
            let yaml = server::declarative::to_yaml(&exported);
            if file.as_os_str() == "-" {
                return Ok(yaml.trim_end().to_string());
            }
            std::fs::write(&file, yaml).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            Ok(format!("exported the configuration to {}", file.display()))
        }
    }
}

/// `gatehouse admin create`: the password from standard input, never from the command line.
async fn create_admin(username: &str, node: &NodeSettings) -> Result<(), String> {
    let config = load(node.config.as_deref(), &node.settings)?;
    let mut password = String::new();
    std::io::stdin().read_line(&mut password).map_err(|e| format!("cannot read the password: {e}"))?;
    let password = password.trim_end_matches(['\n', '\r']);
    let store = server::store::Store::open(&config).await.map_err(|e| e.to_string())?;
    server::admin_gui::create_local_admin(&store, username, password).await
}

fn load(file: Option<&Path>, settings: &[String]) -> Result<Config, String> {
    let default = Path::new(DEFAULT_CONFIG_FILE);
    let file = file.or_else(|| default.exists().then_some(default));
    Config::load(file, std::env::vars(), settings).map_err(|e| e.to_string())
}

#[expect(clippy::print_stdout, reason = "the answer of a CLI command")]
fn say(line: &str) {
    println!("{line}");
}

/// One line on stderr and a failure exit: no panic, no backtrace.
fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("Error: {error}");
    ExitCode::FAILURE
}
