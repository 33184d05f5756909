//! Building transactions: note openings, outputs, the aggregated range proof, the balance proof and
//! the owners' signatures. Issuer signatures are added afterwards by the operators who approve.

use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};

use crate::address::Address;
use crate::amount::Amount;
use crate::balance::BalanceProof;
use crate::claim::ClaimRequest;
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
    /// The tiers of the payer and payees and the payer's own keys, for a transfer's flow section
    /// (the wallet reads them from the node's registry). Without it every party is taken to be at
    /// the top tier with no keys besides the input owners' (the reference ledger's open registry).
    pub compliance: Option<ComplianceContext>,
}

/// [`build`] with options: a transfer also gets its flow section (parties, tiers, disclosures above
/// the threshold on a network with a regulator) and its range proof covers the bounds on the caps.
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
        TxKind::Transfer | TxKind::Claim => (total_in, total_out),
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
        genesis: params.genesis_hash,
        kind,
        public_amount,
        inputs: inputs.iter().map(|i| i.id).collect(),
        outputs,
        range_proof: Default::default(),
        balance_proof: placeholder_balance_proof(rng),
        owner_signatures: Vec::new(),
        issuer_signatures: Vec::new(),
        compliance: None,
        claim: None,
    };
    if tx.outputs.is_empty() {
        return Err(BuildError::Rule(TxError::NoOutputs));
    }
    // A transfer's one range proof covers its outputs and then its bounds (its flow section).
    let mut planned = None;
    let mut values = values;
    if kind == TxKind::Transfer {
        let top = u8::try_from(params.tiers.len().saturating_sub(1)).unwrap_or(u8::MAX);
        let mut ctx = options
            .compliance
            .clone()
            .unwrap_or_else(|| ComplianceContext {
                payer_tier: top,
                own_keys: Vec::new(),
                payee_tiers: tx.outputs.iter().map(|o| (o.owner, top)).collect(),
            });
        ctx.own_keys.extend(inputs.iter().map(|i| i.key.public()));
        let owners: Vec<_> = tx.outputs.iter().map(|o| o.owner).collect();
        let (section, disclosed) = Compliance::plan(params, &ctx, &owners, &openings)?;
        values.extend(section.bound_values(params, &disclosed, &openings)?);
        planned = Some((section, disclosed));
    }
    tx.range_proof =
        range::prove_bits(&mut tx.range_transcript(), &values, range::RANGE_BITS, rng).into();
    if let Some((mut section, disclosed)) = planned {
        let commitments: Vec<_> = tx.outputs.iter().map(|o| *o.commitment.point()).collect();
        let body = tx.body_id();
        section.disclose(&body, params, &commitments, &openings, &disclosed, rng)?;
        tx.compliance = Some(section);
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

/// Builds a claim transaction: the claim section ([`crate::claim::build_section`], refusing in the
/// clear a claim over the holding or turnover limit) signed by the claimant.
pub fn build_claim<R: RngCore + CryptoRng>(
    params: &NetworkParams,
    req: &ClaimRequest<'_>,
    rng: &mut R,
) -> Result<Transaction, BuildError> {
    let section = crate::claim::build_section(params, req, rng)?;
    let mut tx = Transaction {
        network: params.network_id,
        genesis: params.genesis_hash,
        kind: TxKind::Claim,
        public_amount: Amount::ZERO,
        inputs: Vec::new(),
        outputs: Vec::new(),
        range_proof: Default::default(),
        balance_proof: placeholder_balance_proof(rng),
        owner_signatures: Vec::new(),
        issuer_signatures: Vec::new(),
        compliance: None,
        claim: Some(section),
    };
    let txid = tx.id();
    // A claim moves no value: its excess is the identity, and the balance proof is the proof of
    // the zero witness over it, so every transaction kind carries the same fields.
    tx.balance_proof = BalanceProof::prove(&txid, &tx.excess(&[]), &Scalar::ZERO, rng);
    tx.owner_signatures = vec![req.key.sign(&txid.0)];
    Ok(tx)
}
