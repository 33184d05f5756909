//! Encoded sizes for the `scale` fidelity, which builds no transactions: a transaction's size
//! depends only on its shape (how many inputs under which key, which outputs to whom), so each
//! shape is built once, as `fast` builds it, and its sizes are remembered.

use std::collections::HashMap;

use dfc_core::{Amount, Hash32, MemoryLedger, Opening, Payment, SpendInput, TxKind, WalletKeys};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::engine::SimError;
use crate::proto::{nominal_proof, Protocol};

/// Whom an output pays, seen from the payer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Role {
    /// The payee's address.
    Payee,
    /// The payment scheme's address (a fee).
    Scheme,
    /// The payer's own address (change of an online payment or a purse funding).
    PayerAddress,
    /// The payer's purse address (purse funding, change of an offline payment).
    PayerPurse,
}

/// A transaction's shape: inputs spent with the wallet key, inputs spent with the purse key,
/// and the outputs in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Shape {
    pub(super) spend_inputs: usize,
    pub(super) purse_inputs: usize,
    pub(super) outputs: Vec<Role>,
    /// An offline packet (purse inputs only).
    pub(super) packet: bool,
}

/// Sizes of one shape, bytes.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sizes {
    /// The encoded transaction.
    pub(super) tx: usize,
    /// Its range proof.
    pub(super) range_proof: usize,
    /// The encoded packet with Merkle proofs of depth 0 (add 32 bytes per input and level).
    pub(super) packet_base: usize,
}

/// Sizes by shape, built on first use.
pub(super) struct SizeOracle {
    payer: WalletKeys,
    payee: WalletKeys,
    scheme: WalletKeys,
    known: HashMap<Shape, Sizes>,
}

impl SizeOracle {
    pub(super) fn new() -> Self {
        SizeOracle {
            payer: WalletKeys::from_seed(b"dfc-sims/scale/payer"),
            payee: WalletKeys::from_seed(b"dfc-sims/scale/payee"),
            scheme: WalletKeys::from_seed(b"dfc-sims/scale/scheme"),
            known: HashMap::new(),
        }
    }

    /// The sizes of `shape` as the `fast` fidelity's builder makes them.
    pub(super) fn sizes(&mut self, proto: &Protocol, shape: &Shape) -> Result<Sizes, SimError> {
        if let Some(s) = self.known.get(shape) {
            return Ok(*s);
        }
        let s = self.build(proto, shape)?;
        self.known.insert(shape.clone(), s);
        Ok(s)
    }

    fn build(&self, proto: &Protocol, shape: &Shape) -> Result<Sizes, SimError> {
        let net = proto.params.network_id;
        let mut rng = ChaCha20Rng::seed_from_u64(0x5ca1e);
        let n_in = shape.spend_inputs + shape.purse_inputs;
        let n_out = shape.outputs.len();
        let units = |u: usize| {
            Amount::from_units(u64::try_from(u).unwrap_or(1)).map_err(dfc_core::BuildError::from)
        };
        let purse_key = self.payer.purse_key(0);
        let mut inputs = Vec::new();
        for k in 0..n_in {
            let key = if k < shape.spend_inputs {
                self.payer.spend.clone()
            } else {
                purse_key.clone()
            };
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&(k as u64 + 1).to_le_bytes());
            inputs.push(SpendInput {
                id: Hash32(id),
                opening: Opening::random(units(n_out.max(1))?, Vec::new(), &mut rng),
                key,
            });
        }
        let payments: Vec<Payment> = shape
            .outputs
            .iter()
            .map(|r| {
                Ok(Payment {
                    to: match r {
                        Role::Payee => self.payee.address(net),
                        Role::Scheme => self.scheme.address(net),
                        Role::PayerAddress => self.payer.address(net),
                        Role::PayerPurse => self.payer.purse_address(net, 0),
                    },
                    amount: units(n_in.max(1))?,
                    memo: Vec::new(),
                })
            })
            .collect::<Result<_, dfc_core::BuildError>>()?;
        if !shape.packet {
            let (built, _) =
                proto.build(TxKind::Transfer, Amount::ZERO, &inputs, &payments, &mut rng)?;
            return Ok(Sizes {
                tx: built.tx.encode().len(),
                range_proof: built.tx.range_proof.len(),
                packet_base: 0,
            });
        }
        let cert = proto.certify(&self.payer, &purse_key, Amount::ZERO, 0, 0, 1, 1);
        let ledger = MemoryLedger::new(proto.params.clone());
        let (cp, _) = proto.checkpoint(&ledger, 0, 0);
        let with_proofs: Vec<_> = inputs.into_iter().map(|i| (i, nominal_proof(1))).collect();
        let (packet, built, _) =
            proto.make_packet(&cert, &cp, &with_proofs, &payments, 1, &purse_key, &mut rng)?;
        Ok(Sizes {
            tx: built.tx.encode().len(),
            range_proof: built.tx.range_proof.len(),
            packet_base: packet.encode().len(),
        })
    }
}
