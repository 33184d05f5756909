//! Validation of transactions, cheapest checks first.
//!
//! 1. [`check_structure`]: network, kind rules, counts, sizes, duplicates, signature counts and
//!    issuer indices. No curve arithmetic.
//! 2. [`resolve_inputs`] and [`check_outputs_fresh`]: against a [`LedgerView`] (inputs exist and are
//!    unspent, output commitments are new). Lookups only.
//! 3. [`verify_crypto`]: issuer signatures, owner signatures, the balance proof, then the range
//!    proof, the most expensive, last.
//!
//! [`validate`] runs all three in that order. A node that verifies in parallel runs step 3 off its
//! sequencer and re-runs the state checks through a [`BatchState`] when it commits.

use std::collections::{HashMap, HashSet};

use curve25519_dalek::ristretto::RistrettoPoint;

use crate::amount::Amount;
use crate::error::TxError;
use crate::holdings::{effects, Effects, Holding};
use crate::keys::PublicKey;
use crate::note::{Commitment, NoteId};
use crate::params::NetworkParams;
use crate::range;
use crate::tx::{Transaction, TxKind};

/// A note as the ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerNote {
    /// Its commitment.
    pub commitment: Commitment,
    /// Its owner.
    pub owner: PublicKey,
    /// Whether it has been spent.
    pub spent: bool,
    /// Whether it is pending: received but not yet claimed by its owner (not spendable by a
    /// transfer).
    pub pending: bool,
}

/// The account a key belongs to, as the registry has it: a wallet's spend key is its own account,
/// a purse key belongs to its wallet's account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The account's key (the wallet's spend key).
    pub key: PublicKey,
    /// Its tier.
    pub tier: u8,
}

/// Read access to the ledger's notes, registry and holdings, implemented by the node's store, the
/// simulator and tests.
pub trait LedgerView {
    /// The note with id `id`, spent or not.
    fn note(&self, id: &NoteId) -> Option<LedgerNote>;
    /// Whether any note (spent or not) has this commitment.
    fn commitment_exists(&self, commitment: &Commitment) -> bool;
    /// The account `key` belongs to, if it is registered.
    fn account(&self, key: &PublicKey) -> Option<Account>;
    /// The holding of account `account` (the identity points if it holds nothing).
    fn holding(&self, account: &PublicKey) -> Holding;
}

/// What the state checks resolved: the inputs (for a claim, the claimed notes), whether each was
/// pending, and the accounts of inputs and outputs.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The inputs in input order (for a claim, the claimed notes).
    pub inputs: Vec<InputNote>,
    /// Whether each input was pending.
    pub input_pending: Vec<bool>,
    /// The account of each input.
    pub input_accounts: Vec<Account>,
    /// The account of each output.
    pub output_accounts: Vec<Account>,
}

/// An input resolved against the ledger: what verification needs of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputNote {
    /// Note id.
    pub id: NoteId,
    /// Its commitment.
    pub commitment: Commitment,
    /// Its owner.
    pub owner: PublicKey,
}

