//! The HTTP API: [`app`] builds the router (tests call it without a socket), [`start`] opens a
//! data directory, checks the ledger and starts the sequencer, [`serve`] runs it on a listener.
//!
//! Submission pipeline of `POST /v1/transactions`: cheap checks in the handler (kind, already
//! committed, structure, then registry and state lookups on a reader connection), then signature
//! and proof verification on the blocking pool bounded by a semaphore, then the sequencer (see
//! [`crate::sequencer`]) which commits blocks and answers with durable receipts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path as UrlPath, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dfc_core::api::{
    ApiError, AuditEntry, BlocksResponse, Checkpoint, NoteStatus, OperatorAction, OperatorRequest,
    OperatorResponse, Proposal, Receipt, RegisterRequest, SubmitRequest, SupplySummary, TxStatus,
    WalletInfo,
};
use dfc_core::merkle::LedgerTree;
use dfc_core::validate::{check_structure, next_supply};
use dfc_core::{Hash32, InputNote, NetworkParams, PublicKey, Transaction, TxKind};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};
use tower::limit::ConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::audit::IntegrityError;
use crate::datadir::{self, now_ms, DataDirError};
use crate::error::{status_code_name, ApiErr, StoreError};
use crate::reads::Reader;
use crate::sequencer::{Command, LedgerStatus, Sequencer, Shared, MAX_CLOCK_SKEW_MS};
use crate::store;
use crate::verifier::{Verifier, VerifyError};
use crate::wallet_limits::WalletLimiter;

mod health;
mod listen;
mod proposals_api;
mod submission;
mod wallets_api;
pub use listen::{serve, serve_tls_with, serve_with};
use proposals_api::{operator, proposal, proposals, redemption};
use submission::precheck;
pub(crate) use submission::{after_state_checks, seen, submit_transfer, Seen};
pub(crate) use wallets_api::parse_key_lookup;
use wallets_api::{register, wallet, wallets};

/// Largest request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most blocks per `GET /v1/blocks`.
pub const MAX_BLOCKS_PER_PAGE: usize = 500;
/// Most audit-log entries per page.
pub const MAX_AUDIT_PER_PAGE: usize = 1000;
/// Most wallets or proposals per listing.
pub const MAX_LIST: usize = 10_000;
/// Commands waiting for the sequencer before submissions are refused with 503.
pub const QUEUE_CAPACITY: usize = 4096;
/// Requests handled at once; more wait.
pub const MAX_CONCURRENT_REQUESTS: usize = 512;
/// A request taking longer is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection that has not sent a whole request head (request line and headers) this long
/// after it started one is closed: a client dribbling header bytes (slowloris) cannot hold a
/// connection slot for ever. Bodies are bounded by [`REQUEST_TIMEOUT`]; a connection that has
/// sent no complete request at all is closed sooner by admission control
/// ([`crate::admission::AdmissionConfig::first_request_timeout`]).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle reader connections kept open.
const MAX_IDLE_READERS: usize = 16;

/// Why the node cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory is unusable.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The ledger failed its integrity check: the node refuses to serve it.
    #[error("ledger integrity check failed: {0}")]
    Integrity(#[from] IntegrityError),
    /// The ledger could not be opened.
    #[error("ledger: {0}")]
    Store(#[from] StoreError),
    /// Another node is the ledger's writer (or the directory is not writable).
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
}

struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    fn take(&self) -> Result<Connection, StoreError> {
        let conn = match self.idle.lock() {
            Ok(mut idle) => idle.pop(),
            Err(p) => p.into_inner().pop(),
        };
        match conn {
            Some(c) => Ok(c),
            None => store::open_reader(&self.path),
        }
    }
    fn put(&self, conn: Connection) {
        let mut idle = match self.idle.lock() {
            Ok(idle) => idle,
            Err(p) => p.into_inner(),
        };
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
    }
}

