//! The registry rule every path that moves value goes through, applied where it cannot be walked
//! around: in the sequencer, against the state it commits on, as well as early in the handlers.
//!
//! - **One identity per wallet.** A note's owner is a wallet's spend key or a purse key the node
//!   certified for a wallet; a purse key counts as its wallet for registration, tier, freeze and
//!   flags ([`crate::store::wallet_of_owner`] looks the purse up first), and it cannot register as
//!   a wallet of its own ([`check_registration`]), so freezing a wallet also freezes its purse.
//! - **Freezes and tiers are checked at every step that moves value**: when a transfer (or an
//!   offline settlement, which is one) is committed ([`admit_transfer`]), and when an issue or
//!   redeem proposal is proposed, approved and committed ([`check_proposal`]). A freeze that lands
//!   between a proposal and its approval, or between a handler's check and the block, still stops
//!   the value.

use axum::http::StatusCode;
use dfc_core::api::WalletInfo;
use dfc_core::offline::OfflineError;
use dfc_core::{Amount, InputNote, LedgerView, NetworkParams, PublicKey, Transaction, TxKind};
use rusqlite::Connection;

use crate::error::{ApiErr, StoreError};
use crate::store::{self, DbView};

/// A check that can refuse (inner error, the caller's fault) or fail on storage (outer error,
/// fatal for the sequencer).
pub type Checked<T = ()> = Result<Result<T, ApiErr>, StoreError>;

/// Refuses to register `key` as a wallet when it is a certified purse key: the purse belongs to
/// the wallet it was certified for and inherits its freeze and tier, and a second identity would
/// let a frozen wallet's purse spend as an unfrozen wallet.
pub fn check_registration(conn: &Connection, key: &PublicKey) -> Checked {
    Ok(match store::purse_wallet(conn, key)? {
        Some(owner) => Err(ApiErr::conflict(
            "purse_key",
            format!(
                "key {} is the offline purse of wallet {}: a purse belongs to its wallet and \
                 cannot register as a wallet of its own",
                hex::encode(key.to_bytes()),
                hex::encode(owner.to_bytes())
            ),
        )),
        None => Ok(()),
    })
}

/// The registered wallet behind a note owner (a spend key or a certified purse key).
pub fn owner(conn: &Connection, key: &PublicKey) -> Checked<WalletInfo> {
    Ok(registered(store::wallet_of_owner(conn, key)?, key))
}

/// The wallet found for `key`, or the refusal of an unregistered owner.
fn registered(found: Option<WalletInfo>, key: &PublicKey) -> Result<WalletInfo, ApiErr> {
    found.ok_or_else(|| {
        ApiErr::forbidden(
            "unknown_wallet",
            format!(
                "wallet {} is not registered with the node",
                hex::encode(key.to_bytes())
            ),
        )
    })
}

/// The refusal of frozen wallet `w` for `what` ("spend", "receive issuance"), through its key
/// `key`. The message names the registry's wallet (its address and label), which an operator
/// can look up and unfreeze, and the purse key only as the note owner when it is one (issue 19:
/// naming only the purse key pointed at no wallet in the registry).
pub fn frozen(w: &WalletInfo, key: &PublicKey, what: &str) -> ApiErr {
    let via = if *key == w.address.spend {
        String::new()
    } else {
        format!(
            " (through its offline purse key {})",
            hex::encode(key.to_bytes())
        )
    };
    let label = if w.label.is_empty() {
        String::new()
    } else {
        format!(" \"{}\"", w.label)
    };
    ApiErr::forbidden(
        "frozen_wallet",
        format!(
            "wallet {}{label} (spend key {}) is frozen and cannot {what}{via}",
            w.address,
            hex::encode(w.address.spend.to_bytes())
        ),
    )
}

/// The wallets spending `tx`'s inputs (those the ledger knows; an unknown input is refused by the
/// ledger checks), each registered and not frozen, with the resolved inputs.
fn spenders(conn: &Connection, tx: &Transaction) -> Checked<(Vec<WalletInfo>, Vec<InputNote>)> {
    spenders_with(conn, tx, &|key| store::wallet_of_owner(conn, key))
}