/// Stateless structural checks: everything that needs neither the ledger nor curve arithmetic.
pub fn check_structure(tx: &Transaction, params: &NetworkParams) -> Result<(), TxError> {
    if tx.network != params.network_id {
        return Err(TxError::WrongNetwork {
            expected: params.network_id,
            got: tx.network,
        });
    }
    if tx.genesis != params.genesis_hash {
        return Err(TxError::WrongGenesis {
            expected: params.genesis_hash.to_hex(),
            got: tx.genesis.to_hex(),
        });
    }
    let size = tx.encode().len();
    if size > params.limits.max_tx_bytes {
        return Err(TxError::TooLarge {
            size,
            limit: params.limits.max_tx_bytes,
        });
    }
    if tx.inputs.len() > params.limits.max_inputs {
        return Err(TxError::TooManyInputs {
            count: tx.inputs.len(),
            limit: params.limits.max_inputs,
        });
    }
    if tx.outputs.len() > params.limits.max_outputs {
        return Err(TxError::TooManyOutputs {
            count: tx.outputs.len(),
            limit: params.limits.max_outputs,
        });
    }
    if tx.kind == TxKind::Claim {
        return check_claim_structure(tx);
    }
    if tx.outputs.is_empty() {
        return Err(TxError::NoOutputs);
    }
    match tx.kind {
        TxKind::Issue if !tx.inputs.is_empty() => return Err(TxError::InputsNotAllowed),
        TxKind::Transfer | TxKind::Redeem if tx.inputs.is_empty() => {
            return Err(TxError::NoInputs {
                kind: tx.kind.name(),
            })
        }
        _ => {}
    }
    if tx.kind.is_public() {
        if tx.public_amount == Amount::ZERO {
            return Err(TxError::ZeroPublicAmount);
        }
    } else if tx.public_amount != Amount::ZERO {
        return Err(TxError::Decode(crate::error::DecodeError::Invalid {
            field: "public amount",
            reason: "transfers carry no public amount".into(),
        }));
    }
    let mut seen = HashSet::with_capacity(tx.inputs.len());
    for (index, input) in tx.inputs.iter().enumerate() {
        if !seen.insert(*input) {
            return Err(TxError::DuplicateInput { index });
        }
    }
    let mut seen = HashSet::with_capacity(tx.outputs.len());
    for (index, o) in tx.outputs.iter().enumerate() {
        if !seen.insert(o.commitment.to_bytes()) {
            return Err(TxError::DuplicateOutputCommitment { index });
        }
    }
    match (tx.kind, &tx.compliance) {
        (TxKind::Transfer, None) => return Err(TxError::ComplianceMissing),
        (TxKind::Transfer, Some(section)) => {
            if !section.disclosures.is_empty() && params.compliance.is_none() {
                return Err(TxError::ComplianceNotAllowed);
            }
            crate::compliance::bounds(section, params)?;
        }
        (_, Some(_)) => return Err(TxError::ComplianceNotAllowed),
        _ => {}
    }
    // Decoding already checked every point and scalar of the proof (and kept the points for the
    // batch verifier, `range::RangeProofBytes`); here only its length, so a decoded transaction
    // never pays for decompressing them twice. A transfer's proof covers its bounds too.
    let values = tx.outputs.len() + tx.compliance.as_ref().map_or(0, |c| c.bound_count());
    let expected = range::proof_len(values);
    if tx.range_proof.len() != expected {
        return Err(TxError::Decode(crate::error::DecodeError::BadLength {
            field: "range proof",
            len: tx.range_proof.len(),
            expected: expected.to_string(),
        }));
    }
    if tx.claim.is_some() {
        return Err(TxError::Decode(crate::error::DecodeError::Invalid {
            field: "claim",
            reason: "only a claim transaction carries a claim section".into(),
        }));
    }
    if tx.owner_signatures.len() != tx.inputs.len() {
        return Err(TxError::OwnerSignatureCount {
            have: tx.owner_signatures.len(),
            need: tx.inputs.len(),
        });
    }
    if tx.kind.is_public() {
        for (position, s) in tx.issuer_signatures.iter().enumerate() {
            let index = usize::from(s.index);
            if index >= params.issuers.len() {
                return Err(TxError::UnknownIssuer {
                    index,
                    count: params.issuers.len(),
                });
            }
            if position > 0 && tx.issuer_signatures[position - 1].index >= s.index {
                return Err(TxError::IssuerSignaturesUnordered { position });
            }
        }
        if tx.issuer_signatures.len() < params.threshold {
            return Err(TxError::NotEnoughIssuerSignatures {
                have: tx.issuer_signatures.len(),
                need: params.threshold,
            });
        }
    } else if !tx.issuer_signatures.is_empty() {
        return Err(TxError::IssuerSignaturesNotAllowed);
    }
    Ok(())
}

