//! `dfc-tui`: the operator console and the wallet app of dfc in a terminal.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use dfc_central_bank::datadir;
use dfc_client::BankClient;
use dfc_tui::console::net::{self, KeyFile};
use dfc_tui::console::{sandbox, Console};
use dfc_tui::wallet::{self as wallet_app, WalletApp};
use tokio::sync::mpsc;
use zeroize::Zeroizing;

/// How often the screens tick (clocks, polling schedules).
const TICK: Duration = Duration::from_millis(250);

#[derive(Parser)]
#[command(
    name = "dfc-tui",
    version,
    about = "dfc in a terminal: the central-bank operator console and the wallet app"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The central-bank operator console.
    Console(ConsoleArgs),
    /// The wallet app.
    Wallet(WalletArgs),
}

#[derive(Args)]
struct ConsoleArgs {
    /// Run a sandbox node inside the console: creates the data directory (--data, default
    /// ./sandbox) with `dfc-bank init` if it has no ledger, serves it on a loopback port (chosen
    /// at the first start and kept in DATA/node-url, so the URL is the same at every reopen) and
    /// loads every operator key in it (press o to switch operator).
    #[arg(long)]
    sandbox: bool,
    /// The node's URL (without --sandbox).
    #[arg(long, default_value = "http://127.0.0.1:7400")]
    bank: String,
    /// With --sandbox: the address to serve the sandbox on (e.g. 127.0.0.1:7400), instead of
    /// the one chosen at its first start and kept in DATA/node-url.
    #[arg(long, requires = "sandbox")]
    listen: Option<String>,
    /// What signs the operator's actions and reads: a key file (encrypted, its passphrase from
    /// DFC_KEY_PASSPHRASE or a prompt before the screen opens, or plain hex) or a key in a
    /// PKCS#11 token named by an RFC 7512 URI, as `dfc-bank --signer`, e.g.
    /// `pkcs11:token=dfc;object=operator-1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:DFC_PKCS11_PIN`.
    /// `--key` is the same option.
    #[arg(
        long = "signer",
        visible_alias = "key",
        env = "DFC_SIGNER",
        value_name = "FILE|PKCS11-URI",
        conflicts_with = "sandbox"
    )]
    key: Option<String>,
    /// Data directory: the sandbox's, or a node's whose operator keys (operator-N.key) the
    /// console loads. Only the sandbox's ledger is replayed by the audit; a node's is audited
    /// through its API (supply invariant, audit-log chain).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The regulator's key file (`regulator.key`), for the Regulator tab; by default the one in
    /// the data directory, if any.
    #[arg(long)]
    regulator_key: Option<PathBuf>,
    /// With --sandbox, when it creates the sandbox: turn on the compliance rules, disclosing
    /// payments at or above this amount (e.g. 1000.00) to the regulator, whose key it writes as
    /// DATA/regulator.key.
    #[arg(long, requires = "sandbox")]
    reporting_threshold: Option<String>,
    /// Without --sandbox: the node's TLS certificate or CA (PEM) to trust; by default
    /// DATA/tls-cert.pem if present. The in-process sandbox serves plain HTTP on loopback.
    #[arg(long, env = dfc_client::tls::CA_ENV, value_name = "FILE", conflicts_with = "sandbox")]
    ca: Option<PathBuf>,
    /// Operator to act as first (index among the network's operators).
    #[arg(long)]
    operator: Option<u8>,
    /// Log file (default: DATA/dfc-tui.log, else dfc-tui.log in the temporary directory).
    #[arg(long)]
    log: Option<PathBuf>,
}

#[derive(Args)]
struct WalletArgs {
    /// Wallet directory (created and registered with `dfc-wallet`).
    #[arg(long, env = "DFC_WALLET", default_value_os_t = default_wallet_dir())]
    wallet: PathBuf,
    /// Node URL; overrides the one stored at registration.
    #[arg(long)]
    bank: Option<String>,
    /// The node of a sandbox or data directory (its URL is in DIR/node-url; default
    /// ./sandbox); overrides the one stored at registration.
    #[arg(long, num_args = 0..=1, default_missing_value = dfc_client::endpoint::DEFAULT_SANDBOX_DIR, conflicts_with = "bank")]
    sandbox: Option<PathBuf>,
    /// The node's TLS certificate or CA (PEM) to trust before the network parameters' pin;
    /// with --sandbox DIR, DIR/tls-cert.pem if present.
    #[arg(long, env = dfc_client::tls::CA_ENV, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Log file (default: WALLET/dfc-tui.log).
    #[arg(long)]
    log: Option<PathBuf>,
}

