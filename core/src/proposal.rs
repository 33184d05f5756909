//! What an operator approves: the outputs of an issue or redeem proposal, shown to every approver.
//!
//! An issuance's amounts are public by design (its total is the supply change), but how the total
//! splits between its outputs is hidden in the commitments: an approver who sees only the total
//! can be shown 100.00 and approve 0.01 to one wallet and 99.99 to another. So the proposing
//! operator discloses each output's opening (amount and blinding) with the proposal; the node
//! checks every one against its output's commitment ([`DisclosedOpening::matches`]) and refuses a
//! proposal whose openings are missing or do not open, and then shows every output's recipient and
//! amount ([`ProposalOutput`]) to every operator. Blindings stay on the node: the public listing
//! carries amounts only, so a note's opening never becomes public.

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::amount::Amount;
use crate::codec::decode_scalar;
use crate::error::DecodeError;
use crate::keys::PublicKey;
use crate::note::{Commitment, Hash32, Opening, Output};

/// The opening of one output, disclosed to the node and the operators with an issuance proposal.
/// Memos are not disclosed: they are the recipient's.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosedOpening {
    /// The amount committed to.
    pub amount: Amount,
    /// The commitment's blinding, 32 canonical little-endian bytes (hex in JSON).
    pub blinding: Hash32,
}

impl std::fmt::Debug for DisclosedOpening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The blinding is kept out of logs.
        write!(f, "DisclosedOpening({} units)", self.amount.units())
    }
}

impl DisclosedOpening {
    /// The disclosure of `opening` (without its memo).
    pub fn of(opening: &Opening) -> Self {
        DisclosedOpening {
            amount: opening.amount,
            blinding: Hash32(opening.blinding.to_bytes()),
        }
    }

    /// The commitment this disclosure opens; an error if the blinding is not a canonical scalar.
    pub fn commitment(&self) -> Result<Commitment, DecodeError> {
        let blinding = decode_scalar(self.blinding.0, "disclosed blinding")?;
        Ok(Commitment::commit(self.amount, &blinding))
    }

    /// Whether this disclosure opens `output`'s commitment.
    pub fn matches(&self, output: &Output) -> bool {
        self.commitment()
            .is_ok_and(|c| c.to_bytes() == output.commitment.to_bytes())
    }
}

/// The disclosures of `openings`, in order: what [`crate::api::OperatorAction::Propose`] carries for
/// an issuance built with [`crate::build`].
pub fn disclose(openings: &[Opening]) -> Vec<DisclosedOpening> {
    openings.iter().map(DisclosedOpening::of).collect()
}

/// One output of a proposal as every operator sees it before approving.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalOutput {
    /// Output index in the transaction.
    pub index: usize,
    /// The note's owner key (a wallet's spend key or its purse key).
    pub owner: PublicKey,
    /// The registered wallet behind the owner, if any.
    pub address: Option<Address>,
    /// That wallet's registry label.
    pub label: Option<String>,
    /// Whether that wallet is frozen now.
    pub frozen: bool,
    /// The amount: disclosed for an issuance, `None` (hidden) for a redemption's change.
    pub amount: Option<Amount>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{default_tiers, Limits, NetworkParams};
    use crate::{build, Payment, SigningKey, TxKind, WalletKeys};
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn disclosures_open_their_outputs_only() {
        let key = SigningKey::from_seed(&[1; 32]);
        let params = NetworkParams {
            network_id: 1,
            name: "test".into(),
            sandbox: true,
            currency: "DFC".into(),
            decimals: 2,
            issuers: vec![key.public().into()],
            threshold: 1,
            node_key: key.public(),
            limits: Limits::default(),
            tiers: default_tiers(),
            turnover_period_days: crate::params::DEFAULT_TURNOVER_PERIOD_DAYS,
            compliance: None,
            auditors: Vec::new(),
            tls_ca: None,
            genesis_hash: crate::note::Hash32([1; 32]),
        };
        let a = WalletKeys::from_seed(b"a").address(params.network_id);
        let b = WalletKeys::from_seed(b"b").address(params.network_id);
        let pay = |to, units| Payment {
            to,
            amount: Amount::from_units(units).expect("small"),
            memo: b"hidden".to_vec(),
        };
        let built = build(
            &params,
            TxKind::Issue,
            Amount::from_units(10_000).expect("small"),
            &[],
            &[pay(a, 1), pay(b, 9_999)],
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(7),
        )
        .expect("builds");
        let d = disclose(&built.openings);
        assert!(d[0].matches(&built.tx.outputs[0]) && d[1].matches(&built.tx.outputs[1]));
        assert!(
            !d[0].matches(&built.tx.outputs[1]),
            "openings are bound to their output"
        );
        let mut lie = d[0].clone();
        lie.amount = Amount::from_units(2).expect("small");
        assert!(
            !lie.matches(&built.tx.outputs[0]),
            "a different amount does not open"
        );
        let mut bad = d[0].clone();
        bad.blinding = Hash32([0xff; 32]);
        assert!(
            bad.commitment().is_err(),
            "a non-canonical blinding is refused"
        );
        assert!(!format!("{:?}", d[0]).contains(&hex::encode(d[0].blinding.0)));
    }
}
