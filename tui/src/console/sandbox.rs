//! The newcomer's sandbox: `dfc-bank init` if the directory has no ledger, then the node served
//! in-process on a loopback port, its logs in the console's log file. The port is chosen once (a
//! free one) and kept in the sandbox directory (`node-url`, see [`dfc_client::endpoint`]), so
//! every reopen serves the same URL and registered wallets keep working; `--listen` overrides it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use dfc_central_bank::datadir::{self, InitOptions};
use dfc_central_bank::server;
use dfc_client::endpoint;
use dfc_core::Amount;
use tokio::sync::{mpsc, oneshot};

use super::net::KeyFile;
use super::Msg;

/// Most operator key files looked for in a data directory.
const MAX_OPERATORS: usize = 255;

/// A node running inside the console.
pub struct Sandbox {
    /// Its URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// Whether `init` ran now.
    pub created: bool,
    shutdown: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Creates the sandbox in `dir` if it has no ledger; `reporting_threshold` turns on the
/// compliance rules (and creates the regulator's key) in a new sandbox.
pub fn ensure_init(dir: &Path, reporting_threshold: Option<Amount>) -> Result<bool> {
    if dir.join(datadir::LEDGER_FILE).exists() {
        return Ok(false);
    }
    let opts = InitOptions {
        reporting_threshold,
        ..InitOptions::default()
    };
    datadir::init(dir, &opts)
        .with_context(|| format!("cannot create the sandbox in {}", dir.display()))?;
    Ok(true)
}

/// The address the sandbox in `dir` listens on: `listen` if given, else the one kept from its
/// first start, else a free loopback port (`127.0.0.1:0`).
pub fn listen_address(dir: &Path, listen: Option<&str>) -> Result<(String, bool)> {
    if let Some(l) = listen {
        return Ok((l.to_string(), false));
    }
    match endpoint::read_node_url(dir) {
        Ok(url) => Ok((
            endpoint::listen_address_of(&url)
                .with_context(|| format!("{}: no address in {url}", dir.display()))?
                .to_string(),
            true,
        )),
        Err(endpoint::EndpointError::Missing { .. }) => Ok(("127.0.0.1:0".to_string(), false)),
        Err(e) => Err(e.into()),
    }
}

/// Starts the node on `dir` (created first if needed, see [`ensure_init`]) on `listen`, else
/// on the address kept in `dir` ([`listen_address`]), and records the URL it serves in `dir`; a
/// stop of its sequencer is reported on `msgs`.
pub async fn start(
    dir: &Path,
    reporting_threshold: Option<Amount>,
    listen: Option<&str>,
    msgs: mpsc::UnboundedSender<Msg>,
) -> Result<Sandbox> {
    let created = ensure_init(dir, reporting_threshold)?;
    let (addr, kept) = listen_address(dir, listen)?;
    // Bound before the node starts, so a taken port changes nothing and says what to do.
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| {
            if kept {
                format!(
                    "cannot listen on {addr}, the sandbox's address (kept in {}): is this sandbox \
                 already open in another console, or the port taken? Use --listen ADDR to serve \
                 it elsewhere (registered wallets then need --bank URL or --sandbox DIR)",
                    endpoint::node_url_path(dir).display()
                )
            } else {
                format!("cannot listen on {addr}")
            }
        })?;
    let started = server::start(dir).with_context(|| format!("cannot serve {}", dir.display()))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    endpoint::write_node_url(dir, &url)
        .with_context(|| format!("cannot write {}", endpoint::node_url_path(dir).display()))?;
    tracing::info!(%addr, dir = %dir.display(), "sandbox node listening");
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(started.state, listener, async move {
        let _ = stop_rx.await;
    }));
    let sequencer = started.sequencer;
    tokio::task::spawn_blocking(move || {
        let why = match sequencer.join() {
            Ok(Ok(())) => return,
            Ok(Err(e)) => format!("the node stopped on a storage failure: {e}"),
            Err(_) => "the node's sequencer panicked".to_string(),
        };
        tracing::error!("{why}");
        let _ = msgs.send(Msg::NodeStopped(why));
    });
    Ok(Sandbox {
        url,
        created,
        shutdown: Some(stop_tx),
        server,
    })
}

impl Sandbox {
    /// Stops serving and waits for open requests to finish; the sequencer then drains and ends.
    pub async fn stop(mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        match (&mut self.server).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("sandbox server: {e}"),
            Err(e) => tracing::error!("sandbox server task: {e}"),
        }
    }
}

/// The regulator's key in `dir` (`regulator.key`, made by `init --reporting-threshold`), if any.
pub fn regulator_key(dir: &Path) -> Result<Option<dfc_core::compliance::RegulatorKey>> {
    let path = dir.join(datadir::REGULATOR_KEY_FILE);
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(datadir::read_regulator_key(&path).with_context(
        || format!("cannot read the regulator key {}", path.display()),
    )?))
}

/// The operator key files `operator-N.key` in `dir`, from 0 up to the first missing one.
pub fn operator_keys(dir: &Path) -> Result<Vec<KeyFile>> {
    let mut keys = Vec::new();
    for n in 0..MAX_OPERATORS {
        let path: PathBuf = datadir::operator_key_path(dir, n);
        if !path.exists() {
            break;
        }
        let signer = dfc_client::keyfile::open_key_file(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        keys.push(KeyFile { path, signer });
    }
    Ok(keys)
}