struct Inner {
    shared: Arc<Shared>,
    queue: mpsc::Sender<Command>,
    readers: ReadPool,
    verifier: Verifier,
    ledger_tree: Mutex<Option<(u64, Arc<LedgerTree>)>>,
    options: NodeOptions,
    wallet_limits: WalletLimiter,
    read_nonces: crate::reads::ReadNonces,
}

/// Settings of a running node that are not network parameters.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// Validity of a purse certificate, ms (wallets may ask for less).
    pub purse_ttl_ms: u64,
    /// Verify waiting transactions in batches (one multiscalar multiplication per batch) rather
    /// than one by one.
    pub batch_verification: bool,
    /// Verification worker threads; 0 means one per core.
    pub verify_workers: usize,
    /// Lifetime of an issue or redeem proposal, ms: past it, it cannot be approved.
    pub proposal_ttl_ms: u64,
    /// Submissions per second per wallet key (`crate::wallet_limits`); 0 turns the limit off.
    pub wallet_rate_per_second: u32,
    /// Submissions one wallet may send in a burst above its rate.
    pub wallet_rate_burst: u32,
    /// Check every table's rows against the signed digests before answering (linear in the
    /// ledger), instead of in the background after `/healthz` answers (the default; see
    /// [`crate::table_check`]).
    pub check_tables_first: bool,
    /// Share a PostgreSQL ledger with other nodes ([`crate::cluster`]); `None`: alone on SQLite.
    pub cluster: Option<crate::cluster::ClusterOptions>,
}

/// Default validity of a purse certificate: 7 days.
pub const DEFAULT_PURSE_TTL_MS: u64 = 7 * 24 * 3600 * 1000;
/// Most evidence records per `GET /v1/evidence`.
pub const MAX_EVIDENCE_PER_PAGE: usize = 1000;

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            purse_ttl_ms: DEFAULT_PURSE_TTL_MS,
            batch_verification: true,
            verify_workers: 0,
            proposal_ttl_ms: crate::proposals::DEFAULT_PROPOSAL_TTL_MS,
            wallet_rate_per_second: crate::wallet_limits::DEFAULT_WALLET_RATE,
            wallet_rate_burst: crate::wallet_limits::DEFAULT_WALLET_BURST,
            check_tables_first: false,
            cluster: None,
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

/// A started node: its state for the router and the sequencer thread.
pub struct Started {
    /// State for [`app`].
    pub state: AppState,
    /// The sequencer thread; it ends when every [`AppState`] is dropped, or on a storage failure.
    pub sequencer: std::thread::JoinHandle<Result<(), StoreError>>,
    /// The background table check ([`crate::table_check`]): receives its error if it fails (the
    /// node is then already halted: writes refused, `/healthz` says `halted`); closed without a
    /// value when it passes or did not run.
    pub table_check: oneshot::Receiver<IntegrityError>,
}

/// Opens `dir`, checks the whole ledger (refusing a tampered one, naming the first bad record)
/// and starts the sequencer.
pub fn start(dir: &Path) -> Result<Started, StartError> {
    start_with(dir, NodeOptions::default())
}