fn default_wallet_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".dfc")
        .join("wallet")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Cmd::Console(a) => rt.block_on(console(a)),
        Cmd::Wallet(a) => wallet(a).and_then(|w| rt.block_on(w)),
    };
    // Background tasks (polls in flight) are abandoned rather than awaited.
    rt.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", dfc_core::error::error_line(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn console(a: ConsoleArgs) -> Result<()> {
    let data = match (a.sandbox, &a.data) {
        (true, None) => Some(PathBuf::from("sandbox")),
        (_, d) => d.clone(),
    };
    if a.sandbox {
        if let Some(d) = &data {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
        }
    }
    let log = match (&a.log, &data) {
        (Some(l), _) => l.clone(),
        (None, Some(d)) if d.is_dir() => d.join("dfc-tui.log"),
        _ => std::env::temp_dir().join("dfc-tui.log"),
    };
    dfc_tui::app::log_to_file(&log)?;
    let threshold = a
        .reporting_threshold
        .as_deref()
        .map(|t| {
            dfc_core::Amount::parse(t.trim(), datadir::InitOptions::default().decimals)
                .with_context(|| format!("--reporting-threshold {t}"))
        })
        .transpose()?;
    let (msg_tx, mut msg_rx) = mpsc::unbounded_channel();
    let node = match (&data, a.sandbox) {
        (Some(d), true) => {
            Some(sandbox::start(d, threshold, a.listen.as_deref(), msg_tx.clone()).await?)
        }
        _ => None,
    };
    let url = node
        .as_ref()
        .map(|n| n.url.clone())
        .unwrap_or_else(|| a.bank.clone());
    let keys = match (&a.key, &data) {
        (Some(spec), _) => vec![KeyFile {
            path: PathBuf::from(spec),
            signer: dfc_client::keyfile::open_signer(spec)
                .with_context(|| format!("cannot open the signer {spec}"))?,
        }],
        (None, Some(d)) => sandbox::operator_keys(d)?,
        (None, None) => Vec::new(),
    };
    if keys.is_empty() {
        tracing::warn!("no operator key loaded: the console is read-only");
    }
    // The full replay reads the ledger file, so only the in-process sandbox's; any other node
    // is audited through its API.
    let replay_dir = data
        .clone()
        .filter(|d| a.sandbox && d.join(datadir::LEDGER_FILE).exists());
    let regulator = match (&a.regulator_key, &data) {
        (Some(k), _) => Some(
            datadir::read_regulator_key(k)
                .with_context(|| format!("cannot read the regulator key {}", k.display()))?,
        ),
        (None, Some(d)) => sandbox::regulator_key(d)?,
        (None, None) => None,
    };
    let has_regulator_key = regulator.is_some();
    // The in-process sandbox speaks plain HTTP on loopback; a remote node is pinned by --ca or
    // the data directory's certificate.
    let pin = match &node {
        Some(_) => None,
        None => dfc_client::TlsPin::bootstrap(a.ca.as_deref(), data.as_deref())?,
    };
    let commands = net::spawn(
        BankClient::with_pin(&url, pin.as_ref())?,
        keys,
        replay_dir.clone(),
        regulator,
        msg_tx,
    );
    let mut screen = Console::new(&url, replay_dir.is_some(), Some(commands));
    screen.preferred_operator = a.operator;
    screen.has_regulator_key = has_regulator_key;
    if let Some(n) = &node {
        if !n.created && threshold.is_some() {
            screen.notice = Some(dfc_tui::ui::Notice::err(format!(
                "--reporting-threshold ignored: the sandbox in {} already exists (use a new --data DIR)",
                data.as_ref()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            )));
        } else if n.created {
            screen.notice = Some(dfc_tui::ui::Notice::ok(format!(
                "created a 2-of-3 sandbox in {}{}: press ? for keys, o to switch operator",
                data.as_ref()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default(),
                if threshold.is_some() {
                    " with compliance rules (Regulator tab)"
                } else {
                    ""
                }
            )));
        }
    }
    let mut terminal = ratatui::init();
    let r = dfc_tui::app::run(&mut terminal, &mut screen, &mut msg_rx, TICK).await;
    ratatui::restore();
    if let Some(n) = node {
        n.stop().await;
    }
    r.context("terminal")
}

fn passphrase() -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("DFC_WALLET_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    Ok(Zeroizing::new(
        rpassword::prompt_password("Wallet passphrase: ").context("reading the passphrase")?,
    ))
}

fn wallet(a: WalletArgs) -> Result<impl std::future::Future<Output = Result<()>>> {
    if !a.wallet.join(dfc_wallet::KEY_FILE).exists() {
        bail!(
            "no wallet in {}: create one with `dfc-wallet --wallet {} create` and register it",
            a.wallet.display(),
            a.wallet.display()
        );
    }
    let log = a
        .log
        .clone()
        .unwrap_or_else(|| a.wallet.join("dfc-tui.log"));
    dfc_tui::app::log_to_file(&log)?;
    let bank = match (&a.bank, &a.sandbox) {
        (Some(b), _) => Some(b.clone()),
        (None, Some(d)) => Some(dfc_client::endpoint::read_node_url(d)?),
        (None, None) => None,
    };
    let pin = dfc_client::TlsPin::bootstrap(a.ca.as_deref(), a.sandbox.as_deref())?;
    let pass = passphrase()?;
    let (msg_tx, msg_rx) = mpsc::unbounded_channel();
    let handle = wallet_app::worker::open(&a.wallet, &pass, bank, pin, msg_tx)?;
    Ok(async move {
        let mut msg_rx = msg_rx;
        let mut screen = WalletApp::new(&handle);
        let mut terminal = ratatui::init();
        let r = dfc_tui::app::run(&mut terminal, &mut screen, &mut msg_rx, TICK).await;
        ratatui::restore();
        r.context("terminal")
    })
}
