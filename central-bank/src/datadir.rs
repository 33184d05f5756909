//! The data directory: `params.json`, `node.key`, the operator keys of a sandbox and the SQLite
//! ledger `ledger.sqlite`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use dfc_core::params::default_tiers;
use dfc_core::{
    Amount, Block, BlockHeader, Hash32, Limits, NetworkParams, OperatorKey, SigningKey,
};
use rand_core::{OsRng, RngCore};
use thiserror::Error;

use crate::error::StoreError;
use crate::store;

/// File name of the network parameters.
pub const PARAMS_FILE: &str = "params.json";
/// File name of the node's signing key (hex seed).
pub const NODE_KEY_FILE: &str = "node.key";
/// File name of the SQLite ledger.
pub const LEDGER_FILE: &str = "ledger.sqlite";

/// Why a data directory cannot be created or read.
#[derive(Debug, Error)]
pub enum DataDirError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The directory already holds a ledger.
    #[error("{0} already holds a ledger; refusing to overwrite it")]
    Exists(PathBuf),
    /// A file does not parse.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The options do not make valid network parameters.
    #[error("invalid network parameters: {0}")]
    Params(#[from] dfc_core::params::ParamsError),
    /// The ledger could not be created.
    #[error("ledger: {0}")]
    Store(#[from] StoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Options of `dfc-bank init`.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Network id (the default is fresh and random: [`random_network_id`]).
    pub network_id: u32,
    /// Network name.
    pub name: String,
    /// Currency code.
    pub currency: String,
    /// Currency decimals.
    pub decimals: u8,
    /// Number of operators (issuer keys).
    pub operators: usize,
    /// Approvals needed.
    pub threshold: usize,
    /// Where to write the operator keys; `None` writes them beside the ledger (a sandbox).
    pub operator_keys_dir: Option<PathBuf>,
    /// Turn on the compliance rules (ZK tier caps, disclosure to the regulator at or above this
    /// amount) and create the regulator's key (`regulator.key`, beside the operator keys).
    pub reporting_threshold: Option<Amount>,
    /// Number of auditor keys to create (`auditor-N.key`, beside the operator keys) and name in
    /// the parameters: they may read full blocks, the registry and the audit log.
    pub auditors: usize,
    /// Serve over TLS: generate a self-signed certificate for these names (with
    /// [`crate::tls::sandbox_names`]'s loopback names), write it as `tls-cert.pem`/`tls-key.pem`
    /// and pin it in the parameters' `tls_ca`. `None`: plain HTTP on loopback.
    pub tls_names: Option<Vec<String>>,
    /// Operator keys held outside this directory (e.g. `ed25519:HEX` of a key in a PKCS#11
    /// token, from `dfc-bank keys pkcs11-generate`), named in the parameters after the
    /// `operators` keys generated here; no key file is written for them.
    pub outside_operators: Vec<OperatorKey>,
    /// Encrypt every key file written (node, operators, auditors, regulator) under this
    /// passphrase (argon2id + XChaCha20-Poly1305, `dfc-keys`); `None` writes plain hex, fit for a
    /// sandbox only.
    pub key_passphrase: Option<KeyPassphrase>,
}

/// A passphrase for new key files; its `Debug` form hides it.
#[derive(Clone)]
pub struct KeyPassphrase(pub zeroize::Zeroizing<String>);

impl std::fmt::Debug for KeyPassphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPassphrase(***)")
    }
}

/// A fresh random network id (never 0). Two networks created with the defaults get different ids,
/// so their addresses, transactions and signed requests do not cross (one chance in about four
/// billion that they would).
pub fn random_network_id() -> u32 {
    loop {
        let id = OsRng.next_u32();
        if id != 0 {
            return id;
        }
    }
}

impl Default for InitOptions {
    /// The sandbox defaults, with a fresh random network id.
    fn default() -> Self {
        InitOptions {
            network_id: random_network_id(),
            name: "dfc sandbox".into(),
            currency: "DFC".into(),
            decimals: 2,
            operators: 3,
            threshold: 2,
            operator_keys_dir: None,
            reporting_threshold: None,
            auditors: 1,
            tls_names: None,
            outside_operators: Vec::new(),
            key_passphrase: None,
        }
    }
}