/// [`start`] with node options.
pub fn start_with(dir: &Path, options: NodeOptions) -> Result<Started, StartError> {
    let data = datadir::open(dir)?;
    let ledger = data.ledger();
    // Before the first write: a second writer must never touch the ledger.
    let lock = crate::lock::LedgerLock::acquire(dir)?;
    let conn = store::open_writer(&ledger)?;
    let started_at = std::time::Instant::now();
    // The signed summary and the table digests, or the full replay when there is no usable
    // summary (see `summary`). The triggers then keep the digests current on this connection.
    let summary = crate::summary::startup_check(
        &conn,
        &data.params,
        &data.node_key,
        &data.digest_key,
        options.check_tables_first,
    )?;
    let history = crate::governance::store::load_history(&conn, &data.params)?;
    tracing::info!(
        height = summary.tip.height,
        supply = %data.params.format(summary.supply),
        notes = summary.notes_outstanding,
        audit_entries = summary.audit_entries,
        full_replay = summary.replayed,
        tables_in_background = summary.tables_deferred,
        elapsed_ms = u64::try_from(started_at.elapsed().as_millis()).unwrap_or(u64::MAX),
        "ledger verified"
    );
    let next_height = summary.tip.height + 1;
    let status = LedgerStatus {
        tip_hash: summary.tip.hash(),
        tip: summary.tip,
        notes_outstanding: summary.notes_outstanding,
        tx_count: summary.tx_count,
        invariant_ok: true,
        halted: false,
    };
    let shared = Arc::new(Shared {
        rules: std::sync::RwLock::new(crate::governance::Rules::new(history, next_height)),
        node_keys: crate::node_keys::NodeKeys::load(&data.dir, &data.node_key)?,
        node_key: data.node_key,
        proposal_ttl_ms: options.proposal_ttl_ms,
        status: std::sync::RwLock::new(status),
        replica: Default::default(),
        write_gate: if summary.tables_deferred {
            crate::table_check::WriteGate::closed()
        } else {
            crate::table_check::WriteGate::opened()
        },
    });
    let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
    let seq = Sequencer::new(conn, shared.clone());
    let cluster = options.cluster.clone();
    let sequencer = std::thread::Builder::new()
        .name("sequencer".into())
        .spawn(move || {
            // The writer holds the lock until its last commit, not just while it is served.
            let _lock = lock;
            match cluster {
                Some(c) => crate::cluster::run(seq, rx, c),
                None => seq.run(rx),
            }
        })
        .map_err(|e| {
            StartError::DataDir(DataDirError::Io {
                path: ledger.clone(),
                source: e,
            })
        })?;
    let table_check = spawn_table_check(
        summary.tables_deferred,
        &ledger,
        data.params.clone(),
        data.digest_key.clone(),
        shared.clone(),
    );
    let workers = match options.verify_workers {
        0 => std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2),
        n => n,
    };
    let verifier = Verifier::start(workers, options.batch_verification).map_err(|e| {
        StartError::DataDir(DataDirError::Io {
            path: ledger.clone(),
            source: e,
        })
    })?;
    let wallet_limits =
        WalletLimiter::new(options.wallet_rate_per_second, options.wallet_rate_burst)
            .unwrap_or_else(|_| WalletLimiter::off());
    let state = AppState {
        inner: Arc::new(Inner {
            wallet_limits,
            shared,
            queue,
            readers: ReadPool {
                path: ledger,
                idle: Mutex::new(Vec::new()),
            },
            verifier,
            ledger_tree: Mutex::new(None),
            options,
            read_nonces: Default::default(),
        }),
    };
    Ok(Started {
        state,
        sequencer,
        table_check,
    })
}

/// Starts the background table check if `deferred`; on failure it halts the node (every later
/// write refused, `/healthz` says `halted`) and sends the error.
fn spawn_table_check(
    deferred: bool,
    ledger: &Path,
    params: NetworkParams,
    digest: crate::summary::DigestKey,
    shared: Arc<Shared>,
) -> oneshot::Receiver<IntegrityError> {
    let (fail, verdict) = oneshot::channel();
    if !deferred {
        return verdict;
    }
    let ledger = ledger.to_path_buf();
    let halt = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("table-check".into())
        .spawn(move || {
            match crate::table_check::verify_tables(&ledger, &params.node_key, &digest) {
                Ok(r) => {
                    tracing::info!(
                        rows = r.rows,
                        elapsed_ms = r.elapsed_ms,
                        "table digests verified in the background; writes begin"
                    );
                    shared.write_gate.open();
                }
                Err(found) => {
                    shared.update(|s| {
                        s.halted = true;
                        s.invariant_ok = false;
                    });
                    // Halted first: the waiting sequencer then refuses its write.
                    shared.write_gate.open();
                    tracing::error!(error = %found, "ledger integrity: the background table \
                        check failed; the node refuses every write and halts");
                    // Paid only on a ledger refused anyway: the replay names the first bad
                    // record where the digest names only its table.
                    let named = crate::table_check::name_first_bad_record(&ledger, &params)
                        .unwrap_or(found);
                    let _ = fail.send(named);
                }
            }
        });
    if let Err(e) = spawned {
        // Without the check the node must not write on unchecked tables.
        tracing::error!(error = %e, "cannot start the table check; the node refuses writes");
        halt.update(|s| s.halted = true);
        halt.write_gate.open();
    }
    verdict
}

