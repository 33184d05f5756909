//! The console's background tasks: a poller (parameters, supply, proposals, registry, new blocks)
//! and one task per operator action or audit. They report through the message channel; the
//! screen never waits on them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dfc_central_bank::assess::{self, facts::AssessOptions};
use dfc_client::{now_ms, BankClient, DynSigner, Operator, SignerError};
use dfc_core::api::{OperatorAction, OperatorResponse};
use dfc_core::compliance::RegulatorKey;
use dfc_core::{Block, Hash32, IssuerSignature, NetworkParams};
use tokio::sync::{mpsc, Notify};

use super::{
    AuditProgress, AuditResult, BlockRow, Command, Disclosures, EvidenceRow, GovData, Msg, Poll,
    TxRow, MAX_BLOCKS,
};

/// Time between polls while connected.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Longest wait between attempts while the node does not answer.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A loaded operator signer (a key file, or a key in a PKCS#11 token) and where it came from.
pub struct KeyFile {
    /// The file or token URI, for messages.
    pub path: PathBuf,
    /// What signs: the key itself, or the token holding it.
    pub signer: Arc<DynSigner>,
}

/// An operator of this network signing through a loaded signer.
type ConsoleOperator = Operator<Arc<DynSigner>>;

struct Ctx {
    client: BankClient,
    params: NetworkParams,
    operators: HashMap<u8, ConsoleOperator>,
    data_dir: Option<PathBuf>,
    regulator: Option<RegulatorKey>,
    msgs: mpsc::UnboundedSender<Msg>,
    poke: Notify,
}

/// Starts the background tasks; returns the channel the console sends commands on.
/// `regulator` is the regulator's key, for the list of disclosed payments.
pub fn spawn(
    client: BankClient,
    keys: Vec<KeyFile>,
    data_dir: Option<PathBuf>,
    regulator: Option<RegulatorKey>,
    msgs: mpsc::UnboundedSender<Msg>,
) -> mpsc::UnboundedSender<Command> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(main_task(client, keys, data_dir, regulator, msgs, rx));
    tx
}

