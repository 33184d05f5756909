//! The writer thread of a node on a shared PostgreSQL ledger: it takes the place of
//! `Sequencer::run`, owning the sequencer (and so the SQLite replica) and:
//! - queues the transfers the handlers verified (`handoff`), forwards other commands to the
//!   sealer (`cluster_requests`) or, when it seals, applies them itself;
//! - applies the replication log to its replica, answering its waiting submissions and commands
//!   as their blocks and entries arrive;
//! - tries for the sealer lease, and while it holds it seals the queue in blocks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use dfc_core::api::Receipt;
use dfc_core::{Transaction, TxId};
use postgres::{Client, NoTls};
use tokio::sync::{mpsc, oneshot};

use super::command::{self, ClusterCommand};
use super::hook::{self, Mode, PgHook};
use super::ClusterOptions;
use crate::datadir::now_ms;
use crate::error::{ApiErr, StoreError};
use crate::sequencer::{Command, Reply, Sequencer, MAX_BATCH};
use crate::store::pg::cluster::{self as log, LogKind};
use crate::store::pg::lease::SealerLease;
use crate::store::pg::{self, import, PgLedger};
use crate::store::LedgerRead;

/// Log entries read per query when catching up.
const LOG_CHUNK: usize = 256;
/// Forwarded commands the sealer applies per round.
const REQUESTS_PER_ROUND: usize = 64;
/// How often the sealer checks that it still holds the lease.
const LEASE_CHECK: Duration = Duration::from_secs(1);

/// The lease, held or being tried for.
enum Lease {
    /// Held since this node took it.
    Held(SealerLease, Instant),
    /// Not held; the connection it is tried on (once connected), and the next try.
    Waiting(Option<Client>, Instant),
}

struct Driver {
    seq: Sequencer,
    hook: PgHook,
    /// Queue, log and lease reads (the hook has its own connection for the block transaction).
    pg: PgLedger,
    opts: ClusterOptions,
    lease: Lease,
    /// Submissions waiting for their block, by transaction.
    waiters: HashMap<TxId, Vec<(Reply<Receipt>, Instant)>>,
    /// Commands forwarded to the sealer, by request id.
    requests: HashMap<i64, (Command, Instant)>,
}

/// Runs the node's writer on the shared ledger until the command channel closes (clean stop)
/// or storage fails (returned; the node then halts, as on a SQLite ledger).
pub fn run(
    seq: Sequencer,
    mut rx: mpsc::Receiver<Command>,
    opts: ClusterOptions,
) -> Result<(), StoreError> {
    let shared = seq.shared().clone();
    let result = Driver::start(seq, opts).and_then(|mut d| d.run(&mut rx));
    if let Err(e) = &result {
        tracing::error!(error = %e, "the node stopped on a storage failure");
        shared.update(|s| s.halted = true);
        rx.close();
        while let Ok(cmd) = rx.try_recv() {
            command::refuse(
                cmd,
                ApiErr::unavailable("node_halted", "the node stopped on a storage failure"),
            );
        }
    }
    result
}

impl Driver {
    fn start(seq: Sequencer, opts: ClusterOptions) -> Result<Self, StoreError> {
        let mut pg = PgLedger::connect(&opts.url)?;
        let applied = hook::replica_position(seq.conn())?;
        check_base(&mut pg, &seq, applied)?;
        let hook = PgHook::new(PgLedger::connect(&opts.url)?, opts.node.clone(), applied);
        let seq = seq.with_cluster(Box::new(hook.clone()));
        seq.shared().replica.enable();
        tracing::info!(node = %opts.node, position = applied, "joined the shared ledger");
        Ok(Driver {
            seq,
            hook,
            pg,
            lease: Lease::Waiting(None, Instant::now()),
            opts,
            waiters: HashMap::new(),
            requests: HashMap::new(),
        })
    }

