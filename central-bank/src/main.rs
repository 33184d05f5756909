//! `dfc-bank`: the central-bank node and its operator tools.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use dfc_central_bank::admission::{Admission, AdmissionConfig};
use dfc_central_bank::datadir::{self, InitOptions};
use dfc_central_bank::server;
use dfc_client::BankClient;
use dfc_client::Operator;
use dfc_client::{DynSigner, Signer, SignerError};
use dfc_core::api::{OperatorAction, OperatorResponse};
use dfc_core::{Address, Amount, Hash32, NetworkParams, PublicKey, TxKind};
use serde::Serialize;

mod assess_cmd;
mod audit_cmd;
mod ckpt_cli;
mod cli_out;
mod gov_cli;
mod keys_cli;
mod pg_cli;
use cli_out::CliError;

#[derive(Parser)]
#[command(
    name = "dfc-bank",
    version,
    about = "dfc central-bank node: ledger, API, issuance and redemption"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a data directory: parameters, keys and the ledger with its genesis block. With no
    /// options: a 2-of-3 sandbox whose operator keys sit beside the ledger.
    Init(InitArgs),
    /// Run the node.
    Serve {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on (`127.0.0.1:0` picks a free port and prints it).
        #[arg(long, default_value = "127.0.0.1:7400")]
        listen: String,
        /// Validity of the offline purse certificates the node issues (e.g. `7d`, `12h`, `30s`);
        /// wallets may ask for less, never more.
        #[arg(long, default_value = "7d", value_parser = parse_duration_ms)]
        purse_ttl: u64,
        /// How waiting transactions are verified: `batch` (many in one multiscalar
        /// multiplication, the default) or `single` (one by one, the baseline for benchmarks).
        #[arg(long, default_value = "batch", value_parser = ["batch", "single"])]
        verify: String,
        /// Verification worker threads (default: one per core).
        #[arg(long, default_value_t = 0)]
        verify_workers: usize,
        /// Lifetime of an issue or redeem proposal (e.g. `24h`, `30m`, `10s`): an expired
        /// proposal can no longer be approved and must be proposed again.
        #[arg(long, default_value = "24h", value_parser = parse_duration_ms)]
        proposal_ttl: u64,
        /// Hash every stored row against the signed summary before answering (start-up time
        /// grows with the ledger) instead of in the background after `/healthz` answers.
        #[arg(long)]
        check_tables_first: bool,
        /// Admission control: connection caps, timeouts, rate limit, load shedding.
        #[command(flatten)]
        limits: LimitArgs,
        /// TLS (plain HTTP is for loopback only).
        #[command(flatten)]
        tls: dfc_central_bank::tls::TlsArgs,
    },
    /// The regulator's tool: list the payments disclosed at or above the reporting threshold,
    /// decrypted with the regulator's key, from the node's public blocks.
    Regulator {
        /// The node's URL.
        #[arg(long, default_value = "http://127.0.0.1:7400")]
        bank: String,
        /// The regulator's key file (`regulator.key` made by `init --reporting-threshold`).
        #[arg(long)]
        key: PathBuf,
        /// The node's TLS certificate or CA (PEM) to trust, for an `https://` node.
        #[arg(long, env = dfc_client::tls::CA_ENV, value_name = "FILE")]
        ca: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-verify the whole ledger: a local data directory without the server (every proof and
    /// signature, with the batch verifier on all cores; a progress bar with an ETA on a
    /// terminal), or a remote node over the API with an operator or auditor key
    /// (`--bank URL --key FILE`).
    Audit {
        /// Data directory (local audit).
        #[arg(long, required_unless_present = "bank", conflicts_with = "bank")]
        data: Option<PathBuf>,
        /// The node's URL (remote audit; needs --key).
        #[arg(long, requires = "key")]
        bank: Option<String>,
        /// An operator or auditor key that signs the reads (remote audit): a key file or a
        /// PKCS#11 URI, as `--signer` of the operator commands.
        #[arg(long, value_name = "FILE|PKCS11-URI")]
        key: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Threads verifying proofs (0: one per core).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// Start from a checkpoint you trust (a file written by `--save-checkpoint` after an
        /// audit that passed) instead of genesis: only the blocks after it are verified.
        #[arg(long, value_name = "FILE")]
        from_checkpoint: Option<PathBuf>,
        /// After a passing audit, save the ledger's signed summary of the audited tip as a
        /// checkpoint for the next `--from-checkpoint`.
        #[arg(long, value_name = "FILE")]
        save_checkpoint: Option<PathBuf>,
        /// Also check the co-signed checkpoints in this file (`dfc-bank checkpoint list --json`
        /// or `GET /v1/checkpoints/cosigned`, kept outside the node) against the ledger.
        #[arg(long, value_name = "FILE")]
        cosigned: Option<PathBuf>,
        /// Audit the shared PostgreSQL ledger at this `postgres://…` URL instead of the data
        /// directory's SQLite file (the network parameters still come from --data).
        #[arg(long, value_name = "URL", requires = "data")]
        store: Option<String>,
    },
    /// Move a data directory's SQLite ledger (genesis included) onto a new, empty PostgreSQL
    /// ledger, replaying every block through admission (docs/architecture.md, "Ledger stores").
    PgImport {
        /// Data directory holding the SQLite ledger and the network parameters.
        #[arg(long)]
        data: PathBuf,
        /// The PostgreSQL ledger, `postgres://user@host:port/db`.
        #[arg(long, value_name = "URL")]
        store: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A pass/warn/fail scorecard of a ledger (`--data`: the full audit, key files) or of a live
    /// node (`--node`: what its API shows), each check naming the threats of
    /// docs/threat-model.md it covers. Exits 2 when a check fails.
    Assess {
        /// The node's URL (with --data only looked at: its scheme and host).
        #[arg(long)]
        node: Option<String>,
        /// Data directory: the ledger is read and fully audited, its key files inspected.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// A key in force unchanged for longer than this is reported (e.g. `365d`).
        #[arg(long, default_value = "365d", value_parser = parse_duration_ms)]
        max_key_age: u64,
        /// Threads of the full audit (0: one per core).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// More directories whose key files are inspected (e.g. the operators' key directory).
        #[arg(long, value_name = "DIR")]
        keys: Vec<PathBuf>,
        /// With --node: an operator or auditor key that signs the reads (blocks and the audit
        /// log are served to those only): a key file or a PKCS#11 URI.
        #[arg(long, value_name = "FILE|PKCS11-URI")]
        key: Option<String>,
    },
    /// Issuance.
    Issue {
        #[command(subcommand)]
        cmd: IssueCmd,
    },
    /// Redemption approvals.
    Redeem {
        #[command(subcommand)]
        cmd: RedeemCmd,
    },
    /// List issue and redeem proposals.
    Proposals(OpArgs),
    /// Wallet registry.
    Wallet {
        #[command(subcommand)]
        cmd: WalletCmd,
    },
    /// Parameter changes approved by k of n operators (tier limits, caps, operators, the
    /// regulator key).
    Governance {
        #[command(subcommand)]
        cmd: gov_cli::GovCmd,
    },
    /// Key files and hardware tokens: encrypt plain key files, generate an operator key in a
    /// PKCS#11 token.
    Keys {
        #[command(subcommand)]
        cmd: keys_cli::KeysCmd,
    },
    /// Create the next node key (DATA/node-next.key) for a node-key rotation, and print its
    /// public key for the `node_key` of a governance change. Restart the node to load it.
    NodeKeyNew {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Operator co-signed checkpoints of the chain: sign one, sign every N blocks, list them.
    Checkpoint {
        #[command(subcommand)]
        cmd: ckpt_cli::CkptCmd,
    },
    /// Double-spend evidence caught when offline payments settled.
    Evidence {
        #[command(flatten)]
        op: OpArgs,
        /// Only this wallet's (hex spend key or address).
        #[arg(long)]
        wallet: Option<String>,
    },
}

/// Parses a duration such as `7d`, `12h`, `30m`, `45s` or `500ms` into milliseconds.
/// `dfc-bank serve` admission limits (see `dfc_central_bank::admission`). The defaults are
/// generous so that many honest clients on one address (a test suite, `dfc-sim load`) never
/// meet them; a node facing the internet should lower them.
#[derive(clap::Args, Debug)]
struct LimitArgs {
    /// Open connections at once, all clients together; more are closed at accept.
    #[arg(long, default_value_t = AdmissionConfig::default().max_connections)]
    max_connections: usize,
    /// Open connections at once from one client address; more are closed at accept.
    #[arg(long, default_value_t = AdmissionConfig::default().max_connections_per_client)]
    max_connections_per_client: usize,
    /// A connection that has not sent a complete request head this long after it opened is
    /// closed (idle and slowloris connections), e.g. `10s`.
    #[arg(long, default_value = "10s", value_parser = parse_duration_ms)]
    first_request_timeout: u64,
    /// A connection with no request in flight this long is closed, e.g. `120s`.
    #[arg(long, default_value = "120s", value_parser = parse_duration_ms)]
    idle_timeout: u64,
    /// Requests per second from one client address, answered 429 with `Retry-After` beyond;
    /// `0` turns the rate limit off.
    #[arg(long, default_value_t = AdmissionConfig::default().rate_per_second)]
    rate_limit: u32,
    /// Requests one client address may send at once above the rate.
    #[arg(long, default_value_t = AdmissionConfig::default().rate_burst)]
    rate_burst: u32,
    /// Submissions (transfers, claims, settlements) per second per wallet key, charged to the
    /// wallet whose signature authorises them, answered 429 with `Retry-After` beyond; `0` turns
    /// the limit off.
    #[arg(long, default_value_t = dfc_central_bank::wallet_limits::DEFAULT_WALLET_RATE)]
    wallet_rate_limit: u32,
    /// Submissions one wallet may send at once above its rate.
    #[arg(long, default_value_t = dfc_central_bank::wallet_limits::DEFAULT_WALLET_BURST)]
    wallet_rate_burst: u32,
    /// Requests admitted at once (running plus waiting); more are shed with 503 and
    /// `Retry-After`.
    #[arg(long, default_value_t = AdmissionConfig::default().max_pending_requests)]
    max_pending_requests: usize,
}

impl LimitArgs {
    fn config(&self) -> AdmissionConfig {
        AdmissionConfig {
            max_connections: self.max_connections,
            max_connections_per_client: self.max_connections_per_client,
            first_request_timeout: std::time::Duration::from_millis(self.first_request_timeout),
            idle_timeout: std::time::Duration::from_millis(self.idle_timeout),
            rate_per_second: self.rate_limit,
            rate_burst: self.rate_burst,
            max_pending_requests: self.max_pending_requests,
        }
    }
}

fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{text}' is not a duration like 7d, 12h, 30m, 45s or 500ms"))?;
    let per = match unit {
        "ms" => 1,
        "s" | "" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{text}' (ms, s, m, h, d)"
            ))
        }
    };
    n.checked_mul(per)
        .ok_or_else(|| format!("'{text}' is too long"))
}

