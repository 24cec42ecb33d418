use clap::{Parser, Subcommand};
use rsredis::config::Config;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "rsredis",
    version,
    about = "A Redis-compatible server with a built-in Sentinel"
)]
struct Cli {
    #[command(subcommand)]
    mode: Option<Mode>,
}

#[derive(Subcommand)]
enum Mode {
    /// Run a data node (the default).
    #[command(
        after_help = "DIRECTIVES: after the config file, every node.toml key is accepted as \
`--<key> <value>` and overrides the file, as with redis-server, e.g.\n  \
rsredis server --config node.toml --port 7000 --replicaof \"redis-master 6379\" --save \"\""
    )]
    Server {
        /// TOML config file; keys are redis.conf directive names. May also be
        /// given as the first argument, as with redis-server.
        #[arg(long)]
        config: Option<PathBuf>,
        /// `--<key> <value>` directives for any node.toml key (port, bind,
        /// loglevel, replicaof, requirepass, save, ...).
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "DIRECTIVES"
        )]
        args: Vec<String>,
    },
    /// Run a sentinel (monitoring and automatic failover).
    #[command(
        after_help = "DIRECTIVES: after the config file, the scalar sentinel.toml keys \
(port, bind, dir, announce-ip, announce-port, resolve-hostnames, announce-hostnames, \
requirepass, sentinel-user, sentinel-pass, loglevel, logfile) are accepted as \
`--<key> <value>` and override the file."
    )]
    Sentinel {
        /// sentinel.toml; keys are sentinel.conf directive names. May also be
        /// given as the first argument, as with redis-sentinel.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Migrate a real sentinel: convert this sentinel.conf into the file
        /// given with --config plus its state file (keeping myid and epochs), then exit.
        #[arg(long)]
        import_conf: Option<PathBuf>,
        /// `--<key> <value>` directives for the scalar sentinel.toml keys.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "DIRECTIVES"
        )]
        args: Vec<String>,
    },
}

/// `--<key> <value>` pairs from the command line.
type Directives = Vec<(String, String)>;

/// Split `[CONFIG_FILE] --key value ...` into the config file (the `--config`
/// option, a leading path as redis-server takes it, or a `--config` directive)
/// and the remaining directives.
fn split_args(
    config: Option<PathBuf>,
    args: &[String],
) -> Result<(Option<PathBuf>, Directives), String> {
    let mut config = config;
    let mut rest = args;
    if let Some(first) = args.first().filter(|a| !a.starts_with("--")) {
        if config.is_some() {
            return Err(format!("'{}' is not a --<key> <value> directive", first));
        }
        config = Some(PathBuf::from(first));
        rest = &args[1..];
    }
    let mut directives = Vec::new();
    for (k, v) in rsredis::config::parse_directives(rest)? {
        if k == "config" {
            if config.is_some() {
                return Err("the config file is given twice".into());
            }
            config = Some(PathBuf::from(v));
        } else {
            directives.push((k, v));
        }
    }
    Ok((config, directives))
}

fn main() {
    let cli = Cli::parse();
    let mode = cli.mode.unwrap_or(Mode::Server {
        config: None,
        args: vec![],
    });
    match mode {
        Mode::Server { config, args } => {
            let (config, directives) = match split_args(config, &args) {
                Ok(v) => v,
                Err(e) => fatal(&format!("Fatal config error: command line: {}", e)),
            };
            let mut cfg = match &config {
                Some(p) => match Config::load(p) {
                    Ok(c) => c,
                    Err(e) => fatal(&format!("Fatal config error: {}", e)),
                },
                None => Config::default(),
            };
            if let Err(e) = cfg.apply_directives(&directives) {
                fatal(&format!("Fatal config error: command line: {}", e));
            }
            let set_level = match rsredis::logging::init(&cfg.loglevel, &cfg.logfile) {
                Ok(f) => f,
                Err(e) => fatal(&e),
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            if let Err(e) = rt.block_on(rsredis::node::run(cfg, Some(set_level))) {
                fatal(&e);
            }
            // Connection tasks may still hold sockets; exiting closes them.
            std::process::exit(0);
        }
        Mode::Sentinel {
            config,
            import_conf,
            args,
        } => {
            let (config, directives) = match split_args(config, &args) {
                Ok(v) => v,
                Err(e) => fatal(&format!("Fatal config error: command line: {}", e)),
            };
            let Some(config) = config else {
                fatal("sentinel mode needs a config file: rsredis sentinel --config sentinel.toml")
            };
            if let Some(src) = import_conf {
                match rsredis::sentinel::import::import(&src, &config) {
                    Ok(r) => {
                        for s in &r.skipped {
                            eprintln!("rsredis: not imported (no rsredis equivalent): {}", s);
                        }
                        println!(
                            "wrote {} and {}; start it with: rsredis sentinel --config {}",
                            r.toml_path.display(),
                            r.state_path.display(),
                            r.toml_path.display()
                        );
                        std::process::exit(0);
                    }
                    Err(e) => fatal(&format!("import failed: {}", e)),
                }
            }
            let cfg =
                match rsredis::sentinel::config::SentinelConfig::load_with(&config, &directives) {
                    Ok(c) => c,
                    Err(e) => fatal(&format!("Fatal config error: {}", e)),
                };
            if let Err(e) = rsredis::logging::init(&cfg.loglevel, &cfg.logfile) {
                fatal(&e);
            }
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            if let Err(e) = rt.block_on(rsredis::sentinel::driver::run(cfg)) {
                fatal(&e);
            }
            std::process::exit(0);
        }
    }
}

fn fatal(msg: &str) -> ! {
    eprintln!("rsredis: {}", msg);
    std::process::exit(1);
}