/// What `init` made.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InitReport {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The parameters.
    pub params: NetworkParams,
    /// Paths of the operator key files.
    pub operator_keys: Vec<PathBuf>,
    /// Paths of the auditor key files.
    pub auditor_keys: Vec<PathBuf>,
    /// Hash of the genesis block.
    pub genesis_hash: Hash32,
}

/// File name of the regulator's key (a 32-byte seed, see `dfc_core::compliance::RegulatorKey`).
pub const REGULATOR_KEY_FILE: &str = "regulator.key";

/// Reads the regulator's key file.
pub fn read_regulator_key(path: &Path) -> Result<dfc_core::compliance::RegulatorKey, DataDirError> {
    // Encrypted (`init --encrypt-keys`, `keys encrypt`) or plain hex, as every key file.
    let seed = read_seed(path)?;
    Ok(dfc_core::compliance::RegulatorKey::from_seed(&seed))
}

/// The regulator's read key: a signing key derived from the regulator's seed, named among the
/// auditors when compliance is on, so the regulator's tool can read the blocks its disclosures
/// are in. (The regulator's disclosure key itself is an encryption key on another generator and
/// does not sign.)
pub fn regulator_read_key(seed: &[u8; 32]) -> SigningKey {
    SigningKey::from_seed(&dfc_core::transcript::hash32(
        b"dfc/regulator-read-key/v1",
        &[(b"seed", seed)],
    ))
}

/// Reads the regulator's key file as its read key ([`regulator_read_key`]).
pub fn read_regulator_read_key(path: &Path) -> Result<SigningKey, DataDirError> {
    let seed = read_seed(path)?;
    Ok(regulator_read_key(&seed))
}

/// Path of auditor key `index` in `dir`.
pub fn auditor_key_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("auditor-{index}.key"))
}

/// Path of operator key `index` in `dir`.
pub use dfc_client::keyfile::operator_key_path;

/// Writes a secret key file readable by its owner only.
/// Writes a key file: encrypted under `passphrase` if given, else plain hex (a sandbox).
pub fn write_key_file(
    path: &Path,
    seed: &[u8; 32],
    passphrase: Option<&KeyPassphrase>,
) -> Result<(), DataDirError> {
    let Some(pass) = passphrase else {
        return write_key(path, seed);
    };
    if path.exists() {
        return Err(DataDirError::Exists(path.to_path_buf()));
    }
    dfc_keys::keyfile::write_encrypted(path, seed, &pass.0, dfc_keys::sealed::KdfCost::default())
        .map_err(|e| DataDirError::Invalid {
            path: path.to_path_buf(),
            reason: format!("{}: {e}", e.code()),
        })
}

/// Writes a plain-hex key file (owner-only, refusing to overwrite).
pub fn write_key(path: &Path, seed: &[u8; 32]) -> Result<(), DataDirError> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(format!("{}\n", hex::encode(seed)).as_bytes())
        .map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Reads a key file: passphrase-encrypted (`DFC_KEY_PASSPHRASE` or a terminal prompt), or 64
/// hex characters of a 32-byte seed (a sandbox; read with a warning).
pub fn read_key(path: &Path) -> Result<SigningKey, DataDirError> {
    dfc_client::keyfile::read_key(path).map_err(|e| match e {
        dfc_client::keyfile::KeyFileError::Io { path, source } => DataDirError::Io { path, source },
        dfc_client::keyfile::KeyFileError::Invalid { path, reason } => {
            DataDirError::Invalid { path, reason }
        }
        // Wrong or missing passphrase: named with its stable code.
        e => {
            let code = e.code();
            DataDirError::Invalid {
                path: path.to_path_buf(),
                reason: format!("{code}: {e}"),
            }
        }
    })
}

