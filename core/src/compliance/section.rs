//! The per-party flow section of a transfer: grouping of outputs into payer and payees, the stated
//! tiers, disclosures, and the bounds the transaction's range proof covers. See the parent module
//! for the construction.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rand_core::{CryptoRng, RngCore};

use super::{disclose, Disclosure};
use crate::amount::Amount;
use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, TxError};
use crate::keys::PublicKey;
use crate::note::{Hash32, Opening};
use crate::params::{NetworkParams, MAX_OUTPUTS_CAP};
use crate::validate::Account;

/// The flow section of a transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compliance {
    /// The paying account's tier.
    pub payer_tier: u8,
    /// Per output, its party: 0 for the payer (change), `k ≥ 1` for payee `k`. Payees are numbered
    /// in order of first appearance, so the grouping has exactly one encoding.
    pub parties: Vec<u8>,
    /// Per payee party (payee `k` at index `k − 1`), its tier.
    pub payee_tiers: Vec<u8>,
    /// Disclosures, by strictly increasing payee party.
    pub disclosures: Vec<Disclosure>,
}

/// A statement "these outputs together are worth at most `bound`".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The bound.
    pub bound: Amount,
    /// The outputs it covers.
    pub outputs: Vec<usize>,
}

/// What the builder needs to know to make the section: which keys are the payer's own (its spend
/// key and purse keys: outputs to them are change) and the tiers of the parties.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComplianceContext {
    /// The paying wallet's tier.
    pub payer_tier: u8,
    /// Keys of the payer's own account besides the input owners (purse keys, its spend key).
    pub own_keys: Vec<PublicKey>,
    /// The tier of each payee key (as the registry has it).
    pub payee_tiers: Vec<(PublicKey, u8)>,
}

impl Compliance {
    /// Number of payee parties.
    pub fn payees(&self) -> usize {
        self.payee_tiers.len()
    }

    /// Outputs of payee party `k` (1-based).
    pub fn outputs_of(&self, k: usize) -> Vec<usize> {
        self.parties
            .iter()
            .enumerate()
            .filter(|(_, p)| usize::from(**p) == k)
            .map(|(o, _)| o)
            .collect()
    }

    /// Canonical encoding.
    pub fn encode(&self, w: &mut Writer) {
        w.u8(self.payer_tier);
        w.u8(u8::try_from(self.parties.len()).unwrap_or(u8::MAX));
        for p in &self.parties {
            w.u8(*p);
        }
        w.u8(u8::try_from(self.payee_tiers.len()).unwrap_or(u8::MAX));
        for t in &self.payee_tiers {
            w.u8(*t);
        }
        w.u8(u8::try_from(self.disclosures.len()).unwrap_or(u8::MAX));
        for d in &self.disclosures {
            d.encode(w);
        }
    }

    /// How many bounds the transaction's range proof covers besides its outputs: the payer's and
    /// one per payee, none for a transfer to self.
    pub fn bound_count(&self) -> usize {
        match self.payees() {
            0 => 0,
            n => n + 1,
        }
    }

    /// Decodes, refusing anything non-canonical: the grouping must number payees in order of first
    /// appearance and use every payee, and disclosures must name distinct payees in increasing
    /// order.
    pub fn decode(r: &mut Reader<'_>, outputs: usize) -> Result<Self, DecodeError> {
        let payer_tier = r.u8("payer tier")?;
        let n = r.count("parties", MAX_OUTPUTS_CAP)?;
        if n != outputs {
            return Err(DecodeError::BadLength {
                field: "parties",
                len: n,
                expected: outputs.to_string(),
            });
        }
        let mut parties = Vec::with_capacity(n);
        let mut next = 1u8;
        for _ in 0..n {
            let p = r.u8("party")?;
            if p > next {
                return Err(DecodeError::Invalid {
                    field: "party",
                    reason: format!("payee {p} appears before payee {next}: payees are numbered in order of first appearance"),
                });
            }
            if p == next {
                next = next.saturating_add(1);
            }
            parties.push(p);
        }
        let payees = usize::from(next - 1);
        let nt = r.count("payee tiers", MAX_OUTPUTS_CAP)?;
        if nt != payees {
            return Err(DecodeError::BadLength {
                field: "payee tiers",
                len: nt,
                expected: payees.to_string(),
            });
        }
        let mut payee_tiers = Vec::with_capacity(nt);
        for _ in 0..nt {
            payee_tiers.push(r.u8("payee tier")?);
        }
        let nd = r.count("disclosures", payees)?;
        let mut disclosures: Vec<Disclosure> = Vec::with_capacity(nd);
        for _ in 0..nd {
            let d = Disclosure::decode(r)?;
            if d.party == 0
                || usize::from(d.party) > payees
                || disclosures.last().is_some_and(|p| p.party >= d.party)
            {
                return Err(DecodeError::Invalid {
                    field: "disclosure party",
                    reason: "disclosures must name distinct payees in increasing order".into(),
                });
            }
            disclosures.push(d);
        }
        Ok(Compliance {
            payer_tier,
            parties,
            payee_tiers,
            disclosures,
        })
    }