/// [`spenders`] with the registry read through `wallets` (the sequencer's in-memory index).
fn spenders_with(
    conn: &Connection,
    tx: &Transaction,
    wallets: &dyn Fn(&PublicKey) -> store::StoreResult<Option<WalletInfo>>,
) -> Checked<(Vec<WalletInfo>, Vec<InputNote>)> {
    let view = DbView::new(conn);
    let notes: Vec<_> = tx.inputs.iter().map(|id| (*id, view.note(id))).collect();
    view.finish()?;
    let mut wallets_found = Vec::with_capacity(notes.len());
    let mut inputs = Vec::with_capacity(notes.len());
    for (id, note) in notes {
        let Some(note) = note else { continue };
        let w = match registered(wallets(&note.owner)?, &note.owner) {
            Ok(w) => w,
            Err(e) => return Ok(Err(e)),
        };
        if w.frozen {
            return Ok(Err(frozen(&w, &note.owner, "spend")));
        }
        wallets_found.push(w);
        inputs.push(InputNote {
            id,
            commitment: note.commitment,
            owner: note.owner,
        });
    }
    Ok(Ok((wallets_found, inputs)))
}

/// The sequencer's registry check of a verified transfer (an ordinary payment or an offline
/// settlement) or claim against the state it is about to commit on: its spenders, or its
/// claimant, are registered and not frozen. (The stated tiers, the grouping into parties and a
/// claim's limits are checked right after by `BatchState::admit`, against the same state: a tier
/// lowered after the handler's check is caught there.)
pub fn admit_transfer(conn: &Connection, _params: &NetworkParams, tx: &Transaction) -> Checked {
    admit_transfer_with(conn, tx, &|key| store::wallet_of_owner(conn, key))
}

/// [`admit_transfer`] with the registry read through `wallets`: the sequencer passes its
/// in-memory index ([`crate::mem_index::MemIndex::wallet_of_owner`]), which answers as
/// [`store::wallet_of_owner`] does on the state it commits on.
pub fn admit_transfer_with(
    conn: &Connection,
    tx: &Transaction,
    wallets: &dyn Fn(&PublicKey) -> store::StoreResult<Option<WalletInfo>>,
) -> Checked {
    if let Some(claim) = &tx.claim {
        let w = match registered(wallets(&claim.claimant)?, &claim.claimant) {
            Ok(w) => w,
            Err(e) => return Ok(Err(e)),
        };
        if w.frozen {
            return Ok(Err(frozen(&w, &claim.claimant, "claim")));
        }
    }
    Ok(spenders_with(conn, tx, wallets)?.map(|_| ()))
}

/// The registry check of an issue or redeem proposal, run when it is proposed, at every
/// approval and when it commits: an issuance's recipients are registered and not frozen; a
/// redemption's spenders are registered and not frozen and the amount is within the lowest tier
/// limit among them. A proposal that was fine when proposed is refused once a freeze or a lower
/// tier makes it wrong, and nothing is recorded.
pub fn check_proposal(conn: &Connection, params: &NetworkParams, tx: &Transaction) -> Checked {
    match tx.kind {
        TxKind::Issue => {
            for o in &tx.outputs {
                let w = match owner(conn, &o.owner)? {
                    Ok(w) => w,
                    Err(e) => return Ok(Err(e)),
                };
                if w.frozen {
                    return Ok(Err(frozen(&w, &o.owner, "receive issuance")));
                }
            }
            Ok(Ok(()))
        }
        TxKind::Redeem => {
            let (wallets, _) = match spenders(conn, tx)? {
                Ok(x) => x,
                Err(e) => return Ok(Err(e)),
            };
            for w in &wallets {
                let Some(tier) = params.tier(w.tier) else {
                    return Ok(Err(ApiErr::forbidden(
                        "unknown_tier",
                        format!(
                            "wallet {} has tier {}, which the network does not define",
                            hex::encode(w.address.spend.to_bytes()),
                            w.tier
                        ),
                    )));
                };
                if tx.public_amount > tier.max_payment {
                    return Ok(Err(over_tier(
                        params,
                        tx.public_amount,
                        w.tier,
                        tier.max_payment,
                    )));
                }
            }
            Ok(Ok(()))
        }
        TxKind::Transfer | TxKind::Claim => Ok(Err(ApiErr::bad_request(
            "kind_not_allowed",
            "only issue and redeem transactions need approval",
        ))),
    }
}