#[derive(Args)]
struct InitArgs {
    /// Data directory to create.
    #[arg(long)]
    data: PathBuf,
    /// Network id; by default a fresh random one, so that two networks created with the defaults
    /// never share a replay domain.
    #[arg(long)]
    network_id: Option<u32>,
    /// Network name.
    #[arg(long, default_value = "dfc sandbox")]
    name: String,
    /// Currency code.
    #[arg(long, default_value = "DFC")]
    currency: String,
    /// Currency decimals.
    #[arg(long, default_value_t = 2)]
    decimals: u8,
    /// Number of operators (issuer keys).
    #[arg(long, default_value_t = 3)]
    operators: usize,
    /// Approvals needed to issue or redeem.
    #[arg(long, default_value_t = 2)]
    threshold: usize,
    /// Write operator keys here for distribution to staff instead of beside the ledger; the
    /// network is then not a sandbox.
    #[arg(long)]
    operator_keys_dir: Option<PathBuf>,
    /// Turn on compliance: tier caps proven in zero knowledge on every transfer, and payments at
    /// or above this amount (e.g. 1000.00) disclosed to the regulator, whose key is created as
    /// `regulator.key`.
    #[arg(long)]
    reporting_threshold: Option<String>,
    /// Number of auditor keys to create (`auditor-N.key`, beside the operator keys): they may
    /// read full blocks, the registry and the audit log, and run `dfc-bank audit --bank`.
    #[arg(long, default_value_t = 1)]
    auditors: usize,
    /// Serve over TLS: generate a self-signed certificate (DATA/tls-cert.pem, tls-key.pem) for
    /// localhost, 127.0.0.1, ::1 and each --tls-name, pinned in the parameters' `tls_ca`.
    #[arg(long)]
    tls: bool,
    /// Another host name or IP address for the certificate (repeatable; implies --tls).
    #[arg(long, value_name = "NAME")]
    tls_name: Vec<String>,
    /// An operator key held outside this directory, named in the parameters after the
    /// --operators keys generated here (repeatable): `ed25519:HEX` (a key in a PKCS#11 token, as
    /// `dfc-bank keys pkcs11-generate` prints it), an sr25519 key's hex, or a file holding one
    /// (`keys pkcs11-generate --public-out`). No key file is written for it.
    #[arg(long, value_name = "KEY|FILE")]
    operator_key: Vec<String>,
    /// Encrypt every key file written (node, operators, auditors, regulator) under one
    /// passphrase: DFC_KEY_PASSPHRASE, else asked twice at a terminal. `serve` and the operator
    /// commands then read it the same way.
    #[arg(long)]
    encrypt_keys: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// An `--operator-key` value: a key (`ed25519:HEX`, `sr25519:HEX` or bare hex) or a file whose
/// first line is one.
fn parse_operator_key(value: &str) -> Result<dfc_core::OperatorKey> {
    match value.parse::<dfc_core::OperatorKey>() {
        Ok(k) => Ok(k),
        Err(e) if !Path::new(value).is_file() => {
            bail!("--operator-key '{value}' is neither a public key (ed25519:HEX or hex) nor a file: {e}")
        }
        Err(_) => {
            let text = std::fs::read_to_string(value)
                .with_context(|| format!("--operator-key: reading {value}"))?;
            let line = text.lines().next().unwrap_or_default().trim();
            line.parse().map_err(|e| {
                anyhow!("--operator-key: {value} does not hold a public key (ed25519:HEX): {e}")
            })
        }
    }
}

#[derive(Args, Clone)]
struct OpArgs {
    /// The node's URL (default: the one in DATA/node-url with --data, written by `serve` and
    /// the console's sandbox; else http://127.0.0.1:7400).
    #[arg(long)]
    bank: Option<String>,
    /// What signs the operator's requests and reads: a key file (encrypted, its passphrase from
    /// DFC_KEY_PASSPHRASE or a prompt, or plain hex) or a key in a PKCS#11 token named by an
    /// RFC 7512 URI, e.g.
    /// `pkcs11:token=dfc;object=operator-1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:DFC_PKCS11_PIN`.
    /// For listings an auditor key also serves. `--key` is the same option.
    #[arg(
        long = "signer",
        visible_alias = "key",
        env = "DFC_SIGNER",
        value_name = "FILE|PKCS11-URI"
    )]
    key: Option<String>,
    /// Sandbox data directory (with --operator instead of --key).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Sandbox operator number: reads DATA/operator-N.key.
    #[arg(long)]
    operator: Option<usize>,
    /// The node's TLS certificate or CA (PEM) to trust; with --data, DATA/tls-cert.pem is used
    /// if present. The network parameters' pin (`tls_ca`) must then agree.
    #[arg(long, env = dfc_client::tls::CA_ENV, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl OpArgs {
    /// `--bank`, else the URL kept in `--data`'s directory, else the default local node.
    fn bank_url(&self) -> Result<String> {
        match (&self.bank, &self.data) {
            (Some(b), _) => Ok(b.clone()),
            (None, Some(d)) => match dfc_client::endpoint::read_node_url(d) {
                Ok(url) => Ok(url),
                Err(dfc_client::endpoint::EndpointError::Missing { .. }) => Ok(DEFAULT_BANK.into()),
                Err(e) => Err(e.into()),
            },
            (None, None) => Ok(DEFAULT_BANK.into()),
        }
    }

    /// A client of the node, trusting `--ca` or the data directory's certificate.
    pub(crate) fn client(&self) -> Result<BankClient> {
        let pin = dfc_client::TlsPin::bootstrap(self.ca.as_deref(), self.data.as_deref())?;
        Ok(BankClient::with_pin(&self.bank_url()?, pin.as_ref())?)
    }
}