    /// Plans the section for outputs with the given owners and openings: groups outputs into
    /// parties, states the tiers, and decides which payees are disclosed (receipts at or above the
    /// threshold on a network with a regulator). Returns the section, still without its
    /// disclosures (they are bound to the body, which holds the range proof over the bounds), and
    /// the disclosed payees.
    pub fn plan(
        params: &NetworkParams,
        ctx: &ComplianceContext,
        owners: &[PublicKey],
        openings: &[Opening],
    ) -> Result<(Self, Vec<usize>), TxError> {
        let mut payee_keys: Vec<PublicKey> = Vec::new();
        let mut parties = Vec::with_capacity(owners.len());
        for owner in owners {
            if ctx.own_keys.contains(owner) {
                parties.push(0u8);
                continue;
            }
            let k = match payee_keys.iter().position(|p| p == owner) {
                Some(i) => i + 1,
                None => {
                    payee_keys.push(*owner);
                    payee_keys.len()
                }
            };
            parties.push(u8::try_from(k).map_err(|_| TxError::TooManyOutputs {
                count: k,
                limit: MAX_OUTPUTS_CAP,
            })?);
        }
        let mut payee_tiers = Vec::with_capacity(payee_keys.len());
        for (i, key) in payee_keys.iter().enumerate() {
            let tier = ctx
                .payee_tiers
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, t)| *t)
                .ok_or_else(|| TxError::WrongParties {
                    output: parties
                        .iter()
                        .position(|p| usize::from(*p) == i + 1)
                        .unwrap_or(0),
                    reason: "the payee's tier is unknown: it is not registered".into(),
                })?;
            payee_tiers.push(tier);
        }
        let section = Compliance {
            payer_tier: ctx.payer_tier,
            parties,
            payee_tiers,
            disclosures: Vec::new(),
        };
        check_tiers(&section, params)?;
        let mut disclosed = Vec::new();
        if let Some(rules) = &params.compliance {
            for k in 1..=section.payees() {
                let opening = sum_openings(openings, &section.outputs_of(k))?;
                if opening.amount >= rules.reporting_threshold {
                    disclosed.push(k);
                }
            }
        }
        Ok((section, disclosed))
    }

    /// The `(value, blinding)` of every bound's derived commitment `b·B − Σ C_o` (the slack under
    /// the bound), which the transaction's range proof covers after its outputs. Refuses in the
    /// clear a receipt over its bound ([`TxError::OverCap`]).
    pub fn bound_values(
        &self,
        params: &NetworkParams,
        disclosed: &[usize],
        openings: &[Opening],
    ) -> Result<Vec<(u64, Scalar)>, TxError> {
        bounds_with(self, params, disclosed)?
            .iter()
            .map(|b| {
                let opening = sum_openings(openings, &b.outputs)?;
                let slack = b
                    .bound
                    .checked_sub(opening.amount)
                    .map_err(|_| TxError::OverCap {
                        bound: b.bound.units(),
                    })?;
                Ok((slack.units(), -opening.blinding))
            })
            .collect()
    }

    /// Adds the disclosures of the payees `disclosed`, bound to the transaction body `body_id`.
    pub fn disclose<R: RngCore + CryptoRng>(
        &mut self,
        body_id: &Hash32,
        params: &NetworkParams,
        commitments: &[RistrettoPoint],
        openings: &[Opening],
        disclosed: &[usize],
        rng: &mut R,
    ) -> Result<(), TxError> {
        let Some(rules) = &params.compliance else {
            return Ok(());
        };
        for &k in disclosed {
            let outs = self.outputs_of(k);
            let opening = sum_openings(openings, &outs)?;
            let point: RistrettoPoint = outs.iter().map(|o| commitments[*o]).sum();
            let party = u8::try_from(k).unwrap_or(u8::MAX);
            self.disclosures.push(disclose(
                body_id,
                party,
                &point,
                &opening,
                &rules.regulator_key,
                rng,
            ));
        }
        Ok(())
    }

    /// Verifies the disclosures (the bounds are verified with the outputs, in the transaction's
    /// one range proof).
    pub fn verify(
        &self,
        body_id: &Hash32,
        params: &NetworkParams,
        commitments: &[RistrettoPoint],
    ) -> Result<(), TxError> {
        self.verify_disclosures(body_id, params, commitments)
    }

    /// Verifies the disclosures against the payees' summed commitments.
    pub fn verify_disclosures(
        &self,
        body_id: &Hash32,
        params: &NetworkParams,
        commitments: &[RistrettoPoint],
    ) -> Result<(), TxError> {
        if self.disclosures.is_empty() {
            return Ok(());
        }
        let Some(rules) = &params.compliance else {
            return Err(TxError::ComplianceNotAllowed);
        };
        let sums = party_commitments(self, commitments);
        for d in &self.disclosures {
            let party = usize::from(d.party);
            let point = sums.get(party).ok_or(TxError::BadDisclosure { party })?;
            if !d.verify(body_id, point, &rules.regulator_key) {
                return Err(TxError::BadDisclosure { party });
            }
        }
        Ok(())
    }

    /// The bounds' derived commitments `b·B − Σ C_o`: what the range proof covers after the
    /// outputs.
    pub fn bound_points(
        &self,
        params: &NetworkParams,
        commitments: &[RistrettoPoint],
    ) -> Result<Vec<RistrettoPoint>, TxError> {
        Ok(bounds(self, params)?
            .iter()
            .map(|b| derived_point(b, commitments))
            .collect())
    }
}