/// Reads a key file's 32-byte seed: passphrase-encrypted (`DFC_KEY_PASSPHRASE` or a terminal
/// prompt) or plain hex (a sandbox; read with a warning).
pub fn read_seed(path: &Path) -> Result<[u8; 32], DataDirError> {
    static PASSPHRASE: std::sync::OnceLock<dfc_keys::Passphrase> = std::sync::OnceLock::new();
    let pass = PASSPHRASE.get_or_init(|| dfc_keys::Passphrase::new(None));
    let (seed, at_rest) = dfc_keys::keyfile::read_seed(path, pass).map_err(|e| {
        let code = e.code();
        DataDirError::Invalid {
            path: path.to_path_buf(),
            reason: format!("{code}: {e}"),
        }
    })?;
    if at_rest == dfc_keys::keyfile::AtRest::Plain {
        tracing::warn!(path = %path.display(), "plain-hex key file (not encrypted): fit for a sandbox only");
    }
    Ok(*seed)
}

fn new_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    seed
}

/// Current time in ms since the Unix epoch.
pub use dfc_client::now_ms;

/// Creates a data directory: parameters, keys and the ledger with its signed genesis block.
pub fn init(dir: &Path, opts: &InitOptions) -> Result<InitReport, DataDirError> {
    let ledger = dir.join(LEDGER_FILE);
    if ledger.exists() || dir.join(PARAMS_FILE).exists() || dir.join(NODE_KEY_FILE).exists() {
        return Err(DataDirError::Exists(dir.to_path_buf()));
    }
    fs::create_dir_all(dir).map_err(io(dir))?;
    let key_dir = opts
        .operator_keys_dir
        .clone()
        .unwrap_or_else(|| dir.to_path_buf());
    fs::create_dir_all(&key_dir).map_err(io(&key_dir))?;
    let mut issuers = Vec::with_capacity(opts.operators);
    let mut operator_keys = Vec::with_capacity(opts.operators);
    let mut seeds = Vec::with_capacity(opts.operators);
    for i in 0..opts.operators {
        let path = operator_key_path(&key_dir, i);
        if path.exists() {
            return Err(DataDirError::Exists(path));
        }
        let seed = new_seed();
        issuers.push(SigningKey::from_seed(&seed).public().into());
        seeds.push((path.clone(), seed));
        operator_keys.push(path);
    }
    issuers.extend(opts.outside_operators.iter().copied());
    let regulator = opts.reporting_threshold.map(|t| (new_seed(), t));
    let regulator_path = key_dir.join(REGULATOR_KEY_FILE);
    if regulator.is_some() && regulator_path.exists() {
        return Err(DataDirError::Exists(regulator_path));
    }
    let mut auditors = Vec::with_capacity(opts.auditors + 1);
    let mut auditor_keys = Vec::with_capacity(opts.auditors);
    for i in 0..opts.auditors {
        let path = auditor_key_path(&key_dir, i);
        if path.exists() {
            return Err(DataDirError::Exists(path));
        }
        let seed = new_seed();
        auditors.push(SigningKey::from_seed(&seed).public().into());
        seeds.push((path.clone(), seed));
        auditor_keys.push(path);
    }
    if let Some((seed, _)) = &regulator {
        auditors.push(regulator_read_key(seed).public().into());
    }
    let node_seed = new_seed();
    let node_key = SigningKey::from_seed(&node_seed);
    let tls_err = |e: crate::tls::TlsError| DataDirError::Invalid {
        path: dir.join(crate::tls::TLS_CERT_FILE),
        reason: e.to_string(),
    };
    let tls_pair = opts
        .tls_names
        .as_ref()
        .map(|extra| crate::tls::generate_self_signed(&crate::tls::sandbox_names(extra)))
        .transpose()
        .map_err(tls_err)?;
    let params = NetworkParams {
        network_id: opts.network_id,
        name: opts.name.clone(),
        sandbox: opts.operator_keys_dir.is_none(),
        currency: opts.currency.clone(),
        decimals: opts.decimals,
        issuers,
        threshold: opts.threshold,
        node_key: node_key.public(),
        limits: Limits::default(),
        tiers: default_tiers(),
        turnover_period_days: dfc_core::params::DEFAULT_TURNOVER_PERIOD_DAYS,
        auditors,
        tls_ca: tls_pair.as_ref().map(|p| p.cert_pem.clone()),
        genesis_hash: Hash32([0u8; 32]),
        compliance: regulator.map(|(seed, reporting_threshold)| {
            dfc_core::compliance::ComplianceParams {
                regulator_key: dfc_core::compliance::RegulatorKey::from_seed(&seed).public(),
                reporting_threshold,
            }
        }),
    };
    let mut params = params;
    params.validate()?;
    let pass = opts.key_passphrase.as_ref();
    for (path, seed) in &seeds {
        write_key_file(path, seed, pass)?;
    }
    if let Some((seed, _)) = &regulator {
        write_key_file(&regulator_path, seed, pass)?;
    }
    write_key_file(&dir.join(NODE_KEY_FILE), &node_seed, pass)?;
    if let Some(pair) = &tls_pair {
        crate::tls::write_pair(dir, pair).map_err(tls_err)?;
    }
    let genesis = Block::seal(
        BlockHeader {
            version: dfc_core::block::HEADER_VERSION,
            history_root: dfc_core::history::HistoryPeaks::new().root(),
            network: params.network_id,
            height: 0,
            prev_hash: Hash32([0u8; 32]),
            time_ms: now_ms(),
            tx_root: Hash32([0u8; 32]),
            tx_count: 0,
            supply: Amount::ZERO,
            params_hash: params.hash(),
            audit_seq: 0,
            audit_head: Hash32([0u8; 32]),
        },
        Vec::new(),
        &node_key,
    );
    // The genesis block commits to the parameters' hash, which leaves out `genesis_hash`: only
    // now can the parameters name their genesis.
    params.genesis_hash = genesis.header.hash();
    let params_path = dir.join(PARAMS_FILE);
    let json = serde_json::to_string_pretty(&params).map_err(|e| DataDirError::Invalid {
        path: params_path.clone(),
        reason: e.to_string(),
    })?;
    fs::write(&params_path, json + "\n").map_err(io(&params_path))?;
    let mut conn = store::open_writer(&ledger)?;
    let tx = conn.transaction().map_err(StoreError::from)?;
    store::insert_block(&tx, &genesis, &[], &store::BlockEffects::none())?;
    store::append_audit(
        &tx,
        genesis.header.time_ms,
        None,
        "init",
        &serde_json::json!({
            "network": params.network_id,
            "threshold": params.threshold,
            "operators": params.issuers.len(),
            "genesis": genesis.header.hash(),
        })
        .to_string(),
    )?;
    tx.commit().map_err(StoreError::from)?;
    Ok(InitReport {
        data_dir: dir.to_path_buf(),
        params,
        operator_keys,
        auditor_keys,
        genesis_hash: genesis.header.hash(),
    })
}