async fn main_task(
    client: BankClient,
    keys: Vec<KeyFile>,
    data_dir: Option<PathBuf>,
    regulator: Option<RegulatorKey>,
    msgs: mpsc::UnboundedSender<Msg>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut backoff = POLL_EVERY;
    let params = loop {
        match client.params().await {
            Ok(p) => break p,
            Err(e) => {
                if msgs.send(Msg::PollFailed(e.to_string())).is_err() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    };
    let mut operators = HashMap::new();
    let mut problems = Vec::new();
    for k in keys {
        match Operator::find(&params, k.signer) {
            Some(op) => {
                operators.insert(op.index, op);
            }
            None => problems.push(format!(
                "{} is not an operator key of this network",
                k.path.display()
            )),
        }
    }
    let mut indices: Vec<u8> = operators.keys().copied().collect();
    indices.sort_unstable();
    if msgs
        .send(Msg::Connected {
            params: Box::new(params.clone()),
            operators: indices,
            problems,
        })
        .is_err()
    {
        return;
    }
    // Listings, blocks and the audit log are served to operators and auditors only: the
    // console signs its reads with the lowest-numbered operator key it holds.
    let client = match operators.keys().min().and_then(|i| operators.get(i)) {
        Some(op) => client.with_read_signer(&params, op.key.clone()),
        None => client,
    };
    let ctx = Arc::new(Ctx {
        client,
        params,
        operators,
        data_dir,
        regulator,
        msgs,
        poke: Notify::new(),
    });
    tokio::spawn(poller(ctx.clone()));
    while let Some(cmd) = commands.recv().await {
        tokio::spawn(handle(ctx.clone(), cmd));
    }
}

async fn poller(ctx: Arc<Ctx>) {
    let mut next_height: Option<u64> = None;
    let mut backoff = POLL_EVERY;
    loop {
        let wait = match poll(&ctx, &mut next_height).await {
            Ok(p) => {
                backoff = POLL_EVERY;
                if ctx.msgs.send(Msg::Polled(Box::new(p))).is_err() {
                    return;
                }
                POLL_EVERY
            }
            Err(e) => {
                if ctx.msgs.send(Msg::PollFailed(e)).is_err() {
                    return;
                }
                let w = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                w
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = ctx.poke.notified() => {}
        }
    }
}

async fn poll(ctx: &Ctx, next_height: &mut Option<u64>) -> Result<Poll, String> {
    let c = &ctx.client;
    let (supply, proposals, wallets, evidence) = tokio::try_join!(
        c.supply(),
        c.proposals(),
        c.wallets(),
        c.evidence(None, None)
    )
    .map_err(|e| e.to_string())?;
    let keep = MAX_BLOCKS as u64;
    let mut from = next_height
        .unwrap_or(0)
        .max(supply.height.saturating_sub(keep - 1));
    let mut new_blocks = Vec::new();
    // Catches up page by page, at most `MAX_BLOCKS` blocks per poll.
    while from <= supply.height && new_blocks.len() < MAX_BLOCKS {
        let page = c.blocks(from, 500).await.map_err(|e| e.to_string())?;
        if page.blocks.is_empty() {
            break;
        }
        for b in &page.blocks {
            from = b.header.height + 1;
            new_blocks.push(block_row(b));
        }
    }
    *next_height = Some(from);
    Ok(Poll {
        supply,
        proposals,
        wallets,
        evidence: evidence.iter().map(evidence_row).collect(),
        new_blocks,
        time_ms: now_ms(),
    })
}

/// The Wallets tab's view of a piece of evidence.
pub fn evidence_row(e: &dfc_core::offline_api::EvidenceRecord) -> EvidenceRow {
    EvidenceRow {
        id: e.id,
        wallet: e.wallet,
        serial: e.serial,
        note: e.note,
        committed: e.committed_txid,
        conflicting: e.conflicting_txid,
        recorded_ms: e.recorded_ms,
    }
}

/// `dfc-bank regulator`: every disclosed payment, decrypted with the regulator's key, after
/// checking the key is this network's.
async fn read_disclosed(ctx: &Ctx) -> Result<Disclosures, String> {
    let Some(key) = &ctx.regulator else {
        return Err("no regulator key is loaded".into());
    };
    let Some(rules) = &ctx.params.compliance else {
        return Err("this network has no compliance rules".into());
    };
    if rules.regulator_key != key.public() {
        return Err("the loaded key is not this network's regulator key".into());
    }
    let height = ctx.client.supply().await.map_err(|e| e.to_string())?.height;
    let payments = dfc_central_bank::regulator::fetch_disclosed(&ctx.client, key)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Disclosures {
        payments,
        height,
        time_ms: now_ms(),
    })
}

/// The explorer's view of a block: public facts only.
pub fn block_row(b: &Block) -> BlockRow {
    BlockRow {
        height: b.header.height,
        time_ms: b.header.time_ms,
        hash: b.header.hash().to_hex(),
        supply: b.header.supply,
        txs: b
            .txs
            .iter()
            .map(|tx| TxRow {
                txid: tx.id(),
                kind: tx.kind,
                size: tx.encode().len(),
                amount: tx.kind.is_public().then_some(tx.public_amount),
                inputs: tx.inputs.len(),
                outputs: tx.outputs.len(),
            })
            .collect(),
    }
}

async fn handle(ctx: Arc<Ctx>, cmd: Command) {
    let msg = match cmd {
        Command::Audit(p) => Msg::Audited(Box::new(run_audit(&ctx, p).await)),
        Command::Disclosed => Msg::Disclosed(Box::new(read_disclosed(&ctx).await)),
        Command::Governance => Msg::Governance(Box::new(read_governance(&ctx).await)),
        Command::ApproveChange { operator, digest } => {
            Msg::Done(approve_change(&ctx, operator, digest).await)
        }
        other => Msg::Done(operate(&ctx, other).await),
    };
    let _ = ctx.msgs.send(msg);
    ctx.poke.notify_one();
}

fn describe(r: &OperatorResponse) -> String {
    match &r.receipt {
        Some(rc) if !r.message.contains("height") => {
            format!("{} (committed at height {})", r.message, rc.height)
        }
        _ => r.message.clone(),
    }
}

async fn operate(ctx: &Ctx, cmd: Command) -> Result<String, String> {
    let op_of = |i: u8| {
        ctx.operators
            .get(&i)
            .cloned()
            .ok_or_else(|| format!("no key for operator {i}"))
    };
    let params = &ctx.params;
    let req = match cmd {
        Command::Propose {
            operator,
            to,
            amount,
        } => {
            let op = op_of(operator)?;
            let p = params.clone();
            // Building the range proof is CPU work: off the async threads.
            let (_, req) =
                tokio::task::spawn_blocking(move || op.try_propose_issue(&p, &to, amount))
                    .await
                    .map_err(|e| format!("building the issuance failed: {e}"))?
                    .map_err(|e| format!("cannot build the issuance: {e}"))?;
            req
        }
        Command::Approve {
            operator,
            txid,
            kind,
        } => {
            let op = op_of(operator)?;
            let detail = ctx
                .client
                .proposal(&txid)
                .await
                .map_err(|e| e.to_string())?;
            if detail.proposal.kind != kind {
                return Err(format!(
                    "{txid} is a {} proposal, not {}",
                    detail.proposal.kind.name(),
                    kind.name()
                ));
            }
            if detail.tx.id() != txid {
                return Err(format!(
                    "the node returned a transaction whose id is not {txid}"
                ));
            }
            op.try_approve(params, &txid).map_err(signing_failed)?
        }
        Command::Freeze {
            operator,
            wallet,
            reason,
            registry_version,
        } => op_of(operator)?
            .try_request(
                params,
                OperatorAction::Freeze {
                    wallet,
                    reason,
                    registry_version,
                },
            )
            .map_err(signing_failed)?,
        Command::Unfreeze {
            operator,
            wallet,
            reason,
            registry_version,
        } => op_of(operator)?
            .try_request(
                params,
                OperatorAction::Unfreeze {
                    wallet,
                    reason,
                    registry_version,
                },
            )
            .map_err(signing_failed)?,
        Command::SetTier {
            operator,
            wallet,
            tier,
            registry_version,
        } => op_of(operator)?
            .try_request(
                params,
                OperatorAction::SetTier {
                    wallet,
                    tier,
                    registry_version,
                },
            )
            .map_err(signing_failed)?,
        Command::Audit(_)
        | Command::Disclosed
        | Command::Governance
        | Command::ApproveChange { .. } => {
            return Err("not an operator action".into());
        }
    };
    let r = ctx.client.operator(&req).await.map_err(|e| e.to_string())?;
    tracing::info!(operator = req.operator, message = %r.message, "operator action");
    Ok(describe(&r))
}

/// What the console shows when the signer (a token: wrong PIN, removed, locked) refuses to sign:
/// its stable code and message; nothing was sent.
fn signing_failed(e: SignerError) -> String {
    format!("signing failed, nothing sent: {} ({})", e, e.code())
}

async fn read_governance(ctx: &Ctx) -> Result<GovData, String> {
    let history = ctx
        .client
        .params_history()
        .await
        .map_err(|e| e.to_string())?;
    let changes = ctx
        .client
        .param_changes()
        .await
        .map_err(|e| e.to_string())?;
    Ok(GovData { changes, history })
}

/// Approves parameter change `digest` as `operator`, as `dfc-bank governance approve` does: what
/// is signed is the digest recomputed from the change the node lists, never the node's word.
async fn approve_change(ctx: &Ctx, operator: u8, digest: Hash32) -> Result<String, String> {
    let op = ctx
        .operators
        .get(&operator)
        .ok_or_else(|| format!("no key for operator {operator}"))?;
    let g = read_governance(ctx).await?;
    let latest = g.history.latest();
    let p = g
        .changes
        .iter()
        .find(|p| p.digest == digest)
        .ok_or_else(|| format!("the node lists no parameter change {digest}"))?;
    if p.change.digest() != digest {
        return Err(format!(
            "the node returned a change whose digest is not {digest}"
        ));
    }
    let approval = IssuerSignature {
        index: op.index,
        signature: op.sign(&digest.0).map_err(signing_failed)?,
    };
    let req = op
        .try_request(latest, OperatorAction::ApproveChange { digest, approval })
        .map_err(signing_failed)?;
    let r = ctx.client.operator(&req).await.map_err(|e| e.to_string())?;
    tracing::info!(operator, message = %r.message, "parameter change approval");
    Ok(describe(&r))
}

async fn run_audit(ctx: &Ctx, progress: Arc<AuditProgress>) -> Result<AuditResult, String> {
    let summary = ctx.client.supply().await.map_err(|e| e.to_string())?;
    let log = assess::facts::verify_log(&ctx.client).await.map(|(n, _)| n);
    let url = ctx.client.base_url().to_string();
    let (replay, scorecard) = match &ctx.data_dir {
        // The sandbox's ledger is on this machine: the full audit and the assessment run
        // in-process, reporting progress and stopping when cancelled.
        Some(dir) => {
            let dir = dir.clone();
            let facts = tokio::task::spawn_blocking(move || {
                let opts = AssessOptions {
                    progress: Some(&*progress),
                    ..AssessOptions::default()
                };
                assess::Facts::from_data_dir(&dir, Some(url), &opts)
            })
            .await
            .map_err(|e| format!("the audit failed: {e}"))?;
            let facts = match facts {
                Err(e @ assess::facts::AssessError::Cancelled(_)) => return Err(e.to_string()),
                other => other,
            };
            match facts {
                Ok(f) => {
                    let replay = match &f.audit {
                        assess::AuditEvidence::Full(r) => Some(r.clone()),
                        assess::AuditEvidence::Api { .. } => None,
                    };
                    (replay, Some(Ok(assess::assess(&f))))
                }
                Err(e) => (None, Some(Err(e.to_string()))),
            }
        }
        // A remote node: what its API shows.
        None => {
            let card = assess::Facts::from_node(&ctx.client, &AssessOptions::default())
                .await
                .map(|f| assess::assess(&f))
                .map_err(|e| e.to_string());
            (None, Some(card))
        }
    };
    Ok(AuditResult {
        time_ms: now_ms(),
        summary,
        log,
        replay,
        scorecard,
    })
}