fn over_tier(params: &NetworkParams, amount: Amount, tier: u8, limit: Amount) -> ApiErr {
    ApiErr::forbidden(
        "over_tier_limit",
        format!(
            "redeeming {} is over the tier {tier} limit of {}",
            params.format(amount),
            params.format(limit)
        ),
    )
}

/// The node's status and stable code for a packet refused at settlement: the same codes the
/// payee's wallet gives for the same faults.
pub fn settlement_refusal(e: OfflineError) -> ApiErr {
    use OfflineError as O;
    let code = match &e {
        O::Decode(_) => "malformed_packet",
        O::WrongNetwork { .. } => "wrong_network",
        O::BadCertificate => "bad_certificate",
        O::CertificateExpired { .. } | O::CheckpointAfterExpiry { .. } => "certificate_expired",
        O::BadCheckpoint => "bad_checkpoint",
        O::CheckpointTooOld { .. } => "checkpoint_too_old",
        O::ReplayedCounter { .. } => "replayed_counter",
        O::AlreadyAccepted => "already_accepted",
        O::BadCounterSignature => "bad_counter_signature",
        O::NotPurseNote { .. } => "not_purse_note",
        O::ProofCount { .. } => "proof_count",
        O::BadInclusionProof { .. } => "bad_inclusion_proof",
        O::NotForUs => "not_for_us",
        O::BadOpening(_) => "bad_opening",
        O::OverCap { .. } => "over_cap",
        O::OverPerPayer { .. } => "over_per_payer",
        O::OverUnsettled { .. } => "over_unsettled",
        O::NotATransfer => "kind_not_allowed",
        O::Invalid(tx) => return ApiErr::from(tx.clone()),
    };
    ApiErr::new(StatusCode::BAD_REQUEST, code, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfc_core::offline::PurseCertificate;
    use dfc_core::{SigningKey, WalletKeys};

    fn info(keys: &WalletKeys, frozen: bool) -> WalletInfo {
        WalletInfo {
            address: keys.address(1),
            label: String::new(),
            tier: 0,
            frozen,
            flags: 0,
            registered_ms: 1,
            registry_version: 0,
            freeze_reason: None,
        }
    }

    #[test]
    fn a_purse_key_answers_for_its_wallet_even_if_registered_on_its_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = store::open_writer(&dir.path().join("l.sqlite")).expect("open");
        let owner = WalletKeys::from_seed(b"owner");
        let purse = owner.purse_key(0);
        store::insert_wallet(&conn, &info(&owner, true)).expect("owner");
        let cert = PurseCertificate::issue(
            1,
            owner.spend.public(),
            purse.public(),
            Amount::from_units(2_000).expect("small"),
            0,
            1,
            2,
            1,
            None,
            &SigningKey::from_seed(&[9; 32]),
        );
        store::insert_purse(&conn, &cert).expect("purse");
        let refused = check_registration(&conn, &purse.public())
            .expect("storage")
            .expect_err("a purse key cannot register");
        assert_eq!(refused.code, "purse_key");
        assert!(check_registration(&conn, &owner.spend.public())
            .expect("storage")
            .is_ok());
        // A ledger written before the rule may hold the purse key as a wallet of its own: the
        // purse still answers for the (frozen) wallet it was certified for.
        let mut alias = info(&owner, false);
        alias.address.spend = purse.public();
        store::insert_wallet(&conn, &alias).expect("alias");
        let w = owner_or_panic(&conn, &purse.public());
        assert_eq!(w.address.spend, owner.spend.public());
        assert!(w.frozen);
    }

    /// The sequencer applies the rule on its own, against the state it commits on: work that
    /// passed (or skipped) the handlers' checks before a freeze is refused once it reaches the
    /// sequencer after it, and nothing is written.
    #[test]
    fn the_sequencer_refuses_what_a_freeze_stopped_after_the_handlers_checked_it() {
        use crate::ops::Operator;
        use crate::sequencer::Command;
        use dfc_core::api::{OperatorAction, OperatorResponse, Proposal, Receipt};
        use dfc_core::{build, Payment};

        let dir = tempfile::tempdir().expect("tempdir");
        let report = crate::datadir::init(dir.path(), &crate::datadir::InitOptions::default())
            .expect("init");
        let params = report.params.clone();
        let ops: Vec<Operator> = report
            .operator_keys
            .iter()
            .map(|k| {
                let key = crate::datadir::read_key(k).expect("operator key");
                Operator::find(&params, key).expect("an issuer key")
            })
            .collect();
        let started = crate::server::start(dir.path()).expect("starts");
        let s = started.state.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let operator = |req| rt.block_on(s.send(|reply| Command::Operator { req, reply }));
        let (alice, bob) = (
            WalletKeys::from_seed(b"alice"),
            WalletKeys::from_seed(b"bob"),
        );
        for w in [&alice, &bob] {
            let mut i = info(w, false);
            i.address.network = params.network_id;
            rt.block_on(s.send(|reply| Command::Register { info: i, reply }))
                .expect("registered");
        }
        let units = |u| Amount::from_units(u).expect("small");
        let (issued, req) = ops[0]
            .propose_issue(&params, &alice.address(params.network_id), units(10_000))
            .expect("builds");
        operator(req).expect("proposed");
        let r: OperatorResponse =
            operator(ops[1].approve(&params, &issued.id())).expect("approved");
        assert!(r.receipt.is_some(), "the issuance committed");
        let note = spend_inputs(&issued, &alice);
        let pay = build(
            &params,
            dfc_core::TxKind::Transfer,
            Amount::ZERO,
            &note,
            &[Payment {
                to: bob.address(params.network_id),
                amount: units(10_000),
                memo: Vec::new(),
            }],
            &mut rand_core::OsRng,
        )
        .expect("builds")
        .tx;
        let redeem = build(
            &params,
            dfc_core::TxKind::Redeem,
            units(1_000),
            &note,
            &[Payment {
                to: alice.address(params.network_id),
                amount: units(9_000),
                memo: Vec::new(),
            }],
            &mut rand_core::OsRng,
        )
        .expect("builds")
        .tx;
        let requested: Proposal = rt
            .block_on(s.send(|reply| Command::Redemption {
                tx: redeem.clone(),
                wallet: alice.spend.public(),
                reply,
            }))
            .expect("redemption requested before the freeze");
        let (to_alice, req) = ops[0]
            .propose_issue(&params, &alice.address(params.network_id), units(500))
            .expect("builds");
        operator(req).expect("issuance to alice proposed before the freeze");
        operator(ops[0].request(
            &params,
            OperatorAction::Freeze {
                wallet: alice.spend.public(),
                reason: "test".into(),
                registry_version: 0,
            },
        ))
        .expect("frozen");

        let before = committed(dir.path());
        let refused: Result<Receipt, _> =
            rt.block_on(s.send(|reply| Command::Submit { tx: pay, reply }));
        assert_eq!(refused.expect_err("frozen").code, "frozen_wallet");
        for txid in [requested.txid, to_alice.id()] {
            let e = operator(ops[1].approve(&params, &txid)).expect_err("frozen");
            assert_eq!(e.code, "frozen_wallet", "approving {txid}");
        }
        assert_eq!(before, committed(dir.path()), "nothing committed");
        let conn =
            store::open_reader(&dir.path().join(crate::datadir::LEDGER_FILE)).expect("reader");
        for txid in [requested.txid, to_alice.id()] {
            let p = store::proposal(&conn, &txid, params.threshold)
                .expect("reads")
                .expect("listed");
            assert!(
                !p.proposal.approvals.contains(&1),
                "the refused approval of {txid} is not recorded"
            );
        }
    }

    /// The spend inputs of the notes `tx` pays to `w`.
    fn spend_inputs(tx: &Transaction, w: &WalletKeys) -> Vec<dfc_core::SpendInput> {
        tx.outputs
            .iter()
            .zip(tx.output_ids())
            .filter(|(o, _)| o.owner == w.spend.public())
            .map(|(o, id)| dfc_core::SpendInput {
                id,
                opening: o.open(&w.view).expect("opens"),
                key: w.spend.clone(),
            })
            .collect()
    }

    /// Height, transactions and supply as committed.
    fn committed(dir: &std::path::Path) -> (u64, u64, Amount) {
        let conn = store::open_reader(&dir.join(crate::datadir::LEDGER_FILE)).expect("reader");
        let tip = store::tip(&conn).expect("reads").expect("genesis");
        let (_, txs) = store::counts(&conn).expect("counts");
        (tip.header.height, txs, tip.header.supply)
    }

    fn owner_or_panic(conn: &Connection, key: &PublicKey) -> WalletInfo {
        owner(conn, key)
            .expect("storage")
            .expect("registered through its purse")
    }
}
