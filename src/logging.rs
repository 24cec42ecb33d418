//! Logging setup: tracing with a level that CONFIG SET loglevel can change.

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::reload;

pub fn level_for(loglevel: &str) -> LevelFilter {
    match loglevel {
        "debug" | "verbose" => LevelFilter::DEBUG,
        "notice" => LevelFilter::INFO,
        "warning" => LevelFilter::WARN,
        "nothing" => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

/// Changes the log level at run time (CONFIG SET loglevel).
pub type LevelSetter = Box<dyn Fn(&str) + Send + Sync>;

/// Install the global subscriber; returns a setter for the level.
pub fn init(loglevel: &str, logfile: &str) -> Result<LevelSetter, String> {
    let (filter, handle) = reload::Layer::new(level_for(loglevel));
    let registry = tracing_subscriber::registry().with(filter);
    if logfile.is_empty() {
        let fmt = tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_writer(std::io::stdout);
        registry.with(fmt).try_init().map_err(|e| e.to_string())?;
    } else {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)
            .map_err(|e| format!("cannot open logfile '{}': {}", logfile, e))?;
        let fmt = tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(f));
        registry.with(fmt).try_init().map_err(|e| e.to_string())?;
    }
    Ok(Box::new(move |lvl: &str| {
        let _ = handle.modify(|f| *f = level_for(lvl));
    }))
}
