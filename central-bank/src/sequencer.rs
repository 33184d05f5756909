//! The sequencer: the one thread that owns the writer connection. Every write (blocks, wallet
//! registrations, operator actions, the audit log) goes through it, in arrival order.
//!
//! Transfers arrive already verified (signatures and proofs checked on the verification pool).
//! The sequencer takes everything queued, up to [`MAX_BATCH`] transfers, re-checks the state of
//! each through a [`BatchState`] against the database (inputs unspent in the ledger and in the
//! batch, outputs fresh, owners not frozen), seals one block of those admitted, writes it in one
//! SQLite transaction (one fsync) and only then answers every waiter with its receipt. A rejected
//! transfer does not affect the others of its batch.
//!
//! A storage failure while writing is fatal: the sequencer stops, the node answers 503 and exits,
//! since it can no longer be sure what is durable. Restarting re-checks the ledger.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use dfc_core::api::{
    OperatorAction, OperatorRequest, OperatorResponse, Proposal, Receipt, WalletInfo,
};
use dfc_core::offline::PurseCertificate;
use dfc_core::offline_api::EvidenceRecord;
use dfc_core::validate::{check_structure, next_supply, resolve_inputs, verify_crypto};
use dfc_core::{
    Amount, BatchState, Block, BlockHeader, Effects, Hash32, NetworkParams, Signature, SigningKey,
    Transaction, TxId, TxKind,
};
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::datadir::now_ms;
use crate::error::{ApiErr, StoreError};
use crate::store::{self, DbView, LedgerRead, LedgerStore};

mod operators;

/// Most transfers in one block.
pub const MAX_BATCH: usize = 1000;
/// Operator requests further than this from the node clock are refused.
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// A channel for one answer.
pub type Reply<T> = oneshot::Sender<Result<T, ApiErr>>;

/// Work for the sequencer.
pub enum Command {
    /// Commit a verified transfer.
    Submit {
        /// The transfer.
        tx: Transaction,
        /// Where to send the receipt.
        reply: Reply<Receipt>,
    },
    /// Register a wallet (signature already verified).
    Register {
        /// The record to store if the wallet is new.
        info: WalletInfo,
        /// The stored record.
        reply: Reply<WalletInfo>,
    },
    /// Store a wallet's redemption request as a proposal (already verified).
    Redemption {
        /// The owner-signed redeem transaction.
        tx: Transaction,
        /// The redeeming wallet.
        wallet: dfc_core::PublicKey,
        /// The proposal.
        reply: Reply<Proposal>,
    },
    /// Apply an operator request (signature, clock and transaction already verified).
    Operator {
        /// The request.
        req: OperatorRequest,
        /// The outcome.
        reply: Reply<OperatorResponse>,
    },
    /// Issue a purse certificate (request signature and clock already verified; the registry is
    /// re-checked here).
    IssuePurse {
        /// The wallet's spend key.
        wallet: dfc_core::PublicKey,
        /// The purse key to certify.
        purse: dfc_core::PublicKey,
        /// Validity, ms.
        ttl_ms: u64,
        /// The certificate.
        reply: Reply<PurseCertificate>,
    },
    /// Store an operator's checkpoint signature (verified; the block is re-checked here).
    Cosign {
        /// The signature.
        sig: dfc_core::cosign::CheckpointSignature,
        /// The checkpoint at that height with every stored signature, and whether this one was
        /// new.
        reply: Reply<(dfc_core::cosign::CosignedCheckpoint, bool)>,
    },
    /// Store verified double-spend evidence and flag the wallet (once per evidence id).
    Evidence {
        /// The record.
        record: Box<EvidenceRecord>,
        /// Whether it was new.
        reply: Reply<bool>,
    },
}

