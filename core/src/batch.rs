//! Batch verification of a block's worth of transactions: every check of
//! [`verify_crypto`](crate::validate::verify_crypto), with one multiscalar multiplication for all
//! range and balance proofs and one `schnorrkel` batch for all signatures.
//!
//! # How
//! Each check is an equation `Σ aᵢ·Pᵢ = 0` over points. The range proofs' equations (the final
//! check of `bulletproofs`' verifier, replayed in [`bulletproof`]) and the balance proofs'
//! `s·B_blinding − c·E − R = 0` are each multiplied by an independent random weight and summed.
//! The coefficients of the generators every proof shares (`G`, `H`, `B`, `B_blinding`) are added
//! up, so the shared part, most of the work of verifying one proof, is computed once per batch.
//!
//! # Soundness
//! If any single equation is false, the weighted sum is zero only if the weights hit one value
//! that the false equation determines: probability at most 1/ℓ ≈ 2⁻²⁵² per try, where ℓ is the
//! group order. The weights come from a `merlin` transcript rng keyed with every transaction's id
//! and balance proof and finalised with fresh randomness (the OS rng in [`verify_batch`]), so a
//! prover cannot predict them when making its proofs. Signatures go to
//! `schnorrkel::verify_batch_rng`, which weights them the same way (128-bit weights).
//!
//! A transfer's range proof covers its bounds (its per-party caps) after its outputs, and a claim's
//! proof (holding and turnover limits) is a range proof too: both join the same multiscalar
//! multiplication, each under its own weight (up to 64 aggregated values, the most a transfer's
//! 16 outputs and 17 bounds pad to). Disclosures to the regulator (only on payees at or above the
//! reporting threshold) are verified one by one while the batch is prepared.
//!
//! # Fallback
//! When the batch fails, each of its transactions is verified one by one with
//! [`verify_crypto`], so the caller learns exactly which transactions are bad and why, with the
//! same error one-by-one verification would give, and can commit the others.

mod bulletproof;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use merlin::Transcript;
use rand_core::{CryptoRng, OsRng, RngCore};
use thiserror::Error;

use crate::error::TxError;
use crate::keys::{PublicKey, Signature};
use crate::note::{pedersen_gens, TxId};
use crate::params::NetworkParams;
use crate::range::{padded_len, RANGE_BITS};
use crate::transcript::{TranscriptProtocol, AUTH_CONTEXT, BALANCE_DOMAIN};
use crate::tx::Transaction;
use crate::tx::TxKind;
use crate::validate::{verify_crypto, InputNote};

use bulletproof::{Accumulator, RangeTerms};

/// Domain label of the transcript that derives the batch weights.
pub const BATCH_DOMAIN: &[u8] = b"dfc/batch-verify/v1";

/// The most transactions verified in one multiscalar multiplication; longer slices are verified in
/// chunks of this size. 1024 two-output transfers make an MSM of about 23,000 points (≈ 12 MB of
/// points and scalars); beyond a few hundred the gain per transaction is small.
pub const MAX_BATCH_TXS: usize = 1024;

/// One transaction to verify and its resolved inputs, in input order (as for
/// [`verify_crypto`]).
pub type BatchItem<'a> = (&'a Transaction, &'a [InputNote]);

/// Some transactions of a batch failed verification.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{} of {} transactions failed verification", .failed.len(), .total)]
pub struct BatchError {
    /// Position in the batch and the error [`verify_crypto`] gives, for every failed transaction,
    /// in batch order.
    pub failed: Vec<(usize, TxError)>,
    /// Number of transactions in the batch.
    pub total: usize,
}

