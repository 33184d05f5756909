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

use std::collections::HashSet;

use crate::amount::Amount;
use crate::error::TxError;
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
}

/// Read access to the ledger's notes, implemented by the node's store, the simulator and tests.
pub trait LedgerView {
    /// The note with id `id`, spent or not.
    fn note(&self, id: &NoteId) -> Option<LedgerNote>;
    /// Whether any note (spent or not) has this commitment.
    fn commitment_exists(&self, commitment: &Commitment) -> bool;
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
    // Decoding already checked every point and scalar of the proof; here only its length, so a
    // decoded transaction does not pay for decompressing the proof's points twice. Verification
    // decompresses them again in any case.
    let expected = range::proof_len(tx.outputs.len());
    if tx.range_proof.len() != expected {
        return Err(TxError::Decode(crate::error::DecodeError::BadLength {
            field: "range proof",
            len: tx.range_proof.len(),
            expected: expected.to_string(),
        }));
    }
    match (&params.compliance, tx.kind, &tx.compliance) {
        (Some(_), TxKind::Transfer, None) => return Err(TxError::ComplianceMissing),
        (None, _, Some(_)) | (Some(_), TxKind::Issue | TxKind::Redeem, Some(_)) => {
            return Err(TxError::ComplianceNotAllowed)
        }
        _ => {}
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

/// Looks up every input: it must exist and be unspent.
pub fn resolve_inputs(tx: &Transaction, view: &impl LedgerView) -> Result<Vec<InputNote>, TxError> {
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
            Some(n) => Ok(InputNote {
                id: *id,
                commitment: n.commitment,
                owner: n.owner,
            }),
        })
        .collect()
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
/// proof, the range proof. `inputs` are the resolved inputs in input order.
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
    if !range::verify(
        &mut tx.range_transcript(),
        &tx.commitments(),
        &tx.range_proof,
    ) {
        return Err(TxError::BadRangeProof);
    }
    if let (Some(section), Some(rules)) = (&tx.compliance, &params.compliance) {
        let change = change_outputs(tx, inputs);
        let commitments: Vec<_> = tx.outputs.iter().map(|o| *o.commitment.point()).collect();
        section.verify(&tx.body_id(), rules, &commitments, &change)?;
    }
    Ok(())
}

/// Which outputs go back to an owner of the inputs (change): they are neither paid nor received.
pub fn change_outputs(tx: &Transaction, inputs: &[InputNote]) -> Vec<bool> {
    tx.outputs
        .iter()
        .map(|o| inputs.iter().any(|i| i.owner == o.owner))
        .collect()
}

/// Full validation against a ledger view, cheapest checks first. Returns the resolved inputs.
pub fn validate(
    tx: &Transaction,
    params: &NetworkParams,
    view: &impl LedgerView,
) -> Result<Vec<InputNote>, TxError> {
    check_structure(tx, params)?;
    let inputs = resolve_inputs(tx, view)?;
    check_outputs_fresh(tx, view)?;
    verify_crypto(tx, params, &inputs)?;
    Ok(inputs)
}

/// The supply after applying `tx` to `supply`: issue adds, redeem subtracts, transfer keeps.
pub fn next_supply(tx: &Transaction, supply: Amount) -> Result<Amount, TxError> {
    match tx.kind {
        TxKind::Transfer => Ok(supply),
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

/// State of a batch (block) being assembled: what its accepted transactions spend and create, so
/// that two transactions of one batch cannot spend the same note or repeat a commitment.
#[derive(Default, Debug)]
pub struct BatchState {
    spent: HashSet<NoteId>,
    commitments: HashSet<[u8; 32]>,
}

impl BatchState {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Admits `tx` to the batch if its inputs are unspent in the ledger and the batch and its
    /// outputs are new to both; records what it spends and creates. On error nothing is recorded.
    pub fn admit(&mut self, tx: &Transaction, view: &impl LedgerView) -> Result<(), TxError> {
        resolve_inputs(tx, view)?;
        for (index, id) in tx.inputs.iter().enumerate() {
            if self.spent.contains(id) {
                return Err(TxError::InputSpentInBatch {
                    index,
                    note: id.to_hex(),
                });
            }
        }
        check_outputs_fresh(tx, view)?;
        for (index, o) in tx.outputs.iter().enumerate() {
            if self.commitments.contains(&o.commitment.to_bytes()) {
                return Err(TxError::CommitmentExists { index });
            }
        }
        self.spent.extend(tx.inputs.iter().copied());
        self.commitments
            .extend(tx.outputs.iter().map(|o| o.commitment.to_bytes()));
        Ok(())
    }

    /// Number of notes spent by the batch so far.
    pub fn spent_count(&self) -> usize {
        self.spent.len()
    }
}