impl AppState {
    /// Whether this node serves a replica of a shared ledger (`serve --store postgres://…`).
    pub(crate) fn replica_enabled(&self) -> bool {
        self.inner.shared.replica.enabled()
    }

    /// The parameters in force at the next block.
    pub(crate) fn params(&self) -> Arc<NetworkParams> {
        self.inner.shared.params()
    }
    /// The parameter history and the rules in force.
    pub(crate) fn rules(&self) -> crate::governance::Rules {
        self.inner.shared.rules()
    }
    pub(crate) fn options(&self) -> &NodeOptions {
        &self.inner.options
    }
    pub(crate) fn read_nonces(&self) -> &crate::reads::ReadNonces {
        &self.inner.read_nonces
    }
    /// The node key in force at `height` (keys rotate by governance).
    pub(crate) fn signer_at(&self, height: u64) -> dfc_core::SigningKey {
        self.inner.shared.signer_at(height)
    }
    pub(crate) fn tip_height(&self) -> u64 {
        self.status().tip.height
    }

    /// A checkpoint of the tip, signed now, with the Merkle tree over the unspent notes at its
    /// height. The tree is built once per height and shared, so proofs are cheap.
    pub(crate) async fn checkpoint_tree(&self) -> Result<(Checkpoint, Arc<LedgerTree>), ApiErr> {
        let cached = match self.inner.ledger_tree.lock() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let (height, block_hash, tree) = self
            .read(move |c| {
                // One read transaction: the tip and the unspent set are of the same height.
                let tx = c.unchecked_transaction().map_err(StoreError::from)?;
                let tip =
                    store::tip(&tx)?.ok_or_else(|| ApiErr::internal("ledger without genesis"))?;
                let tree = match cached {
                    Some((h, tree)) if h == tip.header.height => tree,
                    _ => Arc::new(LedgerTree::new(store::unspent_leaves(&tx)?)),
                };
                Ok((tip.header.height, tip.hash, tree))
            })
            .await?;
        match self.inner.ledger_tree.lock() {
            Ok(mut c) => *c = Some((height, tree.clone())),
            Err(p) => *p.into_inner() = Some((height, tree.clone())),
        }
        let network = self.params().network_id;
        let cp = Checkpoint::sign(
            network,
            height,
            block_hash,
            tree.root(),
            now_ms(),
            &self.inner.shared.current_signer(),
        );
        Ok((cp, tree))
    }
    pub(crate) fn status(&self) -> LedgerStatus {
        self.inner.shared.status()
    }

