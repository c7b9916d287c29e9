//! `gatehouse`: run the server, or manage users and clients.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use gatehouse_core::{Clock, SystemClock};
use gatehouse_server::cli::{Cli, Command, Session, run};
use gatehouse_server::{App, Config, StartError, open_store};
use tracing_subscriber::EnvFilter;

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("gatehouse: {message}");
    ExitCode::FAILURE
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("GATEHOUSE_LOG")
                .unwrap_or_else(|_| EnvFilter::new("info,sea_orm_migration=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match cli.raw_config().and_then(Config::load) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let now = SystemClock.now();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match serve(config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
        Command::Migrate => match open_store(&config).await {
            Ok(_) => {
                println!("database is up to date");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        command => match open_store(&config).await {
            Ok(store) => run(&Session::new(&store, &config, now), command)
                .await
                .map_or_else(fail, |()| ExitCode::SUCCESS),
            Err(e) => fail(e),
        },
    }
}

async fn serve(config: Config) -> Result<(), StartError> {
    let addr = config.listen;
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    let issuer = app.config.issuer.clone();
    tracing::info!("Gatehouse is listening on {addr} as issuer {issuer}");
    tracing::info!("discovery: {issuer}/.well-known/openid-configuration");
    let users = app.store.list_users().await.map(|u| u.len()).unwrap_or(0);
    let clients = app.store.list_clients().await.map(|c| c.len()).unwrap_or(0);
    if users == 0 {
        tracing::info!(
            "no users yet: create one with `echo 'a long password' | gatehouse user create alice --password-stdin`"
        );
    }
    if clients == 0 {
        tracing::info!(
            "no clients yet: register one with `gatehouse client create --name 'My app' --redirect-uri http://127.0.0.1:3000/callback`"
        );
    }
    app.serve(listener, shutdown_signal())
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    tracing::info!("stopped");
    Ok(())
}

/// SIGINT or SIGTERM: stop accepting connections and let in-flight requests finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
