//! What the checks look at, gathered once: from a data directory ([`Facts::from_data_dir`]) or
//! from a node's API ([`Facts::from_node`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dfc_client::BankClient;
use dfc_core::api::AuditEntry;
use dfc_core::governance::ParamsHistory;
use dfc_core::{BlockHeader, Hash32, PublicKey, SigningKey};
use thiserror::Error;

use crate::audit::{self, AuditOptions, AuditReport, Depth, IntegrityError, Progress};
use crate::datadir::{self, DataDirError};
use crate::error::StoreError;
use crate::store;

/// Default age past which a key unchanged since it took effect is reported: one year.
pub const DEFAULT_MAX_KEY_AGE_MS: u64 = 365 * 86_400_000;

/// Most registry rows and evidence records read (a bound on what one assessment loads).
pub const MAX_ROWS: usize = 1_000_000;

/// Audit-log pages (1000 entries each) read at most through the API.
pub const MAX_LOG_PAGES: u64 = 10_000;

/// Why the facts could not be gathered (the checks then do not run).
#[derive(Debug, Error)]
pub enum AssessError {
    /// The data directory cannot be read.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The ledger cannot be read.
    #[error("ledger: {0}")]
    Store(#[from] StoreError),
    /// The node did not answer as expected.
    #[error("node: {0}")]
    Node(String),
    /// The ledger has no genesis block.
    #[error("the ledger has no genesis block")]
    NoGenesis,
    /// The caller cancelled the audit.
    #[error("cancelled: {0}")]
    Cancelled(String),
}

impl From<rusqlite::Error> for AssessError {
    fn from(e: rusqlite::Error) -> Self {
        AssessError::Store(StoreError::from(e))
    }
}

impl From<dfc_client::ClientError> for AssessError {
    fn from(e: dfc_client::ClientError) -> Self {
        AssessError::Node(e.to_string())
    }
}

/// How to gather the facts.
#[derive(Clone, Copy)]
pub struct AssessOptions<'a> {
    /// A key unchanged for longer than this is reported.
    pub max_key_age_ms: u64,
    /// Threads of the full audit (0: one per core).
    pub jobs: usize,
    /// Progress and cancellation of the full audit.
    pub progress: Option<&'a dyn Progress>,
    /// More directories whose key files are inspected (e.g. where operator keys are kept).
    pub key_dirs: &'a [PathBuf],
}

impl Default for AssessOptions<'_> {
    fn default() -> Self {
        AssessOptions {
            max_key_age_ms: DEFAULT_MAX_KEY_AGE_MS,
            jobs: 0,
            progress: None,
            key_dirs: &[],
        }
    }
}

/// What the audit part of the assessment could verify.
#[derive(Clone, Debug)]
pub enum AuditEvidence {
    /// The full audit of the ledger (`dfc-bank audit`: replay from genesis, every proof).
    Full(AuditReport),
    /// Through the API only: what a remote reader can check.
    Api {
        /// The node's own supply-invariant check.
        invariant_ok: bool,
        /// The node has halted after a storage failure.
        halted: bool,
        /// The audit log's hash chain: entries verified, or the first broken link.
        log: Result<u64, String>,
        /// The tip header is signed by the node key in force at its height.
        tip_signed: bool,
    },
}

/// A key file found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFile {
    /// Where.
    pub path: PathBuf,
    /// Whether it holds the secret as plain hex (readable by whoever reads the file).
    pub plain_hex: bool,
    /// Permission bits (Unix), if known.
    pub mode: Option<u32>,
    /// Whether it is a passphrase-encrypted key file (`dfc-key`).
    pub encrypted: bool,
    /// The public keys it holds: those its seed gives (signing and regulator derivations) for a
    /// plain file, the one its clear header names for an encrypted one.
    pub publics: Vec<PublicKey>,
}