    /// Runs `f` on a reader connection off the async runtime.
    pub(crate) async fn read<R, F>(&self, f: F) -> Result<R, ApiErr>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, ApiErr> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.readers.take()?;
            let out = f(&conn);
            inner.readers.put(conn);
            out
        })
        .await
        .map_err(ApiErr::internal)?
    }

    /// Charges a submission to the wallet that authorised it (`crate::wallet_limits`): the
    /// first input's owner (a claim's claimant), once its signature over `txid` verifies, so
    /// that nobody can spend another wallet's budget with forged submissions. With the limit
    /// off, nothing is checked here (the verification pool checks every signature anyway).
    fn charge_wallet(
        &self,
        tx: &Transaction,
        txid: &dfc_core::TxId,
        inputs: &[InputNote],
        payer: Option<PublicKey>,
    ) -> Result<(), ApiErr> {
        if self.inner.options.wallet_rate_per_second == 0 {
            return Ok(());
        }
        let signer = match &tx.claim {
            Some(claim) => Some(claim.claimant),
            None => inputs.first().map(|i| i.owner),
        };
        let (Some(signer), Some(sig)) = (signer, tx.owner_signatures.first()) else {
            return Err(ApiErr::from(dfc_core::TxError::OwnerSignatureCount {
                have: tx.owner_signatures.len(),
                need: tx.inputs.len().max(1),
            }));
        };
        if !signer.verify(&txid.0, sig) {
            return Err(ApiErr::from(dfc_core::TxError::BadOwnerSignature {
                index: 0,
            }));
        }
        let wallet = payer.unwrap_or(signer);
        self.inner.wallet_limits.charge(&wallet)
    }

    /// Submissions refused by the per-wallet rate limit so far.
    pub fn wallet_rate_limited(&self) -> u64 {
        self.inner.wallet_limits.limited()
    }

    /// Verifies signatures and proofs on the bounded blocking pool.
    async fn verify(&self, tx: Transaction, inputs: Vec<InputNote>) -> Result<(), ApiErr> {
        match self.inner.verifier.verify(tx, inputs, self.params()).await {
            Ok(()) => Ok(()),
            Err(VerifyError::Rejected(e)) => Err(ApiErr::from(e)),
            Err(VerifyError::QueueFull) => Err(ApiErr::unavailable(
                "queue_full",
                VerifyError::QueueFull.to_string(),
            )),
            Err(VerifyError::Stopped) => Err(ApiErr::internal(VerifyError::Stopped)),
        }
    }

    pub(crate) async fn send<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, ApiErr>>) -> Command,
    ) -> Result<T, ApiErr> {
        if self.status().halted {
            return Err(halted());
        }
        let (reply, rx) = oneshot::channel();
        self.inner
            .queue
            .try_send(make(reply))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => ApiErr::unavailable(
                    "queue_full",
                    format!("{QUEUE_CAPACITY} requests are waiting to commit; retry shortly"),
                ),
                mpsc::error::TrySendError::Closed(_) => halted(),
            })?;
        rx.await.map_err(|_| {
            // The sequencer dropped the reply: it is stopping on a storage failure. Mark the
            // node halted now, before this answer goes out, so no later request (health checks
            // included) sees it healthy in the moment before the sequencer itself says so.
            self.inner.shared.update(|s| s.halted = true);
            halted()
        })?
    }
}

fn halted() -> ApiErr {
    ApiErr::unavailable(
        "node_halted",
        "the node stopped writing after a storage failure",
    )
}

// ---------------------------------------------------------------- extractors and middleware

/// A JSON body whose rejections come back as [`dfc_core::api::ApiError`] JSON.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiErr;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(e)) => Err(ApiErr::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                e.body_text(),
            )),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiErr::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
                ))
            }
            Err(e) => Err(ApiErr::bad_request("malformed_json", e.body_text())),
        }
    }
}

/// Gives every error response without a JSON body (from layers: timeouts, limits, unknown
/// routes) an `ApiError` body with a stable code. A request refused for its size was not read to
/// its end, so its connection cannot carry another request: the answer says `Connection: close`,
/// and a client does not reuse it.
async fn json_errors(req: Request, next: Next) -> Response {
    let mut resp = json_error_body(next.run(req).await).await;
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
        resp.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    resp
}

async fn json_error_body(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    // Headers the layer set (`Allow` on a 405, `Retry-After` on a 429) stay on the answer.
    let kept: Vec<(header::HeaderName, header::HeaderValue)> = resp
        .headers()
        .iter()
        .filter(|(name, _)| **name != header::CONTENT_TYPE && **name != header::CONTENT_LENGTH)
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let message = if status.is_server_error() {
        status
            .canonical_reason()
            .unwrap_or("server error")
            .to_string()
    } else {
        let bytes = axum::body::to_bytes(resp.into_body(), 4096)
            .await
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).trim().to_string();
        if text.is_empty() {
            status.canonical_reason().unwrap_or("error").to_string()
        } else {
            text
        }
    };
    let mut out = if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiErr::new(
            status,
            "body_too_large",
            format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        )
        .into_response()
    } else {
        ApiErr::new(status, status_code_name(status), message).into_response()
    };
    for (name, value) in kept {
        out.headers_mut().insert(name, value);
    }
    out
}