    fn run(&mut self, rx: &mut mpsc::Receiver<Command>) -> Result<(), StoreError> {
        let poll = Duration::from_millis(self.opts.poll_ms.max(1));
        loop {
            let mut busy = false;
            let mut to_queue: Vec<Transaction> = Vec::new();
            let mut closed = false;
            loop {
                match rx.try_recv() {
                    Ok(cmd) => {
                        busy = true;
                        self.accept(cmd, &mut to_queue)?;
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
                if to_queue.len() >= MAX_BATCH {
                    break;
                }
            }
            // One transaction for every transfer received since the last pass.
            log::requeue_batch(&mut self.pg, &to_queue, &self.opts.node, now_ms())?;
            if closed {
                return Ok(());
            }
            busy |= self.follow()?;
            self.seq.shared().replica.passed();
            self.lease_tick()?;
            if matches!(self.lease, Lease::Held(..)) {
                busy |= self.seal_round()?;
            }
            self.answer_waiters()?;
            if !busy {
                std::thread::sleep(poll);
            }
        }
    }

    fn is_sealer(&self) -> bool {
        matches!(self.lease, Lease::Held(..))
    }

    /// A command from the handlers; transfers to queue are added to `to_queue`.
    fn accept(&mut self, cmd: Command, to_queue: &mut Vec<Transaction>) -> Result<(), StoreError> {
        let Some(content) = ClusterCommand::of(&cmd) else {
            let Command::Submit { tx, reply } = cmd else {
                return Ok(());
            };
            return self.queue_transfer(tx, reply, to_queue);
        };
        if self.is_sealer() {
            return self.apply_live(cmd, &content, None).map(|_| ());
        }
        let body = content.to_json().map_err(json_err)?;
        let id = log::enqueue_request(&self.pg, &self.opts.node, &body, now_ms())?;
        self.requests.insert(id, (cmd, Instant::now()));
        Ok(())
    }

    /// A verified transfer for the sealer: its receipt if committed, else queued (once).
    fn queue_transfer(
        &mut self,
        tx: Transaction,
        reply: Reply<Receipt>,
        to_queue: &mut Vec<Transaction>,
    ) -> Result<(), StoreError> {
        let txid = tx.id();
        if let Some(r) = self.seq.conn().receipt_of(&txid)? {
            let _ = reply.send(Ok(r));
            return Ok(());
        }
        if !self.waiters.contains_key(&txid) {
            to_queue.push(tx);
        }
        self.waiters
            .entry(txid)
            .or_default()
            .push((reply, Instant::now()));
        Ok(())
    }

    /// Applies a command as the sealer: committed in PostgreSQL, then in the replica. Returns
    /// whether it wrote (a refusal answers through the command's own reply).
    fn apply_live(
        &mut self,
        cmd: Command,
        content: &ClusterCommand,
        request: Option<i64>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let body = content.to_json().map_err(json_err)?;
        let registry = Box::new(content.registry_keys());
        self.hook.expect(
            Mode::SealCommand {
                body,
                request,
                registry,
            },
            now,
        );
        self.seq.set_clock(Some(now));
        let r = self.seq.apply(cmd);
        self.seq.set_clock(None);
        let wrote = self.hook.finish();
        // A command refused by PostgreSQL's keys (this node lost the lease without knowing) is
        // a storage failure like any other: the command's reply is gone, so the node stops
        // (fail-stop) rather than answer from a replica that may lag; restarted, it follows.
        r?;
        Ok(wrote)
    }

    /// A storage error from a sealing commit: PostgreSQL refusing the log position or the block
    /// height means another node sealed meanwhile (this one lost its lease without knowing):
    /// back to following. Anything else is returned.
    fn lost_race(&mut self, r: Result<(), StoreError>) -> Result<bool, StoreError> {
        match r {
            Ok(()) => Ok(false),
            Err(e) if pg::is_unique_violation(&e) => {
                tracing::warn!(
                    constraint = ?pg::violated_constraint(&e),
                    "PostgreSQL refused this node's commit: another node sealed; following again"
                );
                self.lease = Lease::Waiting(None, Instant::now());
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }

    /// Applies the log entries after the replica's position; whether there were any.
    fn follow(&mut self) -> Result<bool, StoreError> {
        let mut any = false;
        loop {
            let entries = log::log_after(&self.pg, self.hook.applied(), LOG_CHUNK)?;
            if entries.is_empty() {
                return Ok(any);
            }
            any = true;
            for e in entries {
                self.replay(e)?;
            }
        }
    }

    fn replay(&mut self, e: log::LogEntry) -> Result<(), StoreError> {
        self.hook.expect(Mode::Replay { pos: e.pos }, e.time_ms);
        self.seq.set_clock(Some(e.time_ms));
        let r = match e.kind {
            LogKind::Block(height) => {
                let block = self
                    .pg
                    .blocks_from(height, 1)?
                    .into_iter()
                    .next()
                    .filter(|b| b.header.height == height)
                    .ok_or_else(|| {
                        StoreError::corrupt("cluster_log", format!("block {height} missing"))
                    })?;
                // A block is replayed at its own time (its turnover period and time).
                self.seq.set_clock(Some(block.header.time_ms));
                let batch = block
                    .txs
                    .into_iter()
                    .map(|tx| {
                        let replies = self
                            .waiters
                            .remove(&tx.id())
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(r, _)| r)
                            .collect();
                        (tx, replies)
                    })
                    .collect();
                self.seq.commit_batch(batch)
            }
            LogKind::Command { body, request } => {
                let cmd = match request.and_then(|id| self.requests.remove(&id)) {
                    // This node's own forwarded command: the replay answers it.
                    Some((cmd, _)) => cmd,
                    None => {
                        ClusterCommand::from_json(&body)
                            .map_err(|e| StoreError::corrupt("cluster_log", e))?
                            .into_command()
                            .0
                    }
                };
                self.seq.apply(cmd)
            }
        };
        self.seq.set_clock(None);
        let wrote = self.hook.finish();
        r?;
        if !wrote {
            return Err(StoreError::corrupt(
                "cluster_log",
                format!(
                    "log position {}: the replica refused what the sealer committed (it diverged); it stops",
                    e.pos
                ),
            ));
        }
        Ok(())
    }

    /// Tries for the lease when due; checks it is still held when sealing.
    fn lease_tick(&mut self) -> Result<(), StoreError> {
        let now = Instant::now();
        match &mut self.lease {
            Lease::Held(lease, checked) => {
                if now.duration_since(*checked) >= LEASE_CHECK {
                    if lease.still_held() {
                        *checked = now;
                    } else {
                        tracing::warn!("the sealer lease was lost; following");
                        self.lease = Lease::Waiting(None, now);
                    }
                }
                Ok(())
            }
            Lease::Waiting(client, next) => {
                if now < *next {
                    return Ok(());
                }
                *next = now + Duration::from_millis(self.opts.lease_try_ms);
                let c = match client.take() {
                    Some(c) if !c.is_closed() => c,
                    _ => Client::connect(&self.opts.url, NoTls)?,
                };
                match SealerLease::try_on(c)? {
                    Ok(lease) => {
                        // Everything committed before the lease was taken, applied before sealing.
                        self.lease = Lease::Held(lease, now);
                        self.follow()?;
                        tracing::info!(
                            node = %self.opts.node,
                            position = self.hook.applied(),
                            "took the sealer lease"
                        );
                    }
                    Err(c) => {
                        if let Lease::Waiting(slot, _) = &mut self.lease {
                            *slot = Some(c);
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// One round of sealing: forwarded commands, then one block of queued transfers. Whether
    /// there was work.
    fn seal_round(&mut self) -> Result<bool, StoreError> {
        let mut busy = false;
        for (id, body) in log::waiting_requests(&self.pg, REQUESTS_PER_ROUND)? {
            busy = true;
            let content = match ClusterCommand::from_json(&body) {
                Ok(c) => c,
                Err(e) => {
                    let refusal = command::refusal_of(&ApiErr::bad_request(
                        "bad_request",
                        format!("forwarded command does not decode: {e}"),
                    ));
                    log::refuse_request(&self.pg, id, &refusal)?;
                    continue;
                }
            };
            let (cmd, probe) = content.clone().into_command();
            // A command of this node's own, forwarded before it took the lease.
            let own = self.requests.remove(&id);
            let (cmd, probe) = match own {
                Some((mine, _)) => {
                    drop(cmd);
                    (mine, None)
                }
                None => (cmd, Some(probe)),
            };
            if self.apply_live(cmd, &content, Some(id))? {
                continue;
            }
            if !self.is_sealer() {
                return Ok(true);
            }
            let refusal = match probe {
                // This node's own: its handler was answered; the row only leaves the waiting set.
                None => log::StoredRefusal {
                    status: 200,
                    code: "answered_directly".into(),
                    message: String::new(),
                },
                Some(p) => match p.outcome() {
                    Some(u) => command::store_unwritten(&u).map_err(json_err)?,
                    None => command::refusal_of(&ApiErr::internal("the command was not answered")),
                },
            };
            log::refuse_request(&self.pg, id, &refusal)?;
        }
        let queued = log::queued_batch(&self.pg, MAX_BATCH)?;
        if queued.is_empty() {
            return Ok(busy);
        }
        let mut probes: Vec<(TxId, oneshot::Receiver<Result<Receipt, ApiErr>>)> =
            Vec::with_capacity(queued.len());
        // The sequencer answers probes only: this node's own waiters stay in `waiters` until
        // the outcome is known, so a commit PostgreSQL refuses leaves them waiting, not dropped.
        let batch: Vec<(Transaction, Vec<Reply<Receipt>>)> = queued
            .into_iter()
            .map(|tx| {
                let (reply, rx) = oneshot::channel();
                probes.push((tx.id(), rx));
                (tx, vec![reply])
            })
            .collect();
        let height = self.seq.shared().status().tip.height + 1;
        self.hook.expect(Mode::SealBlock, now_ms());
        let r = self.seq.commit_batch(batch);
        self.hook.finish();
        if self.lost_race(r)? {
            return Ok(true);
        }
        let mut refused = Vec::new();
        let mut done = Vec::new();
        for (txid, mut rx) in probes {
            let outcome = match rx.try_recv() {
                Ok(o) => o,
                Err(_) => continue,
            };
            match &outcome {
                Ok(receipt) if receipt.height != height => done.push(txid),
                Ok(_) => {}
                Err(e) => refused.push((txid, command::refusal_of(e))),
            }
            for (reply, _) in self.waiters.remove(&txid).unwrap_or_default() {
                let _ = reply.send(outcome.clone());
            }
        }
        if !refused.is_empty() || !done.is_empty() {
            log::settle_refused(&mut self.pg, &refused, &done, now_ms())?;
        }
        Ok(true)
    }

    /// Answers waiting submissions refused by the sealer or committed (in the replica), and
    /// forwarded commands the sealer refused; the ones waiting too long are told so.
    fn answer_waiters(&mut self) -> Result<(), StoreError> {
        let wait = Duration::from_millis(self.opts.wait_ms);
        if !self.waiters.is_empty() {
            let ids: Vec<TxId> = self.waiters.keys().copied().collect();
            for (txid, r) in log::refusals(&self.pg, &ids)? {
                if let Some(ws) = self.waiters.remove(&txid) {
                    let e = command::api_err_of(&r);
                    for (reply, _) in ws {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
            let ids: Vec<TxId> = self.waiters.keys().copied().collect();
            for txid in ids {
                if let Some(r) = self.seq.conn().receipt_of(&txid)? {
                    for (reply, _) in self.waiters.remove(&txid).unwrap_or_default() {
                        let _ = reply.send(Ok(r.clone()));
                    }
                }
            }
            for ws in self.waiters.values_mut() {
                let (late, keep): (Vec<_>, Vec<_>) =
                    ws.drain(..).partition(|(_, at)| at.elapsed() >= wait);
                *ws = keep;
                for (reply, _) in late {
                    let _ = reply.send(Err(ApiErr::unavailable(
                        "not_yet_committed",
                        "the transaction is queued for the sealer but not yet in a block; \
                         resubmit the same transaction to learn its outcome",
                    )));
                }
            }
            self.waiters.retain(|_, ws| !ws.is_empty());
        }
        if !self.requests.is_empty() {
            let ids: Vec<i64> = self.requests.keys().copied().collect();
            for (id, r) in log::request_refusals(&self.pg, &ids)? {
                if let Some((cmd, _)) = self.requests.remove(&id) {
                    command::answer_unwritten(cmd, command::unwritten_of(&r));
                }
            }
            let late: Vec<i64> = self
                .requests
                .iter()
                .filter(|(_, (_, at))| at.elapsed() >= wait)
                .map(|(id, _)| *id)
                .collect();
            for id in late {
                if let Some((cmd, _)) = self.requests.remove(&id) {
                    command::refuse(
                        cmd,
                        ApiErr::unavailable(
                            "not_yet_applied",
                            "the request is queued for the sealer but not yet applied",
                        ),
                    );
                }
            }
        }
        Ok(())
    }
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::corrupt("cluster_requests", e)
}

/// Makes sure the replica and the shared ledger start from the same block: on an empty
/// database the replica's ledger is imported (replayed through admission) and becomes the base;
/// a replica that has applied nothing must stand at the base.
fn check_base(pg: &mut PgLedger, seq: &Sequencer, applied: u64) -> Result<(), StoreError> {
    let tip = seq
        .conn()
        .tip()?
        .ok_or_else(|| StoreError::corrupt("blocks", "the replica has no genesis block"))?;
    if pg.tip()?.is_none() {
        let params = seq.shared().params();
        match import::import_sqlite(seq.conn(), pg, &params) {
            Ok(done) => tracing::info!(blocks = done.blocks, "imported the ledger into PostgreSQL"),
            // Another node imported first: the base check below decides.
            Err(import::ImportError::NotEmpty(_)) => {}
            Err(import::ImportError::Store(e)) if pg::is_unique_violation(&e) => {}
            Err(e) => return Err(StoreError::corrupt("cluster_base", e)),
        }
    }
    let Some(pg_tip) = pg.tip()? else {
        return Err(StoreError::corrupt("blocks", "the shared ledger is empty"));
    };
    let base = match log::base(pg)? {
        Some(b) => b,
        None => log::set_base(pg, pg_tip.header.height, &pg_tip.hash)?,
    };
    let tail = log::log_tail(pg)?;
    if applied > tail {
        return Err(StoreError::corrupt(
            "cluster_position",
            format!(
                "this node's ledger applied log position {applied}, the shared ledger's log ends \
                 at {tail}: it is not a replica of this database"
            ),
        ));
    }
    if applied == 0 && (tip.header.height != base.0 || tip.hash != base.1) {
        return Err(StoreError::corrupt(
            "cluster_base",
            format!(
                "this node's ledger (block {} {}) is not the one the shared ledger starts from \
                 (block {} {}): start every node from a copy of the same data directory",
                tip.header.height, tip.hash, base.0, base.1
            ),
        ));
    }
    Ok(())
}