impl Command {
    /// Answers the command with the refusal `e`, whatever it asked for.
    pub fn refuse(self, e: ApiErr) {
        match self {
            Command::Submit { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Command::Register { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Command::Redemption { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Command::Operator { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Command::IssuePurse { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Command::Evidence { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Command::Cosign { reply, .. } => {
                let _ = reply.send(Err(e));
            }
        }
    }
}

/// The ledger's state as of the last commit, for cheap reads.
#[derive(Clone, Debug)]
pub struct LedgerStatus {
    /// Tip header.
    pub tip: BlockHeader,
    /// Tip hash.
    pub tip_hash: Hash32,
    /// Unspent notes.
    pub notes_outstanding: u64,
    /// Transactions committed.
    pub tx_count: u64,
    /// Whether the supply invariant held when the node started (every later block was validated).
    pub invariant_ok: bool,
    /// Set when the sequencer stopped on a storage failure.
    pub halted: bool,
}

/// State shared by the handlers and the sequencer.
pub struct Shared {
    /// The parameter history and the parameters in force at the next block
    /// ([`crate::governance`]).
    pub rules: RwLock<crate::governance::Rules>,
    /// The node's signing key (`node.key`: also the key of the ledger summary).
    pub node_key: SigningKey,
    /// Every node key the node holds, for blocks after a node-key rotation
    /// ([`crate::node_keys`]).
    pub node_keys: crate::node_keys::NodeKeys,
    /// Lifetime of a new issue or redeem proposal, ms (`dfc-bank serve --proposal-ttl`).
    pub proposal_ttl_ms: u64,
    /// The ledger as of the last commit.
    pub status: RwLock<LedgerStatus>,
    /// Closed while the background table check runs: no write begins on unchecked tables
    /// ([`crate::table_check::WriteGate`]).
    pub write_gate: crate::table_check::WriteGate,
    /// On a node of a shared ledger, its replica's passes over the log ([`crate::cluster`]).
    pub replica: crate::cluster::sync::ReplicaSync,
}

impl Shared {
    /// A copy of the current status.
    pub fn status(&self) -> LedgerStatus {
        match self.status.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
    /// A copy of the rules.
    pub fn rules(&self) -> crate::governance::Rules {
        match self.rules.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
    /// The parameters in force at the next block.
    pub fn params(&self) -> Arc<NetworkParams> {
        match self.rules.read() {
            Ok(r) => r.current(),
            Err(poisoned) => poisoned.into_inner().current(),
        }
    }
    /// The key that signs blocks (and their receipts) at `height`: the one the parameters in
    /// force there name. A change of node key is accepted only if the node holds the new key
    /// (`governance::apply`), so the fallback to `node.key` is never used on a consistent node.
    pub fn signer_at(&self, height: u64) -> SigningKey {
        let rules = self.rules();
        let public = rules.history().at(height).node_key;
        self.node_keys
            .for_public(&public)
            .unwrap_or(&self.node_key)
            .clone()
    }
    /// The key in force at the next block (purse certificates, offline checkpoints).
    pub fn current_signer(&self) -> SigningKey {
        self.signer_at(self.status().tip.height + 1)
    }
    fn update_rules(&self, f: impl FnOnce(&mut crate::governance::Rules)) {
        match self.rules.write() {
            Ok(mut r) => f(&mut r),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
    pub(crate) fn update(&self, f: impl FnOnce(&mut LedgerStatus)) {
        match self.status.write() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

/// The sequencer: owns the writer connection.
pub struct Sequencer {
    conn: Connection,
    shared: Arc<Shared>,
    /// Registry records and holdings as the last block left them (emptied before any other
    /// command; `mem_index`).
    index: crate::mem_index::MemIndex,
    /// On a node sharing a PostgreSQL ledger: what makes each write durable there first, or
    /// replays it from there ([`crate::cluster`]). `None` on a node of its own.
    cluster: Option<Box<dyn crate::cluster::ClusterHook>>,
    /// The time of the command being applied, when fixed by [`crate::cluster`] (a replica
    /// replays a command at the time the sealer applied it); the clock otherwise.
    clock: Option<u64>,
}

type Outcome<T> = Result<Result<T, ApiErr>, StoreError>;

struct Pending {
    tx: Transaction,
    txid: TxId,
    replies: Vec<Reply<Receipt>>,
    /// What it does to pending flags and holdings, once admitted.
    effects: Effects,
}

impl Sequencer {
    /// A sequencer writing through `conn`.
    pub fn new(conn: Connection, shared: Arc<Shared>) -> Self {
        Sequencer {
            conn,
            shared,
            index: crate::mem_index::MemIndex::new(),
            cluster: None,
            clock: None,
        }
    }

    /// The time of the command being applied (see `clock`).
    fn now(&self) -> u64 {
        self.clock.unwrap_or_else(now_ms)
    }

    /// A sequencer of a node sharing a PostgreSQL ledger ([`crate::cluster`]).
    pub(crate) fn with_cluster(mut self, hook: Box<dyn crate::cluster::ClusterHook>) -> Self {
        self.cluster = Some(hook);
        self
    }

    /// Fixes the time of the next commands (`None`: the clock).
    pub(crate) fn set_clock(&mut self, now: Option<u64>) {
        self.clock = now;
    }

    /// The writer connection, for reads between commands.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The state shared with the handlers.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Admits, seals and commits one block of transfers, answering each waiter (what the run
    /// loop does with a batch of submissions).
    pub(crate) fn commit_batch(
        &mut self,
        txs: Vec<(Transaction, Vec<Reply<Receipt>>)>,
    ) -> Result<(), StoreError> {
        let pending = txs
            .into_iter()
            .map(|(tx, replies)| Pending {
                txid: tx.id(),
                tx,
                replies,
                effects: Effects::default(),
            })
            .collect();
        self.commit_transfers(pending)
    }

    /// Applies one command other than a submission (what the run loop does with it).
    pub(crate) fn apply(&mut self, cmd: Command) -> Result<(), StoreError> {
        self.index.clear();
        self.other(cmd)
    }

    /// Before a write transaction's commit: on a shared ledger, its durable commit there.
    fn before_commit(&self, db: &Connection) -> Result<(), StoreError> {
        match &self.cluster {
            Some(hook) => hook.before_commit(db),
            None => Ok(()),
        }
    }

    /// Runs until the channel closes (clean stop) or storage fails (returned).
    pub fn run(mut self, mut rx: mpsc::Receiver<Command>) -> Result<(), StoreError> {
        let result = self.run_inner(&mut rx);
        if result.is_ok() {
            self.fold_log();
        }
        if let Err(e) = &result {
            tracing::error!(error = %e, "sequencer stopped on a storage failure");
            self.shared.update(|s| s.halted = true);
            rx.close();
            while let Ok(cmd) = rx.try_recv() {
                fail(
                    cmd,
                    ApiErr::unavailable("node_halted", "the node stopped on a storage failure"),
                );
            }
        }
        result
    }

    /// After a clean stop: folds SQLite's write-ahead log into the ledger file and empties it, so
    /// the next start reads no log. SQLite does this itself when the last connection closes, but
    /// not when the process ends with a reader still open; a reader still inside a read
    /// transaction makes this wait (the busy timeout) or leave part of the log, which the next
    /// start then folds.
    fn fold_log(&self) {
        let folded = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            });
        match folded {
            Ok((0, _, _)) => tracing::info!("write-ahead log folded into the ledger file"),
            Ok((_, frames, done)) => tracing::warn!(
                frames,
                done,
                "write-ahead log partly folded (a reader was still open): the next start folds the rest"
            ),
            Err(e) => tracing::warn!(error = %e, "write-ahead log not folded: the next start folds it"),
        }
    }

    fn run_inner(&mut self, rx: &mut mpsc::Receiver<Command>) -> Result<(), StoreError> {
        while let Some(first) = rx.blocking_recv() {
            let mut pending: Vec<Pending> = Vec::new();
            let mut next = Some(first);
            while let Some(cmd) = next.take() {
                match cmd {
                    Command::Submit { tx, reply } => {
                        let txid = tx.id();
                        pending.push(Pending {
                            tx,
                            txid,
                            replies: vec![reply],
                            effects: Effects::default(),
                        });
                    }
                    other => {
                        self.commit_transfers(std::mem::take(&mut pending))?;
                        // It may write the registry or holdings: the index starts again.
                        self.index.clear();
                        self.other(other)?;
                    }
                }
                if pending.len() < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            self.commit_transfers(pending)?;
        }
        Ok(())
    }

    fn begin(&self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        // Nothing is written on tables the background check has not yet checked.
        self.shared.write_gate.wait();
        // Set by the background table check when the stored tables do not match the signed
        // summary: nothing more is written on them.
        if self.shared.status().halted {
            return Err(StoreError::corrupt(
                "ledger_digest",
                "ledger integrity: the tables do not match the signed summary; writes refused",
            ));
        }
        inject_storage_faults(&self.conn);
        Ok(rusqlite::Transaction::new_unchecked(
            &self.conn,
            TransactionBehavior::Immediate,
        )?)
    }

    /// Seals the next block over `txs` on the current tip.
    /// The time of the next block (never before the tip's) and its turnover period.
    fn next_time(&self) -> (u64, u64) {
        let time_ms = self.now().max(self.shared.status().tip.time_ms);
        (time_ms, self.shared.params().turnover_period(time_ms))
    }

    fn seal(
        &self,
        txs: Vec<Transaction>,
        supply: Amount,
        audit: (u64, Hash32),
        time_ms: u64,
    ) -> Result<(Block, Vec<Signature>), StoreError> {
        let status = self.shared.status();
        let height = status.tip.height + 1;
        let header = BlockHeader {
            version: dfc_core::block::HEADER_VERSION,
            // The root over blocks 0..height, read in the block's own transaction.
            history_root: crate::history::root(&self.conn, height)?,
            network: self.shared.params().network_id,
            height: status.tip.height + 1,
            prev_hash: status.tip_hash,
            time_ms,
            tx_root: Hash32([0u8; 32]),
            tx_count: 0,
            supply,
            params_hash: self.shared.rules().current_hash(),
            audit_seq: audit.0,
            audit_head: audit.1,
        };
        if let Some(hook) = &self.cluster {
            if let Some(stored) = hook.stored_block(&header, &txs)? {
                return Ok(stored);
            }
        }
        let signer = self.shared.signer_at(header.height);
        let block = Block::seal(header, txs, &signer);
        let hash = block.header.hash();
        let sigs = block
            .txs
            .iter()
            .map(|tx| signer.sign(&Receipt::signing_hash(&tx.id(), block.header.height, &hash).0))
            .collect();
        Ok((block, sigs))
    }

    fn receipts(block: &Block, sigs: &[Signature]) -> Vec<Receipt> {
        let hash = block.header.hash();
        block
            .txs
            .iter()
            .zip(sigs)
            .map(|(tx, sig)| Receipt {
                txid: tx.id(),
                height: block.header.height,
                block_hash: hash,
                signature: *sig,
            })
            .collect()
    }

    /// After a durable commit: the new tip.
    fn advance(&self, block: &Block) {
        let created: u64 = block.txs.iter().map(|t| t.outputs.len() as u64).sum();
        let spent: u64 = block.txs.iter().map(|t| t.inputs.len() as u64).sum();
        let hash = block.header.hash();
        self.shared.update(|s| {
            s.tip = block.header.clone();
            s.tip_hash = hash;
            s.notes_outstanding = (s.notes_outstanding + created).saturating_sub(spent);
            s.tx_count += block.txs.len() as u64;
        });
        let next = block.header.height + 1;
        self.shared.update_rules(|r| r.advance_to(next));
    }

    fn commit_transfers(&mut self, pending: Vec<Pending>) -> Result<(), StoreError> {
        if pending.is_empty() {
            return Ok(());
        }
        let db = self.begin()?;
        let mem = &self.index;
        let view = mem.view(&db);
        let (time_ms, period) = self.next_time();
        let mut batch = BatchState::new(period);
        let mut admitted: Vec<Pending> = Vec::new();
        let mut index: HashMap<TxId, usize> = HashMap::new();
        for mut p in pending {
            if let Some(&i) = index.get(&p.txid) {
                // A concurrent duplicate: it shares the first copy's outcome.
                admitted[i].replies.extend(p.replies);
                continue;
            }
            if let Some(r) = db.receipt_of(&p.txid)? {
                answer(p.replies, Ok(r));
                continue;
            }
            let verdict = crate::controls::admit_transfer_with(&db, &p.tx, &|key| {
                mem.wallet_of_owner(&db, key)
            })?
            .and_then(|()| {
                batch
                    .admit(&p.tx, &self.shared.params(), &view)
                    .map_err(ApiErr::from)
            });
            view.finish()?;
            match verdict {
                Ok(effects) => {
                    p.effects = effects;
                    index.insert(p.txid, admitted.len());
                    admitted.push(p);
                }
                Err(e) => answer(p.replies, Err(e)),
            }
        }
        if admitted.is_empty() {
            return Ok(());
        }
        let supply = self.shared.status().tip.supply;
        let audit = db.audit_log_head()?;
        let (block, sigs) = self.seal(
            admitted.iter().map(|p| p.tx.clone()).collect(),
            supply,
            audit,
            time_ms,
        )?;
        fail::fail_point!("seq::block::before_insert", |_| Err(injected(
            "before_insert"
        )));
        let effects: Vec<Effects> = admitted
            .iter_mut()
            .map(|p| std::mem::take(&mut p.effects))
            .collect();
        let fx = store::BlockEffects {
            txs: &effects,
            holdings: batch.holdings(),
        };
        db.write_block(&block, &sigs, &fx)?;
        if let Some(hook) = &self.cluster {
            hook.block_written(&block, &sigs, &fx);
        }
        fail::fail_point!("seq::block::before_commit", |_| Err(injected(
            "before_commit"
        )));
        // The signed summary describes exactly what this transaction commits (see `summary`).
        crate::summary::seal(&db, &self.shared.node_key)?;
        self.before_commit(&db)?;
        db.commit()?;
        // The holdings as this block left them, now that it is durable.
        self.index.committed(batch.holdings());
        // Committed but nobody answered yet: a failure here must not lose the block.
        fail::fail_point!("seq::block::after_commit", |_| Err(injected(
            "after_commit"
        )));
        self.advance(&block);
        tracing::debug!(
            height = block.header.height,
            txs = block.txs.len(),
            "block committed"
        );
        for (p, r) in admitted.into_iter().zip(Self::receipts(&block, &sigs)) {
            answer(p.replies, Ok(r));
        }
        Ok(())
    }

    fn other(&mut self, cmd: Command) -> Result<(), StoreError> {
        match cmd {
            Command::Submit { tx, reply } => {
                let txid = tx.id();
                self.commit_transfers(vec![Pending {
                    tx,
                    txid,
                    replies: vec![reply],
                    effects: Effects::default(),
                }])
            }
            Command::Register { info, reply } => {
                let out = self.register(info)?;
                let _ = reply.send(out);
                Ok(())
            }
            Command::Redemption { tx, wallet, reply } => {
                let out = self.redemption(tx, wallet)?;
                let _ = reply.send(out);
                Ok(())
            }
            Command::Operator { req, reply } => {
                let out = self.operator(req)?;
                let _ = reply.send(out);
                Ok(())
            }
            Command::IssuePurse {
                wallet,
                purse,
                ttl_ms,
                reply,
            } => {
                let out = self.issue_purse(wallet, purse, ttl_ms)?;
                let _ = reply.send(out);
                Ok(())
            }
            Command::Cosign { sig, reply } => {
                let out = self.cosign(&sig)?;
                let _ = reply.send(out);
                Ok(())
            }
            Command::Evidence { record, reply } => {
                let out = self.evidence(&record)?;
                let _ = reply.send(out);
                Ok(())
            }
        }
    }

    fn issue_purse(
        &mut self,
        wallet: dfc_core::PublicKey,
        purse: dfc_core::PublicKey,
        ttl_ms: u64,
    ) -> Outcome<PurseCertificate> {
        let db = self.begin()?;
        let Some(w) = store::wallet(&db, &wallet)? else {
            return Ok(Err(ApiErr::forbidden(
                "unknown_wallet",
                format!(
                    "wallet {} is not registered",
                    hex::encode(wallet.to_bytes())
                ),
            )));
        };
        if w.frozen {
            return Ok(Err(ApiErr::forbidden(
                "frozen_wallet",
                format!(
                    "wallet {} is frozen and cannot fund a purse",
                    hex::encode(wallet.to_bytes())
                ),
            )));
        }
        let taken = store::wallet(&db, &purse)?.is_some()
            || store::purse_wallet(&db, &purse)?.is_some_and(|owner| owner != wallet);
        if taken {
            return Ok(Err(ApiErr::conflict(
                "purse_taken",
                format!(
                    "key {} is already another wallet's key or purse",
                    hex::encode(purse.to_bytes())
                ),
            )));
        }
        let rules_now = self.shared.params();
        let params = &*rules_now;
        let Some(tier) = params.tier(w.tier) else {
            return Ok(Err(ApiErr::internal(format!(
                "wallet has tier {} which the params lack",
                w.tier
            ))));
        };
        if tier.offline_cap == Amount::ZERO {
            return Ok(Err(ApiErr::forbidden(
                "offline_not_allowed",
                format!("tier {} has no offline allowance", w.tier),
            )));
        }
        let serial = store::next_purse_serial(&db)?;
        // The certificate names the newest checkpoint co-signed by k operators.
        let checkpoint =
            crate::cosign::store::latest_anchored(&db, &self.shared.rules().history())?;
        let issued_ms = self.now();
        let cert = PurseCertificate::issue(
            params.network_id,
            wallet,
            purse,
            tier.offline_cap,
            w.tier,
            issued_ms,
            issued_ms.saturating_add(ttl_ms),
            serial,
            checkpoint,
            &self.shared.current_signer(),
        );
        store::insert_purse(&db, &cert)?;
        let detail = serde_json::json!({
            "wallet": hex::encode(wallet.to_bytes()), "purse": hex::encode(purse.to_bytes()),
            "serial": serial, "cap_units": cert.cap.units(), "tier": cert.tier,
            "expires_ms": cert.expires_ms,
        })
        .to_string();
        store::append_audit(&db, issued_ms, None, "purse_issued", &detail)?;
        // The signed summary describes exactly what this transaction commits (see `summary`).
        crate::summary::seal(&db, &self.shared.node_key)?;
        self.before_commit(&db)?;
        db.commit()?;
        Ok(Ok(cert))
    }

    /// Stores an operator's checkpoint signature if the point is still a block of this chain,
    /// with an audit-log entry when it is new.
    fn cosign(
        &mut self,
        sig: &dfc_core::cosign::CheckpointSignature,
    ) -> Outcome<(dfc_core::cosign::CosignedCheckpoint, bool)> {
        let db = self.begin()?;
        let p = &sig.point;
        match store::header_at(&db, p.height)? {
            Some(h) if h.hash == p.block_hash => {}
            _ => {
                return Ok(Err(ApiErr::conflict(
                    "not_this_chain",
                    format!("block {} of this ledger is not {}", p.height, p.block_hash),
                )))
            }
        }
        let now = self.now();
        let new = crate::cosign::store::insert(&db, sig, now)?;
        if new {
            let detail = serde_json::json!({
                "height": p.height, "block_hash": p.block_hash, "operator": sig.signature.index,
            })
            .to_string();
            store::append_audit(
                &db,
                now,
                Some(sig.signature.index),
                "checkpoint_signed",
                &detail,
            )?;
        }
        let params = self.shared.params();
        let Some(cp) = crate::cosign::store::at(&db, &params, p.height, &p.block_hash)? else {
            return Err(StoreError::corrupt(
                "checkpoint_signatures",
                "stored signature not found",
            ));
        };
        // The signed summary describes exactly what this transaction commits (see `summary`).
        crate::summary::seal(&db, &self.shared.node_key)?;
        self.before_commit(&db)?;
        db.commit()?;
        Ok(Ok((cp, new)))
    }

    fn evidence(&mut self, record: &EvidenceRecord) -> Outcome<bool> {
        let db = self.begin()?;
        let new = store::insert_evidence(&db, record)?;
        if new {
            let detail = serde_json::json!({
                "evidence": record.id, "wallet": hex::encode(record.wallet.to_bytes()),
                "purse_serial": record.serial, "note": record.note,
                "committed": record.committed_txid, "conflicting": record.conflicting_txid,
            })
            .to_string();
            store::append_audit(&db, record.recorded_ms, None, "double_spend", &detail)?;
        }
        // The signed summary describes exactly what this transaction commits (see `summary`).
        crate::summary::seal(&db, &self.shared.node_key)?;
        self.before_commit(&db)?;
        db.commit()?;
        Ok(Ok(new))
    }

    fn register(&mut self, info: WalletInfo) -> Outcome<WalletInfo> {
        let db = self.begin()?;
        if let Some(existing) = store::wallet(&db, &info.address.spend)? {
            return Ok(Ok(existing));
        }
        if let Err(e) = crate::controls::check_registration(&db, &info.address.spend)? {
            return Ok(Err(e));
        }
        db.register_wallet(&info)?;
        let detail =
            serde_json::json!({ "address": info.address, "label": info.label }).to_string();
        store::append_audit(&db, info.registered_ms, None, "register", &detail)?;
        // The signed summary describes exactly what this transaction commits (see `summary`).
        crate::summary::seal(&db, &self.shared.node_key)?;
        self.before_commit(&db)?;
        db.commit()?;
        Ok(Ok(info))
    }
}

/// The storage error a `return` fail point injects: an SQLite I/O error, as a failing disk gives.
#[cfg(feature = "failpoints")]
fn injected(step: &str) -> StoreError {
    StoreError::Sqlite(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR),
        Some(format!("injected I/O error at {step}")),
    ))
}

/// Storage faults switched on by tests (feature `failpoints`), applied to the writer connection
/// before each write transaction: `store::disk_full` caps the file at its current size (SQLite
/// then fails writes that grow it with `SQLITE_FULL`, as a full disk does); `store::read_only`
/// makes the connection refuse writes (`SQLITE_READONLY`). Without the feature: nothing.
#[cfg_attr(not(feature = "failpoints"), allow(unused_variables))]
fn inject_storage_faults(conn: &Connection) {
    fail::fail_point!("store::disk_full", |_| {
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap_or(1);
        let _ = conn.pragma_update(None, "max_page_count", pages);
    });
    fail::fail_point!("store::read_only", |_| {
        let _ = conn.pragma_update(None, "query_only", "ON");
    });
}

fn unknown_wallet(key: &dfc_core::PublicKey) -> ApiErr {
    ApiErr::not_found(
        "unknown_wallet",
        format!("wallet {} is not registered", hex::encode(key.to_bytes())),
    )
}

/// Inputs unspent and outputs fresh, against the database (for proposals).
fn state_checks(db: &Connection, tx: &Transaction) -> Result<(), ApiErr> {
    let view = DbView::new(db);
    let r = dfc_core::validate::resolve_inputs(tx, &view)
        .and_then(|_| dfc_core::validate::check_outputs_fresh(tx, &view))
        .map_err(ApiErr::from);
    view.finish().map_err(ApiErr::from)?;
    r
}

fn answer(replies: Vec<Reply<Receipt>>, r: Result<Receipt, ApiErr>) {
    for reply in replies {
        let _ = reply.send(r.clone());
    }
}

fn fail(cmd: Command, e: ApiErr) {
    cmd.refuse(e);
}