async fn not_found() -> ApiErr {
    ApiErr::not_found("not_found", "no such endpoint; see /v1/openapi.json")
}

/// The router with every route and limit. Tests call it without a socket.
pub fn app(state: AppState) -> Router {
    // Batches have their own, larger body limit (each transaction in them is still capped).
    let batch = Router::new()
        .route("/v1/transactions/batch", post(crate::submit::submit_batch))
        .layer(axum::extract::DefaultBodyLimit::max(
            dfc_core::api::batch::MAX_BATCH_BODY_BYTES,
        ))
        .layer(RequestBodyLimitLayer::new(
            dfc_core::api::batch::MAX_BATCH_BODY_BYTES,
        ));
    let genesis = state.params().genesis_hash;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/params", get(params))
        .route("/v1/transactions", post(submit))
        .route("/v1/transactions/{txid}", get(tx_status))
        .route("/v1/notes/{id}", get(note_status))
        .route("/v1/blocks", get(blocks))
        .route("/v1/light/sync", get(crate::light_api::sync))
        .route("/v1/light/notes", get(crate::light_api::notes))
        .route("/v1/light/headers", get(crate::light_api::headers))
        .route("/v1/checkpoint", get(checkpoint))
        .route(
            "/v1/checkpoint/proofs",
            post(crate::offline::checkpoint_proofs),
        )
        .route("/v1/purses", post(crate::offline::purse))
        .route("/v1/offline/settle", post(crate::offline::settle))
        .route("/v1/evidence", get(crate::offline::evidence))
        .route("/v1/supply", get(supply))
        .route("/v1/wallets", post(register).get(wallets))
        .route("/v1/wallets/{key}", get(wallet))
        .route("/v1/redemptions", post(redemption))
        .route("/v1/operator", post(operator))
        .route("/v1/proposals", get(proposals))
        .route("/v1/proposals/{txid}", get(proposal))
        .route("/v1/audit-log", get(audit_log))
        .merge(crate::governance::api::routes())
        .merge(crate::cosign::api::routes())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .merge(batch)
        .fallback(not_found)
        .with_state(state)
        .layer(middleware::from_fn_with_state(
            genesis,
            crate::network_pin::check,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(ConcurrencyLimitLayer::new(MAX_CONCURRENT_REQUESTS))
        .layer(middleware::from_fn(json_errors))
        .layer(TraceLayer::new_for_http())
}

// ---------------------------------------------------------------- handlers

#[utoipa::path(get, path = "/v1/openapi.json", operation_id = "openapi", tag = "node",
    responses((status = 200, description = "This document (OpenAPI 3.1)", body = Object)))]
async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}

#[utoipa::path(get, path = "/v1/params", operation_id = "get_params", tag = "node",
    responses((status = 200, description = "The network parameters, fixed at genesis", body = NetworkParams)))]
async fn params(State(s): State<AppState>) -> Json<NetworkParams> {
    Json((*s.params()).clone())
}

#[utoipa::path(post, path = "/v1/transactions", operation_id = "submit_transaction", tag = "transactions",
    request_body(content = SubmitRequest, description = "`{tx: hex}` as JSON; the same canonical transaction bytes are also accepted as `application/octet-stream`"),
    responses((status = 200, description = "Durable receipt (the same one for a transaction already committed)", body = Receipt,
                  links(("status" = (operation_id = "get_transaction", parameters(("txid" = "$response.body#/txid")), description = "The committed transaction's status")))),
              (status = 400, description = "`malformed_json`, `kind_not_allowed` (issue and redeem go through proposals) or a transaction rule (`malformed_tx`, `wrong_network`, `unbalanced`, `bad_range_proof`, `bad_owner_signature`, ...; docs/api.md lists them)", body = ApiError),
              (status = 403, description = "`unknown_wallet`, `frozen_wallet`, `wrong_tier`, `claim_not_owner`, `claimant_not_account`", body = ApiError),
              (status = 404, description = "`unknown_input`: an input note does not exist", body = ApiError),
              (status = 409, description = "`input_spent`, `commitment_exists`, `input_pending`, `note_not_pending`, `stale_balance`, `stale_inflow`, `wrong_period`", body = ApiError)))]