/// The node the operator commands talk to when given neither --bank nor --data.
const DEFAULT_BANK: &str = "http://127.0.0.1:7400";

#[derive(Subcommand)]
enum IssueCmd {
    /// Propose an issuance (counts as this operator's approval).
    Propose {
        #[command(flatten)]
        op: OpArgs,
        /// Recipient address.
        #[arg(long)]
        to: String,
        /// Amount, e.g. 12.50.
        #[arg(long)]
        amount: String,
    },
    /// Approve a pending issuance: shows every output's recipient and amount first and, at a
    /// terminal, asks for confirmation.
    Approve {
        #[command(flatten)]
        op: OpArgs,
        /// Transaction id of the proposal.
        txid: String,
        /// Approve without asking (scripts; `--json` never asks either).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum RedeemCmd {
    /// Approve a wallet's pending redemption: shows it first and, at a terminal, asks for
    /// confirmation.
    Approve {
        #[command(flatten)]
        op: OpArgs,
        /// Transaction id of the proposal.
        txid: String,
        /// Approve without asking (scripts; `--json` never asks either).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum WalletCmd {
    /// List registered wallets.
    List(OpArgs),
    /// Freeze a wallet: its notes cannot be spent.
    Freeze {
        #[command(flatten)]
        op: OpArgs,
        /// Hex spend key (or address) of the wallet.
        wallet: String,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: String,
        /// The wallet's registry version the decision was made on (`dfc-bank wallet list`
        /// shows it). Without it, the version the command reads from the node just before;
        /// either way the node refuses the change (`stale_registry`) if the record has moved.
        #[arg(long)]
        registry_version: Option<u64>,
    },
    /// Unfreeze a wallet.
    Unfreeze {
        #[command(flatten)]
        op: OpArgs,
        /// Hex spend key (or address) of the wallet.
        wallet: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
        /// The wallet's registry version the decision was made on (`dfc-bank wallet list`
        /// shows it). Without it, the version the command reads from the node just before;
        /// either way the node refuses the change (`stale_registry`) if the record has moved.
        #[arg(long)]
        registry_version: Option<u64>,
    },
    /// Set a wallet's KYC tier.
    SetTier {
        #[command(flatten)]
        op: OpArgs,
        /// Hex spend key (or address) of the wallet.
        wallet: String,
        /// New tier.
        tier: u8,
        /// The wallet's registry version the decision was made on (`dfc-bank wallet list`
        /// shows it). Without it, the version the command reads from the node just before;
        /// either way the node refuses the change (`stale_registry`) if the record has moved.
        #[arg(long)]
        registry_version: Option<u64>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // `--json` belongs to each subcommand; any of them asks for errors as JSON too.
    let json = std::env::args().any(|a| a == "--json");
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if json {
                println!("{}", cli_out::error_json(&e));
            }
            eprintln!("error: {}", dfc_core::error::error_line(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Cmd::Init(a) => init(a),
        Cmd::Serve {
            data,
            listen,
            purse_ttl,
            verify,
            verify_workers,
            proposal_ttl,
            check_tables_first,
            limits,
            tls,
        } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let options = server::NodeOptions {
                purse_ttl_ms: purse_ttl,
                batch_verification: verify == "batch",
                verify_workers,
                proposal_ttl_ms: proposal_ttl,
                wallet_rate_per_second: limits.wallet_rate_limit,
                wallet_rate_burst: limits.wallet_rate_burst,
                check_tables_first,
            };
            let admission = Admission::new(limits.config())?;
            rt.block_on(serve(&data, &listen, options, admission, &tls))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit {
            data: Some(data),
            store: Some(store),
            json,
            ..
        } => pg_cli::audit(&data, &store, json),
        Cmd::PgImport { data, store, json } => pg_cli::import(&data, &store, json),
        Cmd::Audit {
            data: Some(data),
            json,
            jobs,
            from_checkpoint,
            save_checkpoint,
            cosigned,
            ..
        } => audit_cmd::run(
            &audit_cmd::AuditArgs {
                data: &data,
                json,
                jobs,
                from_checkpoint: from_checkpoint.as_deref(),
                save_checkpoint: save_checkpoint.as_deref(),
                cosigned: cosigned.as_deref(),
            },
            print_json,
        ),
        Cmd::Keys { cmd } => {
            keys_cli::run(cmd)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit {
            bank: Some(bank),
            key: Some(key),
            json,
            ..
        } => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(remote_audit_cmd(&bank, &key, json))
        }
        Cmd::Audit { .. } => bail!("give --data DIR, or --bank URL --key FILE"),
        Cmd::NodeKeyNew { data, json } => {
            let public = dfc_central_bank::node_keys::NodeKeys::create_next(&data)?;
            let hex = hex::encode(public.to_bytes());
            if json {
                print_json(&serde_json::json!({ "node_key": hex }))?;
            } else {
                println!("next node key: {hex}");
                println!("restart the node, then propose a change with this node_key");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Checkpoint { cmd } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(ckpt_cli::run(cmd))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Assess {
            node,
            data,
            json,
            max_key_age,
            jobs,
            keys,
            key,
        } => assess_cmd::run(&assess_cmd::AssessArgs {
            node,
            data,
            json,
            max_key_age_ms: max_key_age,
            jobs,
            keys,
            key,
        }),
        Cmd::Governance { cmd } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(gov_cli::run(cmd))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Regulator {
            bank,
            key,
            ca,
            json,
        } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let pin = dfc_client::TlsPin::bootstrap(ca.as_deref(), None)?;
            let client = BankClient::with_pin(&bank, pin.as_ref())?;
            rt.block_on(regulator_cmd(client, &key, json))?;
            Ok(ExitCode::SUCCESS)
        }
        other => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(operator_cmd(other))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn regulator_cmd(client: BankClient, key_path: &Path, json: bool) -> Result<()> {
    let key = datadir::read_regulator_key(key_path)?;
    let params = client.params().await?;
    let Some(rules) = &params.compliance else {
        bail!(
            "network {} has no compliance rules: nothing is disclosed",
            params.network_id
        );
    };
    // The regulator key can be rotated by k of n operators: a key reads the disclosures of the
    // heights where it was in force, and no others.
    let history = client.params_history().await?;
    let key_at = |height: u64| {
        history
            .at(height)
            .compliance
            .as_ref()
            .map(|c| c.regulator_key)
    };
    let ever = std::iter::once(history.genesis())
        .chain(history.changes().iter().map(|c| &c.change.params))
        .any(|p| p.compliance.as_ref().map(|c| c.regulator_key) == Some(key.public()));
    if !ever {
        bail!("this key is not the network's regulator key at any height");
    }
    if rules.regulator_key != key.public() {
        eprintln!(
            "note: this regulator key was rotated out; listing the heights where it was in force"
        );
    }
    // Blocks are served to named readers only: the regulator reads with the signing key derived
    // from the same seed, which `init` names among the auditors.
    let reader = datadir::read_regulator_read_key(key_path)?;
    if !params.auditors.contains(&reader.public().into()) {
        bail!("the regulator's read key is not among this network's auditors (made by an older `dfc-bank init`?)");
    }
    let client = client.with_reader(&params, reader);
    let mut payments = dfc_central_bank::regulator::fetch_disclosed(&client, &key).await?;
    payments.retain(|p| key_at(p.height) == Some(key.public()));
    if json {
        return print_json(&payments);
    }
    println!(
        "{} disclosed payment(s) at or above {}",
        payments.len(),
        params.format(rules.reporting_threshold)
    );
    for p in &payments {
        let amount = p
            .amount
            .map(|a| params.format(a))
            .unwrap_or_else(|| "does not decrypt".into());
        println!(
            "height {:>6}  tx {}  output {}  to {}  {}",
            p.height,
            p.txid,
            p.output,
            hex::encode(p.recipient.to_bytes()),
            amount
        );
    }
    Ok(())
}

/// Signs a registry action (freeze, unfreeze, set tier) as the operator and shows the answer.
/// The registry version a registry change is made against: the one given, or the record's
/// current one read from the node now.
async fn registry_version_of(
    client: &BankClient,
    wallet: &PublicKey,
    given: Option<u64>,
) -> Result<u64> {
    match given {
        Some(v) => Ok(v),
        None => Ok(client.wallet(wallet).await?.registry_version),
    }
}

async fn registry_action(
    client: &BankClient,
    params: &NetworkParams,
    op: &OpArgs,
    action: OperatorAction,
    json: bool,
) -> Result<()> {
    let operator = operator_of(op, params)?;
    let r = client
        .operator(&operator.try_request(params, action)?)
        .await?;
    show_response(&r, params, json)
}

fn print_json<T: Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn init(a: InitArgs) -> Result<ExitCode> {
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

async fn serve(
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
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let acceptor = tls.acceptor(data, addr)?;
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
            _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
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

async fn remote_audit_cmd(bank: &str, key_spec: &str, json: bool) -> Result<ExitCode> {
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
    match dfc_central_bank::remote_audit::audit_remote(&client, &params).await {
        Ok(r) => {
            if json {
                print_json(&serde_json::json!({"pass": true, "report": r}))?;
            } else {
                println!("height:            {}", r.height);
                println!("supply:            {}", params.format(r.supply));
                println!("notes outstanding: {}", r.notes_outstanding);
                println!("transactions:      {}", r.tx_count);
                println!("audit log entries: {}", r.audit_entries);
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

/// An operator whose signatures go through the signer a command names (`--signer`): a key
/// file or a PKCS#11 token, one code path ([`Operator::try_request`] and friends).
pub(crate) type CliOperator = Operator<Arc<DynSigner>>;

/// Opens the signer of `op`: `--signer`/`--key`/`DFC_SIGNER` (a key file or a PKCS#11 URI), or
/// a sandbox's `--data DIR --operator N` key file; with `auditor_ok`, a sandbox directory alone
/// reads with its auditor key.
fn signer_of(op: &OpArgs, auditor_ok: bool) -> Result<Arc<DynSigner>> {
    Ok(match (&op.key, &op.data, op.operator) {
        (Some(_), _, Some(_)) => bail!(
            "give --signer (or --key, or DFC_SIGNER) or --data DIR --operator N, not both"
        ),
        (Some(spec), _, None) => dfc_client::keyfile::open_signer(spec)?,
        (None, Some(d), Some(n)) => {
            dfc_client::keyfile::open_key_file(&datadir::operator_key_path(d, n))?
        }
        // A sandbox directory alone: read with its auditor key, which may read and sign nothing.
        (None, Some(d), None) if auditor_ok && datadir::auditor_key_path(d, 0).exists() => {
            dfc_client::keyfile::open_key_file(&datadir::auditor_key_path(d, 0))?
        }
        _ if auditor_ok => bail!(
            "operator commands and listings need a key: give --signer FILE|PKCS11-URI (an operator or auditor key), or --data DIR for a sandbox"
        ),
        _ => bail!(
            "give the operator's signer with --signer FILE|PKCS11-URI (or --data DIR --operator N for a sandbox)"
        ),
    })
}

/// The signer of this command's reads: the operator's, or an auditor key (listings need one of
/// the two; see docs/api.md).
fn reader_of(op: &OpArgs, params: &NetworkParams) -> Result<Arc<DynSigner>> {
    let signer = signer_of(op, true)?;
    let public = signer.public();
    if !params.issuers.contains(&public) && !params.auditors.contains(&public) {
        bail!(
            "{} is neither an operator nor an auditor key of this network (its key: {public})",
            signer.describe()
        );
    }
    Ok(signer)
}

fn operator_of(op: &OpArgs, params: &NetworkParams) -> Result<CliOperator> {
    let signer = signer_of(op, false)?;
    let (what, public) = (signer.describe(), signer.public());
    Operator::find(params, signer).ok_or_else(|| {
        anyhow!("{what} is not one of this network's operator keys (its key: {public})")
    })
}

/// A proposal's build or signing failure, the signer's kept as its own type (for its code).
fn propose_err(e: dfc_client::ProposeError<SignerError>) -> anyhow::Error {
    match e {
        dfc_client::ProposeError::Build(b) => b.into(),
        dfc_client::ProposeError::Sign(s) => s.into(),
    }
}

fn parse_wallet(text: &str) -> Result<PublicKey> {
    if let Ok(addr) = text.parse::<Address>() {
        return Ok(addr.spend);
    }
    let h = Hash32::from_hex(text)
        .map_err(|e| anyhow!("'{text}' is neither an address nor a hex spend key: {e}"))?;
    Ok(PublicKey::from_bytes(&h.0)?)
}

fn show_response(r: &OperatorResponse, params: &NetworkParams, json: bool) -> Result<()> {
    if json {
        return print_json(&cli_out::response_json(r, params));
    }
    println!("{}", r.message);
    if let Some(p) = &r.proposal {
        println!(
            "proposal {}: {} {} ({} of {} approvals, {})",
            p.txid,
            p.kind.name(),
            params.format(p.amount),
            p.approvals.len(),
            p.threshold,
            p.state
        );
    }
    if let Some(rc) = &r.receipt {
        println!(
            "committed at height {} in block {}",
            rc.height, rc.block_hash
        );
    }
    Ok(())
}

async fn operator_cmd(cmd: Cmd) -> Result<()> {
    let op_args = match &cmd {
        Cmd::Issue {
            cmd: IssueCmd::Propose { op, .. } | IssueCmd::Approve { op, .. },
        } => op.clone(),
        Cmd::Redeem {
            cmd: RedeemCmd::Approve { op, .. },
        } => op.clone(),
        Cmd::Proposals(op) | Cmd::Evidence { op, .. } => op.clone(),
        Cmd::Wallet {
            cmd:
                WalletCmd::List(op)
                | WalletCmd::Freeze { op, .. }
                | WalletCmd::Unfreeze { op, .. }
                | WalletCmd::SetTier { op, .. },
        } => op.clone(),
        Cmd::Init(_)
        | Cmd::Serve { .. }
        | Cmd::Audit { .. }
        | Cmd::PgImport { .. }
        | Cmd::Assess { .. }
        | Cmd::Regulator { .. }
        | Cmd::Governance { .. }
        | Cmd::Keys { .. }
        | Cmd::NodeKeyNew { .. }
        | Cmd::Checkpoint { .. } => {
            bail!("not an operator command")
        }
    };
    let client = op_args.client()?;
    let params = client.params().await?;
    let json = op_args.json;
    // Every operator command reads something only operators may (a listing, or the registry
    // record a registry change is decided on), so its reads are signed with the operator key or
    // the auditor key given.
    let client = client.with_read_signer(&params, reader_of(&op_args, &params)?);
    match cmd {
        Cmd::Proposals(_) => {
            let list = client.proposals().await?;
            if json {
                let list: Vec<_> = list
                    .iter()
                    .map(|p| cli_out::proposal_json(p, &params))
                    .collect();
                return print_json(&list);
            }
            for p in &list {
                print_proposal(p, &params);
            }
        }
        Cmd::Wallet {
            cmd: WalletCmd::List(_),
        } => {
            let list = client.wallets().await?;
            if json {
                return print_json(&list);
            }
            let evidence = client.evidence(None, None).await?;
            for w in list {
                println!(
                    "{}  tier {}  {}  flags {}  registry version {}  {}  {}",
                    hex::encode(w.address.spend.to_bytes()),
                    w.tier,
                    if w.frozen { "FROZEN" } else { "active" },
                    w.flags,
                    w.registry_version,
                    w.label,
                    w.address
                );
                if let Some(reason) = &w.freeze_reason {
                    println!("    frozen because: {reason}");
                }
                for e in evidence.iter().filter(|e| e.wallet == w.address.spend) {
                    println!(
                        "    double spend: evidence {} (purse certificate {}, note {}, committed {}, refused {})",
                        e.id, e.serial, e.note, e.committed_txid, e.conflicting_txid
                    );
                }
            }
        }
        Cmd::Evidence { wallet, .. } => {
            let wallet = wallet.as_deref().map(parse_wallet).transpose()?;
            let list = client.evidence(wallet.as_ref(), None).await?;
            if json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!("No double-spend evidence.");
            }
            for e in list {
                let verdict = match e.evidence.verify(&params.node_key) {
                    Ok(()) => "verified".to_string(),
                    Err(err) => format!("DOES NOT VERIFY: {err}"),
                };
                println!(
                    "evidence {}\n  wallet {}  purse certificate {}  ({verdict})\n  note {} spent by committed {} and refused {}",
                    e.id,
                    hex::encode(e.wallet.to_bytes()),
                    e.serial,
                    e.note,
                    e.committed_txid,
                    e.conflicting_txid
                );
            }
        }
        Cmd::Issue {
            cmd: IssueCmd::Propose { op, to, amount },
        } => {
            let operator = operator_of(&op, &params)?;
            let to: Address = to.parse().map_err(|e| anyhow!("--to: {e}"))?;
            let amount =
                Amount::parse(&amount, params.decimals).map_err(|e| anyhow!("--amount: {e}"))?;
            let (_, req) = operator
                .try_propose_issue(&params, &to, amount)
                .map_err(propose_err)?;
            let r = client.operator(&req).await?;
            show_response(&r, &params, json)?;
        }
        Cmd::Issue {
            cmd: IssueCmd::Approve { op, txid, yes },
        } => approve(&client, &params, &op, &txid, TxKind::Issue, json || yes).await?,
        Cmd::Redeem {
            cmd: RedeemCmd::Approve { op, txid, yes },
        } => approve(&client, &params, &op, &txid, TxKind::Redeem, json || yes).await?,
        Cmd::Wallet {
            cmd:
                WalletCmd::Freeze {
                    op,
                    wallet,
                    reason,
                    registry_version,
                },
        } => {
            let wallet = parse_wallet(&wallet)?;
            let registry_version = registry_version_of(&client, &wallet, registry_version).await?;
            let action = OperatorAction::Freeze {
                wallet,
                reason,
                registry_version,
            };
            registry_action(&client, &params, &op, action, json).await?
        }
        Cmd::Wallet {
            cmd:
                WalletCmd::Unfreeze {
                    op,
                    wallet,
                    reason,
                    registry_version,
                },
        } => {
            let wallet = parse_wallet(&wallet)?;
            let registry_version = registry_version_of(&client, &wallet, registry_version).await?;
            let action = OperatorAction::Unfreeze {
                wallet,
                reason,
                registry_version,
            };
            registry_action(&client, &params, &op, action, json).await?
        }
        Cmd::Wallet {
            cmd:
                WalletCmd::SetTier {
                    op,
                    wallet,
                    tier,
                    registry_version,
                },
        } => {
            let wallet = parse_wallet(&wallet)?;
            let registry_version = registry_version_of(&client, &wallet, registry_version).await?;
            let action = OperatorAction::SetTier {
                wallet,
                tier,
                registry_version,
            };
            registry_action(&client, &params, &op, action, json).await?
        }
        Cmd::Init(_)
        | Cmd::Serve { .. }
        | Cmd::Audit { .. }
        | Cmd::PgImport { .. }
        | Cmd::Assess { .. }
        | Cmd::Regulator { .. }
        | Cmd::Governance { .. }
        | Cmd::Keys { .. }
        | Cmd::NodeKeyNew { .. }
        | Cmd::Checkpoint { .. } => {
            bail!("not an operator command")
        }
    }
    Ok(())
}

/// Prints a proposal with every output's recipient and amount: what an approver signs.
fn print_proposal(p: &dfc_core::api::Proposal, params: &NetworkParams) {
    let by = p
        .proposed_by
        .map(|o| format!("operator {o}"))
        .unwrap_or_else(|| "its wallet".into());
    println!(
        "{}  {:<6} {:>16}  {}/{}  {}  proposed by {by}{}",
        p.txid,
        p.kind.name(),
        params.format(p.amount),
        p.approvals.len(),
        p.threshold,
        p.state,
        if p.expires_ms == 0 {
            String::new()
        } else {
            format!(", expires {}", dfc_core::time::utc_text(p.expires_ms))
        }
    );
    for o in &p.outputs {
        let who = match (&o.label, &o.address) {
            (Some(l), Some(a)) if !l.is_empty() => format!("{l} {a}"),
            (_, Some(a)) => a.to_string(),
            _ => format!("unregistered key {}", hex::encode(o.owner.to_bytes())),
        };
        println!(
            "    output {}: {:>16}  to {who}{}",
            o.index,
            o.amount
                .map(|a| params.format(a))
                .unwrap_or_else(|| "hidden".into()),
            if o.frozen { "  (FROZEN)" } else { "" }
        );
    }
}

/// Approves proposal `txid` of `kind` as the operator of `op`, after printing every output; at a
/// terminal it asks first unless `confirmed` (`--yes` or `--json`).
async fn approve(
    client: &BankClient,
    params: &NetworkParams,
    op: &OpArgs,
    txid: &str,
    kind: TxKind,
    confirmed: bool,
) -> Result<()> {
    let json = op.json;
    let operator = operator_of(op, params)?;
    let txid = Hash32::from_hex(txid).map_err(|e| anyhow!("transaction id: {e}"))?;
    let detail = client.proposal(&txid).await?;
    if detail.proposal.kind != kind {
        bail!(
            "{txid} is a {} proposal, not {}",
            detail.proposal.kind.name(),
            kind.name()
        );
    }
    if detail.tx.id() != txid {
        bail!("the node returned a transaction whose id is not {txid}");
    }
    // A pending proposal this operator already signed: a second approval would count for
    // nothing. (Other states are the node's to refuse, with its own code.)
    if detail.proposal.state == "pending" && detail.proposal.approvals.contains(&operator.index) {
        return Err(CliError::AlreadyApproved {
            operator: operator.index,
            txid: txid.to_hex(),
            approvals: detail.proposal.approvals.len(),
            threshold: detail.proposal.threshold,
        }
        .into());
    }
    if !json {
        println!("approving:");
        print_proposal(&detail.proposal, params);
    }
    if !confirmed && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        print!(
            "approve this {} as operator {}? [y/N] ",
            kind.name(),
            operator.index
        );
        std::io::Write::flush(&mut std::io::stdout())?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(CliError::NotConfirmed.into());
        }
    }
    let r = client
        .operator(&operator.try_approve(params, &txid)?)
        .await?;
    show_response(&r, params, json)
}
