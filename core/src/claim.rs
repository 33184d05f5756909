//! Claims: how a wallet takes incoming notes into its balance within its holding and turnover
//! limits, without anyone learning the balance.
//!
//! # Why
//! A payer cannot prove anything about the payee's balance: only the payee knows its notes'
//! openings. So every note a wallet *receives* (a payee's outputs of a transfer, an issuance) is
//! created **pending**: it is on the ledger but cannot be spent. The owner makes it spendable with a
//! claim transaction (kind 3), proving in zero knowledge that the claimed notes keep its balance
//! within its tier's `max_balance` and its inflow of the current turnover period within
//! `max_inflow`. A note it cannot claim within its limits stays pending; its owner can redeem it to
//! its bank account (a redemption may spend pending notes: the reverse waterfall). Change (outputs
//! back to the payer's own account) never raises a balance, so it is settled at once; so is a
//! redemption's change, unless the redemption spent a pending note (then its change is pending
//! too, or redeeming 0.01 of a pending receipt would settle the rest past the limits).
//!
//! # The statement
//! The ledger keeps, per account `A` (a wallet with its purse keys), two points anyone can derive
//! from the public ledger: `Bal_A = Σ C` over `A`'s settled unspent notes, and `In_A = Σ C` over the
//! notes `A` claimed in the current period. A claim of notes with commitments `C_1..C_n` states
//! `Bal_A`, `In_A`, the period and the claimant's tier, and carries one aggregated 64-bit
//! Bulletproof over the two points the verifier derives itself:
//!
//! ```text
//! P_hold = max_balance·B − Bal_A − Σ C_j      P_in = max_inflow·B − In_A − Σ C_j
//! ```
//!
//! The node checks the cheap parts first (the notes are pending and the claimant's; the stated tier
//! is the registry's; `Bal_A`, `In_A` and the period equal the ledger's at commit time), then the
//! claimant's signature and the proof.
//!
//! # Soundness
//! Every note commitment on the ledger was range-proven in `[0, 2^64)` when it was created, and
//! `Bal_A`, `In_A` are sums of at most a few million of them, so their values are below `2^90 ≪ ℓ`
//! and sums cannot wrap. A valid range proof shows knowledge of an opening `(v, r)` of `P_hold` with
//! `v ∈ [0, 2^64)`; by the binding property of Pedersen commitments (discrete log of `B_blinding`
//! to `B` unknown) `v = max_balance − bal − Σ v_j`, hence `bal + Σ v_j ≤ max_balance`, and likewise
//! for the inflow. Because the node derives `Bal_A` and `In_A` from the ledger and refuses a claim
//! whose stated points differ, a claim that omits one of its notes from the balance is refused
//! ([`TxError::StaleBalance`]); a claim over another account's notes is refused
//! ([`TxError::ClaimNotOwner`]). The proof is bound by its transcript to the network, the genesis
//! hash, the claimant, the tier, the period, the notes and both stated points, so it cannot be
//! replayed for other notes or another period.
//!
//! # Privacy
//! The node learns that the notes were claimed and when; never an amount or a balance.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

use crate::amount::Amount;
use crate::codec::{Reader, Writer};
use crate::error::{BuildError, DecodeError, TxError};
use crate::keys::{PublicKey, SigningKey};
use crate::note::{pedersen_gens, Hash32, NoteId, Opening};
use crate::params::{NetworkParams, MAX_INPUTS_CAP};
use crate::range;
use crate::transcript::TranscriptProtocol;

const CLAIM_DOMAIN: &[u8] = b"dfc/claim/v1";

/// The most notes one claim takes.
pub const MAX_CLAIM_NOTES: usize = MAX_INPUTS_CAP;

