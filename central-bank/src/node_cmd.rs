//! The node's own commands: `init` (a new ledger and its keys), `serve` (the node), and the
//! audit of a remote node through its API with an operator or auditor key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use dfc_central_bank::admission::Admission;
use dfc_central_bank::datadir::{self, InitOptions};
use dfc_central_bank::server;
use dfc_client::BankClient;
use dfc_client::Signer;

use crate::*;

pub(crate) fn init(a: InitArgs) -> Result<ExitCode> {
    let opts = InitOptions {
        network_id: a.network_id.unwrap_or_else(datadir::random_network_id),
        name: a.name,
        currency: a.currency,
        decimals: a.decimals,
        operators: a.operators,
        threshold: a.threshold,
        operator_keys_dir: a.operator_keys_dir,
        reporting_threshold: a
            .reporting_threshold
            .as_deref()
            .map(|t| dfc_core::Amount::parse(t, a.decimals))
            .transpose()
            .context("--reporting-threshold")?,
        auditors: a.auditors,
        tls_names: (a.tls || !a.tls_name.is_empty()).then_some(a.tls_name),
        outside_operators: a
            .operator_key
            .iter()
            .map(|k| parse_operator_key(k))
            .collect::<Result<_>>()?,
        key_passphrase: if a.encrypt_keys {
            Some(datadir::KeyPassphrase(
                dfc_keys::passphrase::new_passphrase(&a.data)?,
            ))
        } else {
            None
        },
    };
    let report = datadir::init(&a.data, &opts)?;
    if a.json {
        print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let p = &report.params;
    println!("created ledger in {}", report.data_dir.display());
    println!(
        "network {} ({}), currency {}, {}-of-{} operators",
        p.network_id,
        p.name,
        p.currency,
        p.threshold,
        p.issuers.len()
    );
    println!("genesis block {}", report.genesis_hash);
    if p.sandbox {
        println!();
        println!("*** SANDBOX: the operator keys are stored beside the ledger. Never use it for real money. ***");
    }
    for k in &report.operator_keys {
        println!("operator key: {}", k.display());
    }
    for (i, k) in p
        .issuers
        .iter()
        .enumerate()
        .skip(report.operator_keys.len())
    {
        println!("operator {i}: {k} (held outside this directory)");
    }
    if a.encrypt_keys {
        println!(
            "key files are encrypted: give their passphrase in DFC_KEY_PASSPHRASE or at the prompt"
        );
    }
    for k in &report.auditor_keys {
        println!("auditor key: {}", k.display());
    }
    println!(
        "run: dfc-bank serve --data {} --listen 127.0.0.1:7400",
        report.data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn serve(
    data: &Path,
    listen: &str,
    options: server::NodeOptions,
    admission: std::sync::Arc<Admission>,
    tls: &dfc_central_bank::tls::TlsArgs,
) -> Result<()> {
    // The transport is settled before the ledger is opened or locked, and plain HTTP off
    // loopback is refused before any socket is bound: a refused start leaves nothing behind.
    if let Ok(addr) = listen.parse::<std::net::SocketAddr>() {
        if tls.tls_cert.is_none() && dfc_central_bank::tls::data_dir_pair(data).is_none() {
            dfc_central_bank::tls::check_plain_http(addr, tls.insecure_http)?;
        }
    }
    let stop = StopSignals::listen();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let acceptor = tls.acceptor(data, addr)?;
    let mut options = options;
    if let Some(c) = options.cluster.as_mut() {
        // Named by the address it listens on (`--listen 127.0.0.1:0` names the port picked).
        c.node = addr.to_string();
    }
    let started = server::start_with(data, options)
        .with_context(|| format!("cannot serve {}", data.display()))?;
    let sequencer = started.sequencer;
    let table_check = started.table_check;
    let (halt_tx, halt_rx) = tokio::sync::oneshot::channel::<()>();
    let watcher = tokio::task::spawn_blocking(move || {
        let r = sequencer.join();
        let _ = halt_tx.send(());
        r
    });
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{addr}");
    // Kept beside the ledger: `dfc-bank --data DIR` and `dfc-wallet --sandbox DIR` find it.
    if let Err(e) = dfc_client::endpoint::write_node_url(data, &url) {
        tracing::warn!(error = %e, "cannot record the node's URL in the data directory");
    }
    if acceptor.is_none() {
        println!(
            "plain HTTP without TLS: {} (give --tls-cert/--tls-key, or `dfc-bank init --tls`, for a node other hosts reach)",
            if addr.ip().is_loopback() {
                "loopback only"
            } else {
                "--insecure-http: anyone on the path can read and alter the traffic"
            }
        );
    }
    println!("listening on {url}");
    tracing::info!(%addr, tls = acceptor.is_some(), "listening");
    let (bad_tx, bad_rx) = tokio::sync::oneshot::channel::<String>();
    let shutdown = async move {
        // Resolves only when the background table check failed.
        let failed = async {
            match table_check.await {
                Ok(e) => e,
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            signal = stop.recv() => tracing::info!(signal, "shutting down"),
            _ = halt_rx => tracing::error!("sequencer stopped; shutting down"),
            e = failed => {
                tracing::error!(error = %e, "ledger integrity check failed; halting");
                let _ = bad_tx.send(e.to_string());
            }
        }
    };
    server::serve_tls_with(started.state, listener, admission, acceptor, shutdown).await?;
    // The router (and so the sequencer's queue) is dropped: the sequencer drains and ends.
    let stopped = watcher.await?;
    if let Ok(found) = bad_rx.await {
        // The writer has stopped: withdraw the summary so the next start replays before serving.
        let ledger = data.join(datadir::LEDGER_FILE);
        if let Err(e) = dfc_central_bank::table_check::withdraw_summary(&ledger) {
            tracing::error!(error = %e, "cannot withdraw the signed summary");
        }
        bail!(
            "ledger integrity check failed (background check of the table digests, after the \
             node answered): {found}; the node halted and withdrew its signed summary, so the \
             next start replays the ledger and names the first bad record"
        );
    }
    match stopped {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(anyhow!("the sequencer stopped on a storage failure: {e}")),
        Err(_) => Err(anyhow!("the sequencer panicked")),
    }
}

/// The signals that stop the node gracefully: SIGINT (Ctrl-C) and, on Unix, SIGTERM, which
/// service managers (systemd, container runtimes) send. Either one stops the node gracefully:
/// requests in flight are answered, then the sequencer drains its queue and folds the write-ahead
/// log into the ledger file (`Sequencer::run`), so the next start reads no log. Without this,
/// SIGTERM's default action ended the process at once and left the log for the next start to
/// copy before it answered.
///
/// They are listened for from [`StopSignals::listen`] on, before the node announces its address:
/// a stop sent as soon as the address is printed is never taken by the default action.
struct StopSignals {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(int), Ok(term)) => StopSignals {
                    signals: Some((int, term)),
                },
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the node gracefully");
                    StopSignals { signals: None }
                }
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Resolves with the signal's name when one arrives.
    async fn recv(self) -> &'static str {
        #[cfg(unix)]
        if let Some((mut int, mut term)) = self.signals {
            return tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
        }
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// `dfc-bank audit --bank URL --key FILE [--cosigned FILE]`.
pub(crate) async fn remote_audit_cmd(
    bank: &str,
    key_spec: &str,
    json: bool,
    cosigned: Option<&Path>,
) -> Result<ExitCode> {
    let brought = cosigned
        .map(crate::audit_cmd::read_cosigned)
        .transpose()?
        .unwrap_or_default();
    // Trusts the certificate named by `DFC_CA`, as the other commands do without `--ca`.
    let ca = std::env::var_os(dfc_client::tls::CA_ENV).map(PathBuf::from);
    let pin = dfc_client::TlsPin::bootstrap(ca.as_deref(), None)?;
    let client = BankClient::with_pin(bank, pin.as_ref())?;
    let params = client.params().await?;
    let signer = dfc_client::keyfile::open_signer(key_spec)?;
    let public = signer.public();
    if !params.issuers.contains(&public) && !params.auditors.contains(&public) {
        bail!(
            "{} is neither an operator nor an auditor key of this network: the node serves blocks only to those",
            signer.describe()
        );
    }
    let client = client.with_read_signer(&params, signer);
    match dfc_central_bank::remote_audit::audit_remote(&client, &params, &brought).await {
        Ok(r) => {
            if json {
                print_json(&serde_json::json!({"pass": true, "report": r}))?;
            } else {
                println!("height:            {}", r.height);
                println!("supply:            {}", params.format(r.supply));
                println!("notes outstanding: {}", r.notes_outstanding);
                println!("transactions:      {}", r.tx_count);
                println!("audit log entries: {}", r.audit_entries);
                if let Some(h) = r.anchored_height {
                    println!("co-signed up to:   block {h}");
                }
                println!("PASS");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(dfc_central_bank::remote_audit::RemoteAuditError::Client(e)) => Err(e.into()),
        Err(e) => {
            if json {
                print_json(&serde_json::json!({"pass": false, "error": e.to_string()}))?;
            } else {
                println!("FAIL: {e}");
            }
            Ok(ExitCode::from(2))
        }
    }
}
