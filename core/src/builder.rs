//! Building transactions: note openings, outputs, the aggregated range proof, the balance proof and
//! the owners' signatures. Issuer signatures are added afterwards by the operators who approve.

use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};

use crate::address::Address;
use crate::amount::Amount;
use crate::balance::BalanceProof;
use crate::compliance::{Compliance, ComplianceContext};
use crate::error::{BuildError, TxError};
use crate::keys::SigningKey;
use crate::note::{NoteId, Opening, Output, MAX_MEMO_BYTES};
use crate::params::NetworkParams;
use crate::range;
use crate::tx::{Transaction, TxKind};

/// A note to spend: its id, its opening and the key that owns it.
#[derive(Clone)]
pub struct SpendInput {
    /// The note.
    pub id: NoteId,
    /// Its opening (amount and blinding).
    pub opening: Opening,
    /// Its owner's key.
    pub key: SigningKey,
}

/// An output to create.
#[derive(Clone, Debug)]
pub struct Payment {
    /// Recipient.
    pub to: Address,
    /// Amount.
    pub amount: Amount,
    /// Memo (at most [`MAX_MEMO_BYTES`]).
    pub memo: Vec<u8>,
}

/// A built transaction together with the openings of its outputs, which the builder keeps (change
/// back to self, and a record of what was paid).
#[derive(Clone, Debug)]
pub struct Built {
    /// The transaction.
    pub tx: Transaction,
    /// Openings of the outputs, in output order.
    pub openings: Vec<Opening>,
}

/// Builds a transaction of `kind` spending `inputs` into `payments` with `public_amount` issued
/// (issue) or redeemed (redeem). Checks the balance in the clear first, so an unbalanced request is
/// refused here instead of producing a transaction the ledger would reject.
pub fn build<R: RngCore + CryptoRng>(
    params: &NetworkParams,
    kind: TxKind,
    public_amount: Amount,
    inputs: &[SpendInput],
    payments: &[Payment],
    rng: &mut R,
) -> Result<Built, BuildError> {
    build_with(
        params,
        kind,
        public_amount,
        inputs,
        payments,
        &BuildOptions::default(),
        rng,
    )
}

/// Options of [`build_with`].
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// The caps of the paying and receiving tiers, needed for transfers on a network with
    /// compliance rules (the wallet reads them from the node's registry).
    pub compliance: Option<ComplianceContext>,
}

/// [`build`] with options: on a network with compliance rules a transfer also gets its
/// compliance section (bound proof over the caps, disclosures above the threshold).
pub fn build_with<R: RngCore + CryptoRng>(
    params: &NetworkParams,
    kind: TxKind,
    public_amount: Amount,
    inputs: &[SpendInput],
    payments: &[Payment],
    options: &BuildOptions,
    rng: &mut R,
) -> Result<Built, BuildError> {
    for p in payments {
        if p.memo.len() > MAX_MEMO_BYTES {
            return Err(BuildError::MemoTooLong {
                len: p.memo.len(),
                limit: MAX_MEMO_BYTES,
            });
        }
    }
    let total_in = Amount::sum(inputs.iter().map(|i| i.opening.amount))?;
    let total_out = Amount::sum(payments.iter().map(|p| p.amount))?;
    let (lhs, rhs) = match kind {
        TxKind::Issue => (public_amount, total_out),
        TxKind::Transfer => (total_in, total_out),
        TxKind::Redeem => (total_in, total_out.checked_add(public_amount)?),
    };
    if lhs != rhs {
        return Err(BuildError::Unbalanced {
            inputs: lhs.units(),
            outputs: rhs.units(),
        });
    }
    let openings: Vec<Opening> = payments
        .iter()
        .map(|p| Opening::random(p.amount, p.memo.clone(), rng))
        .collect();
    let outputs: Vec<Output> = payments
        .iter()
        .zip(&openings)
        .map(|(p, o)| Output::new(&p.to, o, rng))
        .collect();
    let values: Vec<(u64, Scalar)> = openings
        .iter()
        .map(|o| (o.amount.units(), o.blinding))
        .collect();
    let public_amount = if kind.is_public() {
        public_amount
    } else {
        Amount::ZERO
    };
    let mut tx = Transaction {
        network: params.network_id,
        kind,
        public_amount,
        inputs: inputs.iter().map(|i| i.id).collect(),
        outputs,
        range_proof: Vec::new(),
        balance_proof: placeholder_balance_proof(rng),
        owner_signatures: Vec::new(),
        issuer_signatures: Vec::new(),
        compliance: None,
    };
    if tx.outputs.is_empty() {
        return Err(BuildError::Rule(TxError::NoOutputs));
    }
    tx.range_proof = range::prove(&mut tx.range_transcript(), &values, rng);
    if let (Some(rules), TxKind::Transfer) = (&params.compliance, kind) {
        let ctx = options.compliance.clone().unwrap_or_default();
        let owners: Vec<_> = inputs.iter().map(|i| i.key.public()).collect();
        let change: Vec<bool> = tx
            .outputs
            .iter()
            .map(|o| owners.contains(&o.owner))
            .collect();
        let commitments: Vec<_> = tx.outputs.iter().map(|o| *o.commitment.point()).collect();
        let body = tx.body_id();
        tx.compliance = Some(Compliance::build(
            &body,
            rules,
            &ctx,
            &commitments,
            &openings,
            &change,
            rng,
        )?);
    }
    let txid = tx.id();
    let x: Scalar = openings.iter().map(|o| o.blinding).sum::<Scalar>()
        - inputs.iter().map(|i| i.opening.blinding).sum::<Scalar>();
    let input_commitments: Vec<_> = inputs.iter().map(|i| i.opening.commitment()).collect();
    let excess = tx.excess(&input_commitments);
    tx.balance_proof = BalanceProof::prove(&txid, &excess, &x, rng);
    tx.owner_signatures = inputs.iter().map(|i| i.key.sign(&txid.0)).collect();
    Ok(Built { tx, openings })
}

/// A syntactically valid balance proof used only until the real one is computed (the id does not
/// cover the balance proof, so building the id first is sound).
fn placeholder_balance_proof<R: RngCore + CryptoRng>(rng: &mut R) -> BalanceProof {
    let zero = crate::note::Hash32([0u8; 32]);
    let base = crate::note::pedersen_gens().B_blinding;
    BalanceProof::prove(&zero, &base, &Scalar::ONE, rng)
}