/// Everything the node needs from a data directory.
pub struct DataDir {
    /// The directory.
    pub dir: PathBuf,
    /// Network parameters.
    pub params: NetworkParams,
    /// The node's signing key.
    pub node_key: SigningKey,
    /// The key of the ledger's table digests, derived from the node key's seed.
    pub digest_key: crate::summary::DigestKey,
}

impl DataDir {
    /// Path of the ledger.
    pub fn ledger(&self) -> PathBuf {
        self.dir.join(LEDGER_FILE)
    }
}

/// Reads the parameters of a data directory.
pub fn load_params(dir: &Path) -> Result<NetworkParams, DataDirError> {
    let path = dir.join(PARAMS_FILE);
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    let params: NetworkParams = serde_json::from_str(&text).map_err(|e| DataDirError::Invalid {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    params.validate()?;
    Ok(params)
}

/// Opens a data directory for serving: parameters, node key (which must match the parameters) and
/// an existing ledger.
pub fn open(dir: &Path) -> Result<DataDir, DataDirError> {
    let params = load_params(dir)?;
    let key_path = dir.join(NODE_KEY_FILE);
    let seed = read_seed(&key_path)?;
    let node_key = SigningKey::from_seed(&seed);
    let digest_key = crate::summary::DigestKey::from_seed(&seed);
    if node_key.public() != params.node_key {
        return Err(DataDirError::Invalid {
            path: key_path,
            reason: "this key is not the node key named in params.json".into(),
        });
    }
    let ledger = dir.join(LEDGER_FILE);
    if !ledger.exists() {
        return Err(DataDirError::Invalid {
            path: ledger,
            reason: "no ledger here: run `dfc-bank init` first".into(),
        });
    }
    Ok(DataDir {
        dir: dir.to_path_buf(),
        params,
        node_key,
        digest_key,
    })
}