/// Everything the checks look at.
#[derive(Clone, Debug)]
pub struct Facts {
    /// The node's URL, if known (given, or kept in the data directory).
    pub node_url: Option<String>,
    /// The data directory, when assessed from the ledger.
    pub data_dir: Option<PathBuf>,
    /// The parameter history (genesis and every approved change).
    pub history: ParamsHistory,
    /// The tip header.
    pub tip: BlockHeader,
    /// Times (ms) of the blocks at which the parameters in force took effect, by height.
    pub block_times: BTreeMap<u64, u64>,
    /// The audit.
    pub audit: AuditEvidence,
    /// Sequence number of the newest audit-log entry (0: empty log).
    pub audit_last_seq: u64,
    /// Registered wallets.
    pub wallets: u64,
    /// Frozen wallets.
    pub frozen: u64,
    /// Wallets with flags set.
    pub flagged: u64,
    /// Double-spend evidence records.
    pub evidence: u64,
    /// Key files found in the data directory and the extra key directories.
    pub key_files: Vec<KeyFile>,
    /// A key unchanged for longer than this is reported.
    pub max_key_age_ms: u64,
}

impl Facts {
    /// What was assessed, for the scorecard's header.
    pub fn target(&self) -> String {
        match (&self.node_url, &self.data_dir) {
            (Some(u), Some(d)) => format!("{} ({u})", d.display()),
            (None, Some(d)) => d.display().to_string(),
            (Some(u), None) => u.clone(),
            (None, None) => "-".into(),
        }
    }

    /// Heights at which the parameters in force up to the tip took effect (0 first).
    pub fn effect_heights(&self) -> Vec<u64> {
        effect_heights(&self.history, self.tip.height)
    }

    /// Gathers the facts from the data directory `dir`: the ledger read in one transaction (the
    /// node may be serving it), the full audit, the key files. `node_url`, else the URL kept in
    /// the directory, is only looked at, not contacted.
    pub fn from_data_dir(
        dir: &Path,
        node_url: Option<String>,
        opts: &AssessOptions<'_>,
    ) -> Result<Facts, AssessError> {
        let genesis = datadir::load_params(dir)?;
        let conn = store::open_reader(&dir.join(datadir::LEDGER_FILE))?;
        conn.execute_batch("BEGIN")?;
        let result = audit::verify_with(
            &conn,
            &genesis,
            &AuditOptions {
                depth: Depth::Full,
                jobs: opts.jobs,
                from: None,
                progress: opts.progress,
                cosigned: &[],
            },
        );
        if let Err(e @ IntegrityError::Cancelled { .. }) = &result {
            return Err(AssessError::Cancelled(e.to_string()));
        }
        let report = AuditReport::from_result(result, &genesis);
        let history = crate::governance::store::load_history(&conn, &genesis)?;
        let tip = store::tip(&conn)?.ok_or(AssessError::NoGenesis)?.header;
        let mut block_times = BTreeMap::new();
        for h in effect_heights(&history, tip.height) {
            if let Some(s) = store::header_at(&conn, h)? {
                block_times.insert(h, s.header.time_ms);
            }
        }
        let (audit_last_seq, _) = store::audit_head(&conn)?;
        let wallets = store::wallets(&conn, MAX_ROWS)?;
        let evidence = store::evidence(&conn, None, None, MAX_ROWS)?.len() as u64;
        conn.execute_batch("COMMIT")?;
        let mut key_files = key_files_in(dir);
        for d in opts.key_dirs {
            key_files.extend(key_files_in(d));
        }
        let node_url = node_url.or_else(|| dfc_client::endpoint::read_node_url(dir).ok());
        Ok(Facts {
            node_url,
            data_dir: Some(dir.to_path_buf()),
            history,
            tip,
            block_times,
            audit: AuditEvidence::Full(report),
            audit_last_seq,
            wallets: wallets.len() as u64,
            frozen: wallets.iter().filter(|w| w.frozen).count() as u64,
            flagged: wallets.iter().filter(|w| w.flags != 0).count() as u64,
            evidence,
            key_files,
            max_key_age_ms: opts.max_key_age_ms,
        })
    }