/// The claim section of a claim transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimSection {
    /// The claiming wallet's key (the account; it signs the claim).
    pub claimant: PublicKey,
    /// The claimant's tier, whose limits the proof is against.
    pub tier: u8,
    /// The turnover period the claim counts in.
    pub period: u64,
    /// The pending notes claimed.
    pub notes: Vec<NoteId>,
    /// `Bal_A`: the sum of the claimant's settled unspent note commitments (may be the identity).
    pub balance: CompressedRistretto,
    /// `In_A`: the sum of the commitments the claimant claimed in `period` (may be the identity).
    pub inflow: CompressedRistretto,
    /// One aggregated 64-bit range proof over `P_hold` and `P_in`.
    pub proof: Vec<u8>,
}

/// Decodes a point that may be the identity (a running sum of no notes), refusing non-canonical
/// encodings.
fn sum_point(r: &mut Reader<'_>, field: &'static str) -> Result<CompressedRistretto, DecodeError> {
    let bytes: [u8; 32] = r.array(field)?;
    let c = CompressedRistretto(bytes);
    match c.decompress() {
        Some(p) if p.compress() == c => Ok(c),
        _ => Err(DecodeError::Invalid {
            field,
            reason: "not a canonical Ristretto point".into(),
        }),
    }
}

impl ClaimSection {
    /// Canonical encoding.
    pub fn encode(&self, w: &mut Writer) {
        w.bytes(&self.claimant.to_bytes());
        w.u8(self.tier);
        w.u64(self.period);
        w.u8(u8::try_from(self.notes.len()).unwrap_or(u8::MAX));
        for n in &self.notes {
            w.bytes(&n.0);
        }
        w.bytes(self.balance.as_bytes());
        w.bytes(self.inflow.as_bytes());
        w.bytes(&self.proof);
    }

    /// Decodes, refusing non-canonical points and a proof of the wrong length.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let claimant = PublicKey::from_bytes(&r.array("claimant")?)?;
        let tier = r.u8("claim tier")?;
        let period = r.u64("claim period")?;
        let n = r.count("claimed notes", MAX_CLAIM_NOTES)?;
        let mut notes = Vec::with_capacity(n);
        for _ in 0..n {
            notes.push(Hash32(r.array("claimed note")?));
        }
        let balance = sum_point(r, "claim balance")?;
        let inflow = sum_point(r, "claim inflow")?;
        let len = range::proof_len(2);
        let proof = r.take(len, "claim proof")?.to_vec();
        range::check_encoding_bits(&proof, 2, range::RANGE_BITS)?;
        Ok(ClaimSection {
            claimant,
            tier,
            period,
            notes,
            balance,
            inflow,
            proof,
        })
    }

    /// The proof's transcript.
    pub fn transcript(&self, network: u32, genesis: &Hash32) -> Transcript {
        let mut t = Transcript::new(CLAIM_DOMAIN);
        t.append_message(b"network", &network.to_le_bytes());
        t.append_message(b"genesis", &genesis.0);
        t.append_message(b"claimant", &self.claimant.to_bytes());
        t.append_message(b"tier", &[self.tier]);
        t.append_u64_le(b"period", self.period);
        t.append_u64_le(b"n", self.notes.len() as u64);
        for n in &self.notes {
            t.append_message(b"note", &n.0);
        }
        t.append_message(b"balance", self.balance.as_bytes());
        t.append_message(b"inflow", self.inflow.as_bytes());
        t
    }

    /// The two points the proof is over, `P_hold` and `P_in`, from the claimed notes' commitments.
    pub fn points(
        &self,
        params: &NetworkParams,
        notes: &[RistrettoPoint],
    ) -> Result<[RistrettoPoint; 2], TxError> {
        let limits = params
            .tier(self.tier)
            .ok_or(TxError::UnknownTier { tier: self.tier })?;
        let (Some(balance), Some(inflow)) = (self.balance.decompress(), self.inflow.decompress())
        else {
            return Err(TxError::BadClaimProof);
        };
        let new: RistrettoPoint = notes.iter().sum();
        let b = pedersen_gens().B;
        Ok([
            Scalar::from(limits.max_balance.units()) * b - balance - new,
            Scalar::from(limits.max_inflow.units()) * b - inflow - new,
        ])
    }

    /// Verifies the proof one by one against the claimed notes' commitments.
    pub fn verify(
        &self,
        params: &NetworkParams,
        genesis: &Hash32,
        notes: &[RistrettoPoint],
    ) -> Result<(), TxError> {
        let points = self.points(params, notes)?;
        let compressed = [points[0].compress(), points[1].compress()];
        if range::verify_bits(
            &mut self.transcript(params.network_id, genesis),
            &compressed,
            &self.proof,
            range::RANGE_BITS,
        ) {
            Ok(())
        } else {
            Err(TxError::BadClaimProof)
        }
    }
}