/// The structural checks of a claim: no inputs, outputs, public amount, range proof, flow section
/// or issuer signature; one signature (the claimant's); at least one claimed note, none twice.
fn check_claim_structure(tx: &Transaction) -> Result<(), TxError> {
    let invalid = |field: &'static str, reason: &str| {
        Err(TxError::Decode(crate::error::DecodeError::Invalid {
            field,
            reason: reason.into(),
        }))
    };
    let Some(claim) = &tx.claim else {
        return invalid("claim", "a claim transaction must carry its claim section");
    };
    if !tx.inputs.is_empty() || !tx.outputs.is_empty() || !tx.range_proof.is_empty() {
        return invalid("claim", "a claim spends and creates no notes");
    }
    if tx.public_amount != Amount::ZERO || tx.compliance.is_some() {
        return invalid(
            "claim",
            "a claim moves no public amount and has no flow section",
        );
    }
    if !tx.issuer_signatures.is_empty() {
        return Err(TxError::IssuerSignaturesNotAllowed);
    }
    if tx.owner_signatures.len() != 1 {
        return Err(TxError::OwnerSignatureCount {
            have: tx.owner_signatures.len(),
            need: 1,
        });
    }
    if claim.notes.is_empty() {
        return Err(TxError::NoInputs { kind: "claim" });
    }
    let mut seen = HashSet::with_capacity(claim.notes.len());
    for (index, id) in claim.notes.iter().enumerate() {
        if !seen.insert(*id) {
            return Err(TxError::DuplicateInput { index });
        }
    }
    Ok(())
}

/// Looks up every input: it must exist and be unspent, and a transfer's inputs must be settled
/// (not pending). For a claim, looks up the claimed notes: each must exist, be unspent, pending and
/// belong to the claimant's account.
pub fn resolve_inputs(tx: &Transaction, view: &impl LedgerView) -> Result<Vec<InputNote>, TxError> {
    Ok(resolve_with_pending(tx, view)?
        .into_iter()
        .map(|(n, _)| n)
        .collect())
}

fn resolve_with_pending(
    tx: &Transaction,
    view: &impl LedgerView,
) -> Result<Vec<(InputNote, bool)>, TxError> {
    if let Some(claim) = tx.claim.as_ref().filter(|_| tx.kind == TxKind::Claim) {
        return claim
            .notes
            .iter()
            .enumerate()
            .map(|(index, id)| {
                let note = id.to_hex();
                match view.note(id) {
                    None => Err(TxError::UnknownInput { index, note }),
                    Some(n) if n.spent => Err(TxError::InputSpent { index, note }),
                    Some(n) if !n.pending => Err(TxError::NoteNotPending { index, note }),
                    Some(n) => {
                        let account = view.account(&n.owner).map(|a| a.key);
                        if account != Some(claim.claimant) {
                            return Err(TxError::ClaimNotOwner { index, note });
                        }
                        Ok((
                            InputNote {
                                id: *id,
                                commitment: n.commitment,
                                owner: n.owner,
                            },
                            true,
                        ))
                    }
                }
            })
            .collect();
    }
    tx.inputs
        .iter()
        .enumerate()
        .map(|(index, id)| match view.note(id) {
            None => Err(TxError::UnknownInput {
                index,
                note: id.to_hex(),
            }),
            Some(n) if n.spent => Err(TxError::InputSpent {
                index,
                note: id.to_hex(),
            }),
            Some(n) if n.pending && tx.kind == TxKind::Transfer => Err(TxError::InputPending {
                index,
                note: id.to_hex(),
            }),
            Some(n) => Ok((
                InputNote {
                    id: *id,
                    commitment: n.commitment,
                    owner: n.owner,
                },
                n.pending,
            )),
        })
        .collect()
}

fn account_of(view: &impl LedgerView, key: &PublicKey) -> Result<Account, TxError> {
    view.account(key).ok_or_else(|| TxError::UnregisteredParty {
        key: hex::encode(key.to_bytes()),
    })
}