async fn submit(
    State(s): State<AppState>,
    crate::submit::TxBody(tx): crate::submit::TxBody,
) -> Result<Json<Receipt>, ApiErr> {
    crate::submit::check_kind(&tx)?;
    Ok(Json(submit_transfer(&s, tx).await?))
}

pub(crate) fn parse_hash(text: &str, what: &str) -> Result<Hash32, ApiErr> {
    Hash32::from_hex(text)
        .map_err(|e| ApiErr::bad_request("malformed_id", format!("{what} '{text}': {e}")))
}

#[utoipa::path(get, path = "/v1/transactions/{txid}", operation_id = "get_transaction", tag = "transactions",
    params(("txid" = Hash32, Path, description = "Transaction id, 64 hex digits")),
    responses((status = 200, description = "`committed` (with its receipt), `awaiting_approval` or `unknown`", body = TxStatus),
              (status = 400, description = "`malformed_id`: the id is not 64 hex digits", body = ApiError)))]
async fn tx_status(
    State(s): State<AppState>,
    UrlPath(txid): UrlPath<String>,
) -> Result<Json<TxStatus>, ApiErr> {
    let txid = parse_hash(&txid, "transaction id")?;
    let threshold = s.params().threshold;
    let status = s
        .read(move |c| {
            if let Some(receipt) = store::receipt(c, &txid)? {
                return Ok(TxStatus::Committed { receipt });
            }
            Ok(match store::proposal(c, &txid, threshold)? {
                Some(p) if p.proposal.state == "pending" => TxStatus::AwaitingApproval {
                    approvals: p.proposal.approvals.len(),
                    threshold,
                },
                _ => TxStatus::Unknown,
            })
        })
        .await?;
    Ok(Json(status))
}

#[utoipa::path(get, path = "/v1/notes/{id}", operation_id = "get_note", tag = "transactions",
    params(("id" = Hash32, Path, description = "Note id, 64 hex digits")),
    responses((status = 200, description = "Whether the note exists and is spent", body = NoteStatus),
              (status = 400, description = "`malformed_id`", body = ApiError)))]
async fn note_status(
    State(s): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<NoteStatus>, ApiErr> {
    let id = parse_hash(&id, "note id")?;
    Ok(Json(
        s.read(move |c| Ok(store::note_status(c, &id)?)).await?,
    ))
}

pub(crate) fn query_u64(
    q: &HashMap<String, String>,
    key: &str,
    default: u64,
) -> Result<u64, ApiErr> {
    match q.get(key) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| {
            ApiErr::bad_request(
                "bad_query",
                format!("query parameter {key}='{v}' is not a whole number"),
            )
        }),
    }
}

#[utoipa::path(get, path = "/v1/blocks", operation_id = "get_blocks", tag = "ledger",
    params(("from" = Option<u64>, Query, description = "First height (default 0)"),
           ("limit" = Option<u64>, Query, description = "Most blocks to return (default 100, at most 500)")),
    responses((status = 200, description = "Blocks from `from` on, and the tip height", body = BlocksResponse),
              (status = 400, description = "`bad_query`: a parameter is not a whole number", body = ApiError),
              (status = 401, description = "`read_auth_required`, `bad_read_credential`, `bad_read_signature`, `stale_read_credential`, `replayed_read_credential`: no or bad read credential (`x-dfc-read`)", body = ApiError),
              (status = 403, description = "`read_forbidden`: the key may not read this", body = ApiError)))]