/// What a wallet knows to make a claim: the openings of the notes it claims, and the summed
/// openings of its settled unspent notes and of the notes it claimed this period (the ledger's
/// `Bal_A` and `In_A`).
#[derive(Clone)]
pub struct ClaimRequest<'a> {
    /// The claimant's spend key.
    pub key: &'a SigningKey,
    /// Its tier.
    pub tier: u8,
    /// The current turnover period.
    pub period: u64,
    /// The pending notes to claim with their openings.
    pub notes: &'a [(NoteId, Opening)],
    /// Sum of the openings of the claimant's settled unspent notes.
    pub balance: Opening,
    /// Sum of the openings of the notes claimed in `period`.
    pub inflow: Opening,
}

/// Sums openings (amounts and blindings).
pub fn sum_openings<'a>(
    openings: impl IntoIterator<Item = &'a Opening>,
) -> Result<Opening, TxError> {
    let mut amount = Amount::ZERO;
    let mut blinding = Scalar::ZERO;
    for o in openings {
        amount = amount.checked_add(o.amount)?;
        blinding += o.blinding;
    }
    Ok(Opening {
        amount,
        blinding,
        memo: Vec::new(),
    })
}

/// Builds the claim section, refusing in the clear a claim over the holding or turnover limit.
pub fn build_section<R: RngCore + CryptoRng>(
    params: &NetworkParams,
    req: &ClaimRequest<'_>,
    rng: &mut R,
) -> Result<ClaimSection, BuildError> {
    let limits = params
        .tier(req.tier)
        .ok_or(TxError::UnknownTier { tier: req.tier })?;
    if req.notes.is_empty() || req.notes.len() > MAX_CLAIM_NOTES {
        return Err(BuildError::Rule(TxError::TooManyInputs {
            count: req.notes.len(),
            limit: MAX_CLAIM_NOTES,
        }));
    }
    let new = sum_openings(req.notes.iter().map(|(_, o)| o))?;
    let hold = req.balance.amount.checked_add(new.amount)?;
    let slack_hold =
        limits
            .max_balance
            .checked_sub(hold)
            .map_err(|_| TxError::OverHoldingLimit {
                would_hold: hold.units(),
                limit: limits.max_balance.units(),
            })?;
    let inflow = req.inflow.amount.checked_add(new.amount)?;
    let slack_in =
        limits
            .max_inflow
            .checked_sub(inflow)
            .map_err(|_| TxError::OverTurnoverLimit {
                would_receive: inflow.units(),
                limit: limits.max_inflow.units(),
            })?;
    let g = pedersen_gens();
    let mut section = ClaimSection {
        claimant: req.key.public(),
        tier: req.tier,
        period: req.period,
        notes: req.notes.iter().map(|(id, _)| *id).collect(),
        balance: g
            .commit(
                Scalar::from(req.balance.amount.units()),
                req.balance.blinding,
            )
            .compress(),
        inflow: g
            .commit(Scalar::from(req.inflow.amount.units()), req.inflow.blinding)
            .compress(),
        proof: Vec::new(),
    };
    let values = [
        (slack_hold.units(), -(req.balance.blinding + new.blinding)),
        (slack_in.units(), -(req.inflow.blinding + new.blinding)),
    ];
    section.proof = range::prove(
        &mut section.transcript(params.network_id, &params.genesis_hash),
        &values,
        rng,
    );
    Ok(section)
}