/// All state checks of `tx` against `view` in turnover period `period`, lookups only: inputs (or
/// claimed notes), fresh outputs, the accounts of every party, and the rules that depend on them:
/// a transfer's grouping and tiers ([`crate::compliance::check_parties`]), a redemption's change
/// back to the redeemer, a claim's claimant, tier, period, balance and inflow.
pub fn check_state(
    tx: &Transaction,
    params: &NetworkParams,
    view: &impl LedgerView,
    period: u64,
) -> Result<Resolved, TxError> {
    let resolved = resolve(tx, view)?;
    check_outputs_fresh(tx, view)?;
    let Resolved {
        input_accounts,
        output_accounts,
        ..
    } = &resolved;
    match tx.kind {
        TxKind::Issue => {}
        TxKind::Transfer => {
            let section = tx.compliance.as_ref().ok_or(TxError::ComplianceMissing)?;
            crate::compliance::check_parties(params, section, input_accounts, output_accounts)?;
        }
        TxKind::Redeem => {
            let redeemer = input_accounts
                .first()
                .ok_or(TxError::NoInputs { kind: "redeem" })?;
            for (index, a) in input_accounts.iter().enumerate() {
                if a.key != redeemer.key {
                    return Err(TxError::MultiplePayers { index });
                }
            }
            for (output, a) in output_accounts.iter().enumerate() {
                if a.key != redeemer.key {
                    return Err(TxError::RedeemToOther { output });
                }
            }
        }
        TxKind::Claim => {
            let claim = tx
                .claim
                .as_ref()
                .ok_or(TxError::NoInputs { kind: "claim" })?;
            match view.account(&claim.claimant) {
                Some(a) if a.key == claim.claimant => {
                    // Holding and turnover limits are per tier: the claim is proven against the
                    // registered tier's, exactly.
                    if a.tier != claim.tier {
                        return Err(TxError::WrongTier {
                            party: "claimant".into(),
                            stated: claim.tier,
                            registered: a.tier,
                        });
                    }
                }
                _ => return Err(TxError::ClaimantNotAccount),
            }
            check_claim_holding(tx, view, period)?;
        }
    }
    Ok(resolved)
}

/// A claim's stated period, balance and inflow must be the ledger's: the period of the block it
/// goes into, and the running sums of the claimant's holding. (A claim that omits one of its notes
/// from the balance is refused here.) Nothing to check for other kinds.
pub fn check_claim_holding(
    tx: &Transaction,
    view: &impl LedgerView,
    period: u64,
) -> Result<(), TxError> {
    let Some(claim) = tx.claim.as_ref().filter(|_| tx.kind == TxKind::Claim) else {
        return Ok(());
    };
    if claim.period != period {
        return Err(TxError::WrongPeriod {
            stated: claim.period,
            current: period,
        });
    }
    let holding = view.holding(&claim.claimant);
    if holding.balance.compress() != claim.balance {
        return Err(TxError::StaleBalance);
    }
    if holding.inflow_in(period).compress() != claim.inflow {
        return Err(TxError::StaleInflow);
    }
    Ok(())
}