async fn blocks(
    State(s): State<AppState>,
    reader: Reader,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<BlocksResponse>, ApiErr> {
    reader.require_privileged("full blocks")?;
    let from = query_u64(&q, "from", 0)?;
    let limit = usize::try_from(query_u64(&q, "limit", 100)?)
        .unwrap_or(MAX_BLOCKS_PER_PAGE)
        .min(MAX_BLOCKS_PER_PAGE);
    let tip_height = s.status().tip.height;
    if from > tip_height {
        // Past the tip nothing exists (and heights beyond i64 would not even fit a query).
        return Ok(Json(BlocksResponse {
            blocks: Vec::new(),
            tip_height,
        }));
    }
    let blocks = s
        .read(move |c| Ok(store::blocks_from(c, from, limit)?))
        .await?;
    Ok(Json(BlocksResponse { blocks, tip_height }))
}

#[utoipa::path(get, path = "/v1/checkpoint", operation_id = "get_checkpoint", tag = "offline",
    responses((status = 200, description = "A checkpoint of the tip, signed now", body = Checkpoint)))]
async fn checkpoint(State(s): State<AppState>) -> Result<Json<Checkpoint>, ApiErr> {
    let (cp, _) = s.checkpoint_tree().await?;
    Ok(Json(cp))
}

#[utoipa::path(get, path = "/v1/supply", operation_id = "get_supply", tag = "ledger",
    responses((status = 200, description = "The public supply and ledger counters", body = SupplySummary)))]
async fn supply(State(s): State<AppState>) -> Json<SupplySummary> {
    let st = s.status();
    Json(SupplySummary {
        supply: st.tip.supply,
        notes_outstanding: st.notes_outstanding,
        height: st.tip.height,
        tip_hash: st.tip_hash,
        invariant_ok: st.invariant_ok,
        tx_count: st.tx_count,
        halted: st.halted,
        checking_tables: !st.halted && !s.inner.shared.write_gate.is_open(),
    })
}

#[utoipa::path(get, path = "/v1/audit-log", operation_id = "get_audit_log", tag = "ledger",
    params(("from" = Option<u64>, Query, description = "First sequence number (default 1)")),
    responses((status = 200, description = "Audit-log entries from `from`, at most 1000", body = Vec<AuditEntry>),
              (status = 400, description = "`bad_query`", body = ApiError),
              (status = 401, description = "`read_auth_required`, `bad_read_credential`, `bad_read_signature`, `stale_read_credential`, `replayed_read_credential`: no or bad read credential (`x-dfc-read`)", body = ApiError),
              (status = 403, description = "`read_forbidden`: the key may not read this", body = ApiError)))]
async fn audit_log(
    State(s): State<AppState>,
    reader: Reader,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<AuditEntry>>, ApiErr> {
    reader.require_privileged("the audit log")?;
    let from = query_u64(&q, "from", 1)?;
    if i64::try_from(from).is_err() {
        // No entry has a sequence number beyond SQLite's integers.
        return Ok(Json(Vec::new()));
    }
    Ok(Json(
        s.read(move |c| Ok(store::audit_entries(c, from, MAX_AUDIT_PER_PAGE)?))
            .await?,
    ))
}

/// The OpenAPI paths of the handlers (used by [`crate::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "dfc central-bank node",
        description = "The /v1 API of the dfc issuer node. Types are those of dfc_core::api; see docs/api.md."
    ),
    paths(
        health::healthz,
        health::readyz,
        openapi,
        params,
        submit,
        crate::submit::submit_batch,
        tx_status,
        note_status,
        blocks,
        crate::light_api::sync,
        crate::light_api::notes,
        crate::light_api::headers,
        crate::cosign::api::sign,
        crate::cosign::api::list,
        checkpoint,
        crate::offline::checkpoint_proofs,
        crate::offline::purse,
        crate::offline::settle,
        crate::offline::evidence,
        supply,
        wallets_api::register,
        wallets_api::wallets,
        wallets_api::wallet,
        proposals_api::redemption,
        proposals_api::operator,
        proposals_api::proposals,
        proposals_api::proposal,
        audit_log,
        crate::governance::api::history,
        crate::governance::api::changes
    )
)]
pub struct ApiDoc;