/// Verifies every item's cryptography in batches, falling back to one-by-one verification to name
/// the bad ones. Returns one result per item, in order, equal to what [`verify_crypto`] returns
/// for it (except with negligible probability, see the module documentation). Assumes
/// [`check_structure`](crate::validate::check_structure) passed; never panics on any input.
pub fn verify_batch(items: &[BatchItem<'_>], params: &NetworkParams) -> Vec<Result<(), TxError>> {
    verify_batch_with_rng(items, params, &mut OsRng)
}

/// [`verify_batch`] with the caller's randomness: it finalises the weight transcript, so it must
/// be unpredictable to whoever made the proofs (a seeded rng is for tests only).
pub fn verify_batch_with_rng<R: RngCore + CryptoRng>(
    items: &[BatchItem<'_>],
    params: &NetworkParams,
    rng: &mut R,
) -> Vec<Result<(), TxError>> {
    let mut results = Vec::with_capacity(items.len());
    for chunk in items.chunks(MAX_BATCH_TXS) {
        let prepared = prepare_chunk(chunk, params, rng);
        let batch_ok = prepared.batch_holds(rng);
        for (item, outcome) in chunk.iter().zip(prepared.outcomes) {
            results.push(match outcome {
                Some(result) => result,
                None if batch_ok => Ok(()),
                None => verify_crypto(item.0, params, item.1),
            });
        }
    }
    results
}

/// All-or-nothing form of [`verify_batch`]: `Ok` if every transaction verifies, otherwise every
/// failure with its position.
pub fn verify_all(items: &[BatchItem<'_>], params: &NetworkParams) -> Result<(), BatchError> {
    let failed: Vec<(usize, TxError)> = verify_batch(items, params)
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| r.err().map(|e| (i, e)))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(BatchError {
            failed,
            total: items.len(),
        })
    }
}

/// Only the batch check, without the fallback: `true` if every item passes every check of
/// [`verify_crypto`] (a `true` for a batch with a bad item has probability ≈ 2⁻¹²⁸). For callers
/// that retry a failed batch in their own way, and for measuring the batch alone.
pub fn batch_holds<R: RngCore + CryptoRng>(
    items: &[BatchItem<'_>],
    params: &NetworkParams,
    rng: &mut R,
) -> bool {
    items.chunks(MAX_BATCH_TXS).all(|chunk| {
        let prepared = prepare_chunk(chunk, params, rng);
        prepared.outcomes.iter().all(Option::is_none) && prepared.batch_holds(rng)
    })
}

/// A chunk with every batchable equation accumulated.
struct Prepared {
    /// `Some(result)` for an item settled without the batch (it failed a check that needs no curve
    /// arithmetic to fail, so [`verify_crypto`] gave its exact error), `None` for an item in the
    /// batch.
    outcomes: Vec<Option<Result<(), TxError>>>,
    acc: Accumulator,
    /// Largest aggregation size among the batched range proofs: how many shared generators the
    /// MSM needs.
    max_m: usize,
    sig_messages: Vec<TxId>,
    sigs: Vec<schnorrkel::Signature>,
    keys: Vec<schnorrkel::PublicKey>,
}

/// What one transaction adds to the batch, computed in full before anything is added.
struct TxTerms {
    sigs: Vec<(PublicKey, Signature)>,
    excess: RistrettoPoint,
    balance_r: RistrettoPoint,
    balance_s: Scalar,
    balance_c: Scalar,
    /// The range proof (over outputs and, for a transfer, its bounds) or the claim proof.
    ranges: Vec<RangeTerms>,
    m: usize,
}

fn prepare_chunk<R: RngCore + CryptoRng>(
    chunk: &[BatchItem<'_>],
    params: &NetworkParams,
    rng: &mut R,
) -> Prepared {
    let txids: Vec<TxId> = chunk.iter().map(|(tx, _)| tx.id()).collect();
    // The weights depend on every proof of the chunk and on fresh randomness.
    let mut bind = Transcript::new(BATCH_DOMAIN);
    bind.append_u64_le(b"count", chunk.len() as u64);
    for ((tx, _), txid) in chunk.iter().zip(&txids) {
        bind.append_message(b"txid", &txid.0);
        let (r, s) = tx.balance_proof.parts();
        bind.append_message(b"balance_r", r.as_bytes());
        bind.append_message(b"balance_s", s.as_bytes());
    }
    let mut weights = bind.build_rng().finalize(rng);

    let mut prepared = Prepared {
        outcomes: Vec::with_capacity(chunk.len()),
        acc: Accumulator::new(),
        max_m: 0,
        sig_messages: Vec::new(),
        sigs: Vec::new(),
        keys: Vec::new(),
    };
    for ((tx, inputs), txid) in chunk.iter().zip(&txids) {
        let Some(terms) = tx_terms(tx, inputs, params, txid) else {
            prepared
                .outcomes
                .push(Some(verify_crypto(tx, params, inputs)));
            continue;
        };
        prepared.outcomes.push(None);
        for (key, sig) in &terms.sigs {
            prepared.sig_messages.push(*txid);
            prepared.keys.push(key.to_schnorrkel());
            prepared.sigs.push(sig.to_schnorrkel());
        }
        let acc = &mut prepared.acc;
        let weight = Scalar::random(&mut weights);
        acc.b_blinding += weight * terms.balance_s;
        acc.scalars.push(-weight);
        acc.points.push(terms.balance_r);
        acc.scalars.push(-weight * terms.balance_c);
        acc.points.push(terms.excess);
        for range in &terms.ranges {
            let weight = Scalar::random(&mut weights);
            let c = Scalar::random(&mut weights);
            range.add_to(acc, weight, c);
        }
        prepared.max_m = prepared.max_m.max(terms.m);
    }
    prepared
}

/// Everything of `tx` the batch needs, or `None` if `tx` fails a check that needs no batch to
/// fail: issuer index, counts, encodings, identity points, aggregation size, and (checked one by
/// one) the compliance section.
fn tx_terms(
    tx: &Transaction,
    inputs: &[InputNote],
    params: &NetworkParams,
    txid: &TxId,
) -> Option<TxTerms> {
    let mut sigs = Vec::with_capacity(tx.issuer_signatures.len() + inputs.len());
    for s in &tx.issuer_signatures {
        sigs.push((*params.issuers.get(usize::from(s.index))?, s.signature));
    }
    let padding = pedersen_gens().B_blinding.compress();
    let pair = |p: RistrettoPoint| (p.compress(), p);
    let mut ranges = Vec::with_capacity(2);
    let mut m = 1;
    if tx.kind == TxKind::Claim {
        let claim = tx.claim.as_ref()?;
        sigs.push((claim.claimant, *tx.owner_signatures.first()?));
        let notes: Vec<RistrettoPoint> = inputs.iter().map(|i| *i.commitment.point()).collect();
        let points: Vec<_> = claim.points(params, &notes).ok()?.map(pair).to_vec();
        ranges.push(bulletproof::prepare(
            &mut claim.transcript(tx.network, &tx.genesis),
            &points,
            &claim.proof,
            &padding,
        )?);
        m = padded_len(points.len());
    } else {
        if inputs.len() != tx.inputs.len() || tx.owner_signatures.len() != tx.inputs.len() {
            return None;
        }
        for (input, sig) in inputs.iter().zip(&tx.owner_signatures) {
            sigs.push((input.owner, *sig));
        }
    }

    let input_commitments: Vec<_> = if tx.kind == TxKind::Claim {
        Vec::new()
    } else {
        inputs.iter().map(|i| i.commitment).collect()
    };
    let excess = tx.excess(&input_commitments);
    let excess_compressed = excess.compress();
    let (r, s) = tx.balance_proof.parts();
    let balance_r = r.decompress()?;
    let balance_c = balance_challenge(txid, &excess_compressed, r);

    if tx.kind != TxKind::Claim {
        // One proof over the outputs and, for a transfer, its bounds' derived commitments.
        let mut commitments: Vec<(CompressedRistretto, RistrettoPoint)> = tx
            .outputs
            .iter()
            .map(|o| (*o.commitment.compressed(), *o.commitment.point()))
            .collect();
        if let Some(section) = &tx.compliance {
            let outputs: Vec<RistrettoPoint> = commitments.iter().map(|(_, p)| *p).collect();
            // Disclosures are rare (receipts at or above the threshold) and verified one by one.
            section
                .verify_disclosures(&tx.body_id(), params, &outputs)
                .ok()?;
            commitments.extend(
                section
                    .bound_points(params, &outputs)
                    .ok()?
                    .into_iter()
                    .map(pair),
            );
        }
        ranges.push(bulletproof::prepare(
            &mut tx.range_transcript(),
            &commitments,
            &tx.range_proof,
            &padding,
        )?);
        m = padded_len(commitments.len());
    }
    Some(TxTerms {
        sigs,
        excess,
        balance_r,
        balance_s: *s,
        balance_c,
        ranges,
        m,
    })
}

/// The balance proof's challenge, as `BalanceProof::verify` derives it.
fn balance_challenge(txid: &TxId, excess: &CompressedRistretto, r: &CompressedRistretto) -> Scalar {
    let mut t = Transcript::new(BALANCE_DOMAIN);
    t.append_message(b"txid", &txid.0);
    t.append_point(b"E", excess);
    t.append_point(b"R", r);
    t.challenge_scalar(b"c")
}

impl Prepared {
    /// Whether the batched items' equations and signatures all hold.
    fn batch_holds<R: RngCore + CryptoRng>(&self, rng: &mut R) -> bool {
        if self.outcomes.iter().all(Option::is_some) {
            return true;
        }
        self.signatures_hold(rng) && self.equations_hold()
    }

    fn signatures_hold<R: RngCore + CryptoRng>(&self, rng: &mut R) -> bool {
        if self.sigs.is_empty() {
            return true;
        }
        let ctx = schnorrkel::signing_context(AUTH_CONTEXT);
        let transcripts = self.sig_messages.iter().map(|id| ctx.bytes(&id.0));
        schnorrkel::verify_batch_rng(transcripts, &self.sigs, &self.keys, true, rng).is_ok()
    }

    fn equations_hold(&self) -> bool {
        let gens = bulletproof::flat_gens();
        let pc = pedersen_gens();
        let shared = RANGE_BITS * self.max_m;
        let acc = &self.acc;
        let scalars = acc
            .scalars
            .iter()
            .chain([&acc.b, &acc.b_blinding])
            .chain(&acc.g[..shared])
            .chain(&acc.h[..shared]);
        let points = acc
            .points
            .iter()
            .chain([&pc.B, &pc.B_blinding])
            .chain(&gens.g[..shared])
            .chain(&gens.h[..shared]);
        RistrettoPoint::vartime_multiscalar_mul(scalars, points).is_identity()
    }
}

#[cfg(test)]
mod tests {
    use super::bulletproof::flat_gens;
    use crate::range::{bulletproof_gens, MAX_PARTIES, RANGE_BITS};

    /// The re-derived generator chain matches the crate's public view of `G` for every party, so
    /// the same chain under the label `H` gives the crate's private `H`.
    #[test]
    fn generators_match_bulletproofs() {
        let gens = flat_gens();
        for party in 0..MAX_PARTIES {
            let ours = &gens.g[party * RANGE_BITS..(party + 1) * RANGE_BITS];
            let theirs: Vec<_> = bulletproof_gens().share(party).G(RANGE_BITS).collect();
            assert_eq!(ours.len(), theirs.len());
            for (a, b) in ours.iter().zip(theirs) {
                assert_eq!(a.compress(), b.compress());
            }
        }
    }
}