/// Resolves what a transaction's effects need, with no rule checked beyond the lookups: its inputs
/// (for a claim, the claimed notes: pending and the claimant's), whether each was pending, and
/// the accounts of inputs and outputs. [`check_state`] adds the rules; an audit replaying history
/// uses this alone, since tiers may have changed since.
pub fn resolve(tx: &Transaction, view: &impl LedgerView) -> Result<Resolved, TxError> {
    let (inputs, input_pending): (Vec<InputNote>, Vec<bool>) =
        resolve_with_pending(tx, view)?.into_iter().unzip();
    let output_accounts = tx
        .outputs
        .iter()
        .map(|o| account_of(view, &o.owner))
        .collect::<Result<Vec<_>, _>>()?;
    let input_accounts = if tx.kind == TxKind::Claim {
        Vec::new()
    } else {
        inputs
            .iter()
            .map(|i| account_of(view, &i.owner))
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok(Resolved {
        inputs,
        input_pending,
        input_accounts,
        output_accounts,
    })
}

/// Every output commitment must be new to the ledger.
pub fn check_outputs_fresh(tx: &Transaction, view: &impl LedgerView) -> Result<(), TxError> {
    for (index, o) in tx.outputs.iter().enumerate() {
        if view.commitment_exists(&o.commitment) {
            return Err(TxError::CommitmentExists { index });
        }
    }
    Ok(())
}

/// The cryptographic checks, cheapest first: issuer signatures, owner signatures, the balance
/// proof, the range proof (over a transfer's outputs and bounds), then a transfer's disclosures, or
/// a claim's proof.
/// `inputs` are the resolved inputs in input order (for a claim, the claimed notes).
pub fn verify_crypto(
    tx: &Transaction,
    params: &NetworkParams,
    inputs: &[InputNote],
) -> Result<(), TxError> {
    let txid = tx.id();
    for s in &tx.issuer_signatures {
        let index = usize::from(s.index);
        let key = params.issuers.get(index).ok_or(TxError::UnknownIssuer {
            index,
            count: params.issuers.len(),
        })?;
        if !key.verify(&txid.0, &s.signature) {
            return Err(TxError::BadIssuerSignature { index });
        }
    }
    if let (TxKind::Claim, Some(claim)) = (tx.kind, &tx.claim) {
        let sig = tx
            .owner_signatures
            .first()
            .ok_or(TxError::OwnerSignatureCount { have: 0, need: 1 })?;
        if !claim.claimant.verify(&txid.0, sig) {
            return Err(TxError::BadOwnerSignature { index: 0 });
        }
        let notes: Vec<RistrettoPoint> = inputs.iter().map(|i| *i.commitment.point()).collect();
        return claim.verify(params, &tx.genesis, &notes);
    }
    if inputs.len() != tx.inputs.len() || tx.owner_signatures.len() != tx.inputs.len() {
        return Err(TxError::OwnerSignatureCount {
            have: tx.owner_signatures.len(),
            need: tx.inputs.len(),
        });
    }
    for (index, (input, sig)) in inputs.iter().zip(&tx.owner_signatures).enumerate() {
        if !input.owner.verify(&txid.0, sig) {
            return Err(TxError::BadOwnerSignature { index });
        }
    }
    let input_commitments: Vec<Commitment> = inputs.iter().map(|i| i.commitment).collect();
    if !tx
        .balance_proof
        .verify(&txid, &tx.excess(&input_commitments))
    {
        return Err(TxError::Unbalanced);
    }
    let points: Vec<_> = tx
        .range_points(params)?
        .iter()
        .map(|p| p.compress())
        .collect();
    if !range::verify_bits(
        &mut tx.range_transcript(),
        &points,
        &tx.range_proof,
        range::RANGE_BITS,
    ) {
        return Err(TxError::BadRangeProof);
    }
    if let Some(section) = &tx.compliance {
        let commitments: Vec<_> = tx.outputs.iter().map(|o| *o.commitment.point()).collect();
        section.verify(&tx.body_id(), params, &commitments)?;
    }
    Ok(())
}

/// Full validation against a ledger view in turnover period `period`, cheapest checks first.
/// Returns what the state checks resolved.
pub fn validate(
    tx: &Transaction,
    params: &NetworkParams,
    view: &impl LedgerView,
    period: u64,
) -> Result<Resolved, TxError> {
    check_structure(tx, params)?;
    let resolved = check_state(tx, params, view, period)?;
    verify_crypto(tx, params, &resolved.inputs)?;
    Ok(resolved)
}

/// The supply after applying `tx` to `supply`: issue adds, redeem subtracts, transfer and claim
/// keep.
pub fn next_supply(tx: &Transaction, supply: Amount) -> Result<Amount, TxError> {
    match tx.kind {
        TxKind::Transfer | TxKind::Claim => Ok(supply),
        TxKind::Issue => {
            supply
                .checked_add(tx.public_amount)
                .map_err(|_| TxError::SupplyOverflow {
                    amount: tx.public_amount.units(),
                })
        }
        TxKind::Redeem => {
            supply
                .checked_sub(tx.public_amount)
                .map_err(|_| TxError::SupplyUnderflow {
                    amount: tx.public_amount.units(),
                    supply: supply.units(),
                })
        }
    }
}

/// State of a batch (block) being assembled: what its accepted transactions spend, create and
/// claim, and the holdings they change, so that two transactions of one batch cannot spend or
/// claim the same note, repeat a commitment, or both prove against the same stale balance.
#[derive(Debug)]
pub struct BatchState {
    period: u64,
    spent: HashSet<NoteId>,
    commitments: HashSet<[u8; 32]>,
    claimed: HashSet<NoteId>,
    holdings: HashMap<PublicKey, Holding>,
}

/// A ledger view with a batch's claims and holdings laid over it.
struct Overlay<'a, V> {
    view: &'a V,
    batch: &'a BatchState,
}

