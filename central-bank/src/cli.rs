//! The command line of `dfc-bank`: its subcommands and their arguments (clap).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use dfc_central_bank::admission::AdmissionConfig;
use dfc_client::BankClient;

use crate::*;

#[derive(Parser)]
#[command(
    name = "dfc-bank",
    version,
    about = "dfc central-bank node: ledger, API, issuance and redemption"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Cmd,
}

#[derive(Subcommand)]
pub(crate) enum Cmd {
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
        /// Share one PostgreSQL ledger with other nodes (`postgres://user@host:port/db`): the
        /// data directory's SQLite ledger becomes this node's replica, one node seals (see
        /// docs/architecture.md, "Deployments"). Without it the node is alone on its SQLite file.
        #[arg(long, value_name = "postgres://…")]
        store: Option<dfc_central_bank::store::StoreLocation>,
        /// How often a node on a shared ledger polls the log, the queue and the lease, ms.
        #[arg(long, default_value_t = dfc_central_bank::cluster::DEFAULT_POLL_MS)]
        cluster_poll_ms: u64,
        /// How often a node on a shared ledger that does not seal tries for the sealer lease, ms.
        #[arg(long, default_value_t = dfc_central_bank::cluster::DEFAULT_LEASE_TRY_MS)]
        lease_try_ms: u64,
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
        /// The node's URL (remote audit; needs --key). A full replay over the API: it takes
        /// `--cosigned` but no `--from-checkpoint` or `--save-checkpoint`.
        #[arg(long, requires = "key", conflicts_with_all = ["from_checkpoint", "save_checkpoint"])]
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
        /// directory's SQLite file (the network parameters still come from --data); with
        /// `--cosigned`, the checkpoints in the file are checked against it. A full audit: it
        /// takes no `--from-checkpoint` and writes no `--save-checkpoint`.
        #[arg(long, value_name = "URL", requires = "data", conflicts_with_all = ["from_checkpoint", "save_checkpoint"])]
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
pub(crate) struct LimitArgs {
    /// Open connections at once, all clients together; more are closed at accept.
    #[arg(long, default_value_t = AdmissionConfig::default().max_connections)]
    pub(crate) max_connections: usize,
    /// Open connections at once from one client address; more are closed at accept.
    #[arg(long, default_value_t = AdmissionConfig::default().max_connections_per_client)]
    pub(crate) max_connections_per_client: usize,
    /// A connection that has not sent a complete request head this long after it opened is
    /// closed (idle and slowloris connections), e.g. `10s`.
    #[arg(long, default_value = "10s", value_parser = parse_duration_ms)]
    pub(crate) first_request_timeout: u64,
    /// A connection with no request in flight this long is closed, e.g. `120s`.
    #[arg(long, default_value = "120s", value_parser = parse_duration_ms)]
    pub(crate) idle_timeout: u64,
    /// Requests per second from one client address, answered 429 with `Retry-After` beyond;
    /// `0` turns the rate limit off.
    #[arg(long, default_value_t = AdmissionConfig::default().rate_per_second)]
    pub(crate) rate_limit: u32,
    /// Requests one client address may send at once above the rate.
    #[arg(long, default_value_t = AdmissionConfig::default().rate_burst)]
    pub(crate) rate_burst: u32,
    /// Submissions (transfers, claims, settlements) per second per wallet key, charged to the
    /// wallet whose signature authorises them, answered 429 with `Retry-After` beyond; `0` turns
    /// the limit off.
    #[arg(long, default_value_t = dfc_central_bank::wallet_limits::DEFAULT_WALLET_RATE)]
    pub(crate) wallet_rate_limit: u32,
    /// Submissions one wallet may send at once above its rate.
    #[arg(long, default_value_t = dfc_central_bank::wallet_limits::DEFAULT_WALLET_BURST)]
    pub(crate) wallet_rate_burst: u32,
    /// Requests admitted at once (running plus waiting); more are shed with 503 and
    /// `Retry-After`.
    #[arg(long, default_value_t = AdmissionConfig::default().max_pending_requests)]
    pub(crate) max_pending_requests: usize,
}

impl LimitArgs {
    pub(crate) fn config(&self) -> AdmissionConfig {
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

pub(crate) fn parse_duration_ms(text: &str) -> Result<u64, String> {
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
pub(crate) struct InitArgs {
    /// Data directory to create.
    #[arg(long)]
    pub(crate) data: PathBuf,
    /// Network id; by default a fresh random one, so that two networks created with the defaults
    /// never share a replay domain.
    #[arg(long)]
    pub(crate) network_id: Option<u32>,
    /// Network name.
    #[arg(long, default_value = "dfc sandbox")]
    pub(crate) name: String,
    /// Currency code.
    #[arg(long, default_value = "DFC")]
    pub(crate) currency: String,
    /// Currency decimals.
    #[arg(long, default_value_t = 2)]
    pub(crate) decimals: u8,
    /// Number of operators (issuer keys).
    #[arg(long, default_value_t = 3)]
    pub(crate) operators: usize,
    /// Approvals needed to issue or redeem.
    #[arg(long, default_value_t = 2)]
    pub(crate) threshold: usize,
    /// Write operator keys here for distribution to staff instead of beside the ledger; the
    /// network is then not a sandbox.
    #[arg(long)]
    pub(crate) operator_keys_dir: Option<PathBuf>,
    /// Turn on compliance: tier caps proven in zero knowledge on every transfer, and payments at
    /// or above this amount (e.g. 1000.00) disclosed to the regulator, whose key is created as
    /// `regulator.key`.
    #[arg(long)]
    pub(crate) reporting_threshold: Option<String>,
    /// Number of auditor keys to create (`auditor-N.key`, beside the operator keys): they may
    /// read full blocks, the registry and the audit log, and run `dfc-bank audit --bank`.
    #[arg(long, default_value_t = 1)]
    pub(crate) auditors: usize,
    /// Serve over TLS: generate a self-signed certificate (DATA/tls-cert.pem, tls-key.pem) for
    /// localhost, 127.0.0.1, ::1 and each --tls-name, pinned in the parameters' `tls_ca`.
    #[arg(long)]
    pub(crate) tls: bool,
    /// Another host name or IP address for the certificate (repeatable; implies --tls).
    #[arg(long, value_name = "NAME")]
    pub(crate) tls_name: Vec<String>,
    /// An operator key held outside this directory, named in the parameters after the
    /// --operators keys generated here (repeatable): `ed25519:HEX` (a key in a PKCS#11 token, as
    /// `dfc-bank keys pkcs11-generate` prints it), an sr25519 key's hex, or a file holding one
    /// (`keys pkcs11-generate --public-out`). No key file is written for it.
    #[arg(long, value_name = "KEY|FILE")]
    pub(crate) operator_key: Vec<String>,
    /// Encrypt every key file written (node, operators, auditors, regulator) under one
    /// passphrase: DFC_KEY_PASSPHRASE, else asked twice at a terminal. `serve` and the operator
    /// commands then read it the same way.
    #[arg(long)]
    pub(crate) encrypt_keys: bool,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// An `--operator-key` value: a key (`ed25519:HEX`, `sr25519:HEX` or bare hex) or a file whose
/// first line is one.
pub(crate) fn parse_operator_key(value: &str) -> Result<dfc_core::OperatorKey> {
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
pub(crate) struct OpArgs {
    /// The node's URL (default: the one in DATA/node-url with --data, written by `serve` and
    /// the console's sandbox; else http://127.0.0.1:7400).
    #[arg(long)]
    pub(crate) bank: Option<String>,
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
    pub(crate) key: Option<String>,
    /// Sandbox data directory (with --operator instead of --key).
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// Sandbox operator number: reads DATA/operator-N.key.
    #[arg(long)]
    pub(crate) operator: Option<usize>,
    /// The node's TLS certificate or CA (PEM) to trust; with --data, DATA/tls-cert.pem is used
    /// if present. The network parameters' pin (`tls_ca`) must then agree.
    #[arg(long, env = dfc_client::tls::CA_ENV, value_name = "FILE")]
    pub(crate) ca: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

impl OpArgs {
    /// `--bank`, else the URL kept in `--data`'s directory, else the default local node.
    pub(crate) fn bank_url(&self) -> Result<String> {
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
pub(crate) const DEFAULT_BANK: &str = "http://127.0.0.1:7400";

#[derive(Subcommand)]
pub(crate) enum IssueCmd {
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
pub(crate) enum RedeemCmd {
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
pub(crate) enum WalletCmd {
    /// List registered wallets.
    List(OpArgs),
    /// Freeze a wallet: its notes cannot be spent.
    Freeze {
        #[command(flatten)]
        op: OpArgs,
        #[command(flatten)]
        target: RegistryTarget,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Unfreeze a wallet.
    Unfreeze {
        #[command(flatten)]
        op: OpArgs,
        #[command(flatten)]
        target: RegistryTarget,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Set a wallet's KYC tier.
    SetTier {
        #[command(flatten)]
        op: OpArgs,
        #[command(flatten)]
        target: RegistryTarget,
        /// New tier.
        tier: u8,
    },
}

/// The wallet a registry change (freeze, unfreeze, tier) is about, and the version of its record
/// the decision was made on.
#[derive(Args)]
pub(crate) struct RegistryTarget {
    /// Hex spend key (or address) of the wallet.
    pub(crate) wallet: String,
    /// The wallet's registry version the decision was made on (`dfc-bank wallet list`
    /// shows it). Without it, the version the command reads from the node just before;
    /// either way the node refuses the change (`stale_registry`) if the record has moved.
    #[arg(long)]
    pub(crate) registry_version: Option<u64>,
}