    /// Gathers the facts through the API of the node `client` talks to: what a remote reader
    /// can check. Blocks and the audit log are served to operators and auditors only, so the
    /// client signs its reads with such a key (`BankClient::with_reader`).
    pub async fn from_node(
        client: &BankClient,
        opts: &AssessOptions<'_>,
    ) -> Result<Facts, AssessError> {
        let url = client.base_url();
        let history = client.params_history().await?;
        let supply = client.supply().await?;
        let tip_block = client
            .blocks(supply.height, 1)
            .await?
            .blocks
            .into_iter()
            .next()
            .ok_or_else(|| AssessError::Node(format!("no block at height {}", supply.height)))?;
        let tip = tip_block.header.clone();
        let tip_signed = history
            .at(tip.height)
            .node_key
            .verify(&tip.hash().0, &tip_block.signature);
        let mut block_times = BTreeMap::new();
        for h in effect_heights(&history, tip.height) {
            if let Some(b) = client.blocks(h, 1).await?.blocks.first() {
                block_times.insert(h, b.header.time_ms);
            }
        }
        let (log, audit_last_seq) = match verify_log(client).await {
            Ok((n, last)) => (Ok(n), last),
            Err(e) => (Err(e), 0),
        };
        let wallets = client.wallets().await?;
        let evidence = client.evidence(None, None).await?.len() as u64;
        let mut key_files = Vec::new();
        for d in opts.key_dirs {
            key_files.extend(key_files_in(d));
        }
        Ok(Facts {
            node_url: Some(url.to_string()),
            data_dir: None,
            history,
            tip,
            block_times,
            audit: AuditEvidence::Api {
                invariant_ok: supply.invariant_ok,
                halted: supply.halted,
                log,
                tip_signed,
            },
            audit_last_seq,
            wallets: wallets.len() as u64,
            frozen: wallets.iter().filter(|w| w.frozen).count() as u64,
            flagged: wallets.iter().filter(|w| w.flags != 0).count() as u64,
            evidence,
            key_files,
            max_key_age_ms: opts.max_key_age_ms,
        })
    }
}

fn effect_heights(history: &ParamsHistory, tip: u64) -> Vec<u64> {
    std::iter::once(0)
        .chain(
            history
                .changes()
                .iter()
                .map(|c| c.change.effective_height)
                .filter(|h| *h <= tip),
        )
        .collect()
}

/// Checks the hash chain of the node's audit log through the API: entries verified and the
/// newest sequence number, or the first broken link.
pub async fn verify_log(client: &BankClient) -> Result<(u64, u64), String> {
    let mut prev = Hash32([0u8; 32]);
    let mut next_seq = 1u64;
    for _ in 0..MAX_LOG_PAGES {
        let page: Vec<AuditEntry> = client
            .audit_log(next_seq)
            .await
            .map_err(|e| e.to_string())?;
        if page.is_empty() {
            return Ok((next_seq - 1, next_seq - 1));
        }
        for e in &page {
            if e.seq != next_seq {
                return Err(format!(
                    "audit log entry {} follows {}",
                    e.seq,
                    next_seq - 1
                ));
            }
            if e.prev_hash != prev {
                return Err(format!(
                    "audit log entry {} does not link to the entry before it",
                    e.seq
                ));
            }
            let h =
                AuditEntry::compute_hash(e.seq, e.time_ms, e.operator, &e.action, &e.detail, &prev);
            if h != e.hash {
                return Err(format!("audit log entry {} does not match its hash", e.seq));
            }
            prev = e.hash;
            next_seq += 1;
        }
    }
    Err(format!(
        "the audit log has more than {} pages",
        MAX_LOG_PAGES
    ))
}

/// The `*.key` files in `dir` (not recursive), each read to see how it is kept.
pub fn key_files_in(dir: &Path) -> Vec<KeyFile> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<KeyFile> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "key") && p.is_file())
        .map(|p| inspect_key_file(&p))
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Reads one key file: plain hex (64 hex characters of a seed), an encrypted key file (whose
/// public key its header names, read without the passphrase), or anything else.
pub fn inspect_key_file(path: &Path) -> KeyFile {
    let text = std::fs::read(path).unwrap_or_default();
    let seed = std::str::from_utf8(&text)
        .ok()
        .and_then(|t| dfc_core::codec::hex_array::<32>(t.trim(), "key").ok());
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o777)
    };
    #[cfg(not(unix))]
    let mode = None;
    let stated = match seed {
        Some(_) => None,
        None => dfc_keys::keyfile::stated_public_key(path).ok(),
    };
    KeyFile {
        path: path.to_path_buf(),
        plain_hex: seed.is_some(),
        encrypted: stated.is_some(),
        mode,
        publics: match (seed, stated) {
            (Some(s), _) => vec![
                SigningKey::from_seed(&s).public(),
                dfc_core::compliance::RegulatorKey::from_seed(&s).public(),
            ],
            (None, Some(public)) => vec![public],
            (None, None) => Vec::new(),
        },
    }
}