impl<V: LedgerView> LedgerView for Overlay<'_, V> {
    fn note(&self, id: &NoteId) -> Option<LedgerNote> {
        self.view.note(id).map(|mut n| {
            if self.batch.claimed.contains(id) {
                n.pending = false;
            }
            n
        })
    }
    fn commitment_exists(&self, commitment: &Commitment) -> bool {
        self.view.commitment_exists(commitment)
    }
    fn account(&self, key: &PublicKey) -> Option<Account> {
        self.view.account(key)
    }
    fn holding(&self, account: &PublicKey) -> Holding {
        self.batch
            .holdings
            .get(account)
            .cloned()
            .unwrap_or_else(|| self.view.holding(account))
    }
}

impl BatchState {
    /// An empty batch sealed in turnover period `period`.
    pub fn new(period: u64) -> Self {
        BatchState {
            period,
            spent: HashSet::new(),
            commitments: HashSet::new(),
            claimed: HashSet::new(),
            holdings: HashMap::new(),
        }
    }

    /// Admits `tx` to the batch if every state check passes against the ledger with the batch laid
    /// over it: inputs unspent in the ledger and the batch, outputs new to both, claimed notes not
    /// claimed earlier in the batch, claims against the balance the batch leaves. Records what it
    /// spends, creates and claims and the holdings it changes, and returns its effects. On error
    /// nothing is recorded.
    pub fn admit(
        &mut self,
        tx: &Transaction,
        params: &NetworkParams,
        view: &impl LedgerView,
    ) -> Result<Effects, TxError> {
        let overlay = Overlay { view, batch: self };
        let resolved = check_state(tx, params, &overlay, self.period)?;
        for (index, id) in tx.inputs.iter().enumerate() {
            if self.spent.contains(id) {
                return Err(TxError::InputSpentInBatch {
                    index,
                    note: id.to_hex(),
                });
            }
        }
        for (index, o) in tx.outputs.iter().enumerate() {
            if self.commitments.contains(&o.commitment.to_bytes()) {
                return Err(TxError::CommitmentExists { index });
            }
        }
        let fx = effects(tx, &resolved);
        let updated: Vec<(PublicKey, Holding)> = fx
            .deltas
            .iter()
            .map(|d| {
                let mut h = overlay.holding(&d.account);
                h.apply(d, self.period);
                (d.account, h)
            })
            .collect();
        self.holdings.extend(updated);
        self.spent.extend(tx.inputs.iter().copied());
        self.commitments
            .extend(tx.outputs.iter().map(|o| o.commitment.to_bytes()));
        self.claimed.extend(fx.claimed.iter().copied());
        Ok(fx)
    }

    /// Number of notes spent by the batch so far.
    pub fn spent_count(&self) -> usize {
        self.spent.len()
    }

    /// The holdings the batch changed, as they stand after it.
    pub fn holdings(&self) -> &HashMap<PublicKey, Holding> {
        &self.holdings
    }

    /// The turnover period of the batch.
    pub fn period(&self) -> u64 {
        self.period
    }
}