/// The sum of the openings of `outputs`.
fn sum_openings(openings: &[Opening], outputs: &[usize]) -> Result<Opening, TxError> {
    let amount = Amount::sum(outputs.iter().map(|o| openings[*o].amount))?;
    let blinding: Scalar = outputs.iter().map(|o| openings[*o].blinding).sum();
    Ok(Opening {
        amount,
        blinding,
        memo: Vec::new(),
    })
}

/// Every stated tier exists in the network's tier table.
fn check_tiers(section: &Compliance, params: &NetworkParams) -> Result<(), TxError> {
    for tier in std::iter::once(&section.payer_tier).chain(&section.payee_tiers) {
        if params.tier(*tier).is_none() {
            return Err(TxError::UnknownTier { tier: *tier });
        }
    }
    Ok(())
}

/// Per party (index 0 the payer's change, `k` payee `k`), the sum of its output commitments.
pub fn party_commitments(
    section: &Compliance,
    commitments: &[RistrettoPoint],
) -> Vec<RistrettoPoint> {
    let mut sums = vec![RistrettoPoint::identity(); section.payees() + 1];
    for (o, p) in section.parties.iter().enumerate() {
        if let (Some(sum), Some(c)) = (sums.get_mut(usize::from(*p)), commitments.get(o)) {
            *sum += c;
        }
    }
    sums
}

/// The bounds a transfer must prove, derived from the grouping, the stated tiers, the threshold
/// and which payees are disclosed: first the payer's tier cap over every payee output, then per
/// payee its tier cap (and, undisclosed on a network with a regulator, `threshold − 1`).
pub fn bounds(section: &Compliance, params: &NetworkParams) -> Result<Vec<Bound>, TxError> {
    let disclosed: Vec<usize> = section
        .disclosures
        .iter()
        .map(|d| usize::from(d.party))
        .collect();
    bounds_with(section, params, &disclosed)
}

/// [`bounds`] with the disclosed payees given (while building, before the disclosures exist).
fn bounds_with(
    section: &Compliance,
    params: &NetworkParams,
    disclosed: &[usize],
) -> Result<Vec<Bound>, TxError> {
    check_tiers(section, params)?;
    let payees = section.payees();
    if payees == 0 {
        return Ok(Vec::new());
    }
    let cap = |tier: u8| {
        params
            .tier(tier)
            .map(|t| t.max_payment)
            .ok_or(TxError::UnknownTier { tier })
    };
    let mut out = Vec::with_capacity(payees + 1);
    out.push(Bound {
        bound: cap(section.payer_tier)?,
        outputs: (0..section.parties.len())
            .filter(|o| section.parties[*o] != 0)
            .collect(),
    });
    for k in 1..=payees {
        let mut bound = cap(section.payee_tiers[k - 1])?;
        if let Some(rules) = &params.compliance {
            if !disclosed.contains(&k) {
                let under = rules
                    .reporting_threshold
                    .checked_sub(Amount::from_units(1)?)
                    .map_err(|_| TxError::MissingDisclosure { party: k })?;
                bound = bound.min(under);
            }
        }
        out.push(Bound {
            bound,
            outputs: section.outputs_of(k),
        });
    }
    Ok(out)
}

