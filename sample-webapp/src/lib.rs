//! sample-webapp: a tiny notes service backed by Postgres, the webapp of the DevOps take-home.
//!
//! Start-up runs in one direction: environment → [`config::Config`] → a database connection
//! made within `DB_CONNECT_TIMEOUT_SECS` ([`db::connect_at_start`]) → a supervisor that keeps the
//! link alive ([`db::supervise`]) → the HTTP server ([`http::router`]) until SIGTERM/SIGINT.
//! Every log line is one JSON object on stdout ([`log`]).

pub mod config;
pub mod db;
pub mod healthcheck;
pub mod http;
pub mod log;

use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// How long in-flight requests get after SIGTERM/SIGINT before the server closes them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// Exit status: normal stop (including SIGTERM/SIGINT).
pub const EXIT_OK: u8 = 0;
/// Exit status: bad configuration, database unreachable at start, or cannot listen.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: unknown command-line arguments.
pub const EXIT_USAGE: u8 = 2;

/// SIGTERM and SIGINT, installed before anything slow starts.
struct StopSignals {
    term: Signal,
    int: Signal,
}

impl StopSignals {
    fn install() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for either signal and names it.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// Runs the service until a stop signal; returns the process exit status.
pub async fn serve(config: config::Config) -> u8 {
    for warning in &config.warnings {
        log::warn("configuration", json!({ "warning": warning }));
    }
    let endpoint = config.db.endpoint();
    log::info(
        "starting",
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "listen": config.listen.to_string(),
            "database": endpoint,
            "database_name": config.db.dbname,
            "user": config.db.user,
            "config_from": match config.db.source {
                config::DbSource::DatabaseUrl => "DATABASE_URL",
                config::DbSource::PgVars => "PG* variables",
            },
            "connect_timeout_secs": config.connect_timeout.as_secs(),
        }),
    );
    let mut stop = match StopSignals::install() {
        Ok(stop) => stop,
        Err(e) => {
            log::error(
                "cannot install signal handlers",
                json!({ "error": e.to_string() }),
            );
            return EXIT_FAILURE;
        }
    };
    let connection = tokio::select! {
        connected = db::connect_at_start(&config.db, config.connect_timeout) => match connected {
            Ok(connection) => connection,
            Err(error) => {
                log::error(
                    &format!(
                        "could not connect to the database at {endpoint} within {} s: {error}",
                        config.connect_timeout.as_secs()
                    ),
                    json!({
                        "database": endpoint,
                        "timeout_secs": config.connect_timeout.as_secs(),
                        "error": error,
                    }),
                );
                return EXIT_FAILURE;
            }
        },
        signal = stop.recv() => {
            log::info("stopped before the database was reached", json!({ "signal": signal }));
            return EXIT_OK;
        }
    };
    log::info(
        "database connected",
        json!({ "database": endpoint, "table": db::TABLE }),
    );
    let db = db::supervise(config.db.clone(), connection);
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            log::error(
                &format!("cannot listen on {}: {e}", config.listen),
                json!({ "listen": config.listen.to_string(), "error": e.to_string() }),
            );
            return EXIT_FAILURE;
        }
    };
    log::info("listening", json!({ "listen": config.listen.to_string() }));
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let app = http::router(db).into_make_service_with_connect_info::<SocketAddr>();
    let mut server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = server_stopped.await;
            })
            .await
    });
    tokio::select! {
        signal = stop.recv() => {
            log::info("shutting down", json!({ "signal": signal }));
            let _ = stop_server.send(());
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
                Ok(_) => log::info("stopped", json!({})),
                Err(_) => {
                    server.abort();
                    log::warn(
                        "stopped with requests still open",
                        json!({ "grace_ms": SHUTDOWN_GRACE.as_millis() as u64 }),
                    );
                }
            }
            EXIT_OK
        }
        ended = &mut server => {
            let error = match ended {
                Ok(Ok(())) => "the server ended".to_string(),
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            };
            log::error("the HTTP server stopped unexpectedly", json!({ "error": error }));
            EXIT_FAILURE
        }
    }
}
