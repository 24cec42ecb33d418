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
    Server {
        /// TOML config file; keys are redis.conf directive names.
        #[arg(long)]
        config: Option<PathBuf>,
        /// TCP port (overrides the config file).
        #[arg(long)]
        port: Option<u16>,
        /// Addresses to listen on, e.g. `--bind 127.0.0.1 ::1` (overrides the config file).
        #[arg(long, num_args = 1..)]
        bind: Vec<String>,
        /// debug | verbose | notice | warning | nothing
        #[arg(long)]
        loglevel: Option<String>,
    },
    /// Run a sentinel (monitoring and automatic failover).
    Sentinel {
        /// sentinel.toml; keys are sentinel.conf directive names.
        #[arg(long)]
        config: PathBuf,
        /// TCP port (overrides the config file).
        #[arg(long)]
        port: Option<u16>,
        /// Migrate a real sentinel: convert this sentinel.conf into the file
        /// given with --config plus its state file (keeping myid and epochs), then exit.
        #[arg(long)]
        import_conf: Option<PathBuf>,
    },
}

fn main() {
    let cli = Cli::parse();
    let mode = cli.mode.unwrap_or(Mode::Server {
        config: None,
        port: None,
        bind: vec![],
        loglevel: None,
    });
    match mode {
        Mode::Server {
            config,
            port,
            bind,
            loglevel,
        } => {
            let mut cfg = match &config {
                Some(p) => match Config::load(p) {
                    Ok(c) => c,
                    Err(e) => fatal(&format!("Fatal config error: {}", e)),
                },
                None => Config::default(),
            };
            if let Some(p) = port {
                cfg.port = p as i64;
            }
            if !bind.is_empty() {
                cfg.bind = bind;
            }
            if let Some(l) = loglevel {
                if let Err(e) = cfg.set("loglevel", &l) {
                    fatal(&format!("--loglevel: {}", e));
                }
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
            port,
            import_conf,
        } => {
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
            let mut cfg = match rsredis::sentinel::config::SentinelConfig::load(&config) {
                Ok(c) => c,
                Err(e) => fatal(&format!("Fatal config error: {}", e)),
            };
            if let Some(p) = port {
                cfg.port = p;
            }
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