fn derived_point(bound: &Bound, commitments: &[RistrettoPoint]) -> RistrettoPoint {
    // `B` is the Ristretto base point (`pedersen_gens().B`): its precomputed table is about 3×
    // cheaper than a variable-base multiplication, on every bound the verifier derives.
    let b = &Scalar::from(bound.bound.units()) * RISTRETTO_BASEPOINT_TABLE;
    bound.outputs.iter().fold(b, |acc, o| {
        acc - commitments.get(*o).copied().unwrap_or_default()
    })
}

/// The tier with the lowest payment cap: what a payer states for a payee whose tier it cannot look
/// up (offline).
pub fn lowest_cap_tier(params: &NetworkParams) -> u8 {
    params
        .tiers
        .iter()
        .min_by_key(|t| t.max_payment)
        .map_or(0, |t| t.tier)
}

/// Checks the stated grouping and tiers against the registry, before any proof: every input
/// belongs to one account (the payer, [`TxError::MultiplePayers`]), an output is change (party 0)
/// exactly when its owner's account is the payer's, outputs of one payee share an account and
/// distinct payees are distinct accounts ([`TxError::WrongParties`]), and no stated tier has a
/// higher payment cap than the registered one ([`TxError::WrongTier`]). A stated tier with a lower
/// cap only tightens the bound: a payer offline, who cannot look its payee up, states the tier with
/// the lowest cap.
pub fn check_parties(
    params: &NetworkParams,
    section: &Compliance,
    input_accounts: &[Account],
    output_accounts: &[Account],
) -> Result<(), TxError> {
    let cap = |tier: u8| params.tier(tier).map(|t| t.max_payment);
    let within = |stated: u8, registered: u8| match (cap(stated), cap(registered)) {
        (Some(s), Some(r)) => s <= r,
        _ => false,
    };
    let Some(payer) = input_accounts.first() else {
        return Err(TxError::NoInputs { kind: "transfer" });
    };
    for (index, a) in input_accounts.iter().enumerate() {
        if a.key != payer.key {
            return Err(TxError::MultiplePayers { index });
        }
    }
    if !within(section.payer_tier, payer.tier) {
        return Err(TxError::WrongTier {
            party: "payer".into(),
            stated: section.payer_tier,
            registered: payer.tier,
        });
    }
    let mut payee_accounts: Vec<Option<Account>> = vec![None; section.payees()];
    for (output, (p, account)) in section.parties.iter().zip(output_accounts).enumerate() {
        let is_payer = account.key == payer.key;
        if (*p == 0) != is_payer {
            return Err(TxError::WrongParties {
                output,
                reason: if is_payer {
                    "the output goes back to the payer's account but is stated as a payment".into()
                } else {
                    "the output goes to another account but is stated as change".into()
                },
            });
        }
        if *p == 0 {
            continue;
        }
        let k = usize::from(*p);
        match payee_accounts.get_mut(k - 1) {
            Some(slot @ None) => *slot = Some(account.clone()),
            Some(Some(a)) if a.key == account.key => {}
            _ => {
                return Err(TxError::WrongParties {
                    output,
                    reason: format!("payee {k}'s outputs belong to different accounts"),
                })
            }
        }
    }
    for (i, a) in payee_accounts.iter().enumerate() {
        let Some(a) = a else { continue };
        if payee_accounts[..i].iter().flatten().any(|b| b.key == a.key) {
            return Err(TxError::WrongParties {
                output: section.outputs_of(i + 1).first().copied().unwrap_or(0),
                reason: "one account is split over two payees: its receipts must be summed".into(),
            });
        }
        if !within(section.payee_tiers[i], a.tier) {
            return Err(TxError::WrongTier {
                party: format!("payee {}", i + 1),
                stated: section.payee_tiers[i],
                registered: a.tier,
            });
        }
    }
    Ok(())
}
