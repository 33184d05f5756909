//! Offline payments: purse certificates, payment packets, and the checks a payee runs with no
//! network.
//!
//! While online, a wallet moves funds into notes owned by a *purse key* and asks the node for a
//! [`PurseCertificate`] (wallet, purse key, cap, tier, expiry) and a signed checkpoint with Merkle
//! proofs that the purse notes are unspent at its height. Offline, the payer hands the payee a
//! [`PaymentPacket`]: a complete signed transfer spending purse notes, the checkpoint, the proofs,
//! the certificate, and the purse's next counter value signed by the purse key. The payee checks it
//! all with [`verify_packet`] and its own [`AcceptPolicy`]. Settlement later commits the first spend
//! of a note; a second spend of the same note is caught there and the two signed transactions form
//! [`DoubleSpendEvidence`] naming the purse certificate, hence the wallet.

use merlin::Transcript;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::amount::Amount;
use crate::api::Checkpoint;
use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, TxError};
use crate::keys::{PublicKey, Signature, SigningKey, WalletKeys};
use crate::merkle::{leaf_hash, MerkleProof};
use crate::note::{Commitment, Hash32, NoteId, Opening, TxId};
use crate::params::NetworkParams;
use crate::transcript::TranscriptProtocol;
use crate::tx::{Transaction, TxKind};
use crate::validate::{check_structure, verify_crypto, InputNote};

/// Version byte of the packet encoding. `2`: the purse certificate names the co-signed
/// checkpoint it was issued under (version 1 is refused: [`DecodeError::RetiredPacketVersion`]).
pub const PACKET_VERSION: u8 = 2;
/// Prefix of a packet's text form.
pub const PACKET_TEXT_PREFIX: &str = "DFCPAY2:";
/// The text prefix of the retired format (base64 of a packet with a version-1 transaction).
pub const RETIRED_PACKET_TEXT_PREFIX: &str = "dfcpay1:";
/// Largest packet accepted, in bytes: one QR code (version 40, error correction L) holds 2,953.
pub const MAX_PACKET_BYTES: usize = 2_953;
/// Largest text form of a packet that one QR code holds: 4,296 characters in the QR code's
/// alphanumeric mode (version 40, L), which the text form (upper-case base32) stays inside.
pub const MAX_PACKET_TEXT_CHARS: usize = 4_296;

/// A node-signed statement that `purse` is `wallet`'s offline purse, up to `cap`, until
/// `expires_ms`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurseCertificate {
    /// Network.
    pub network: u32,
    /// The wallet's spend key (its identity in the registry).
    pub wallet: PublicKey,
    /// The purse key that owns the purse notes.
    pub purse: PublicKey,
    /// Most the purse may pay out offline, from the wallet's tier.
    pub cap: Amount,
    /// The wallet's tier when certified.
    pub tier: u8,
    /// Issue time, ms since the Unix epoch.
    pub issued_ms: u64,
    /// Expiry, ms since the Unix epoch: payees refuse packets under an expired certificate.
    pub expires_ms: u64,
    /// Node-assigned serial number.
    pub serial: u64,
    /// The newest checkpoint co-signed by k operators when the certificate was issued (none on a
    /// chain with no co-signed checkpoint yet): the certificate is of that chain, and a holder
    /// can check the named block against the operators' signatures (`dfc_core::cosign`).
    pub checkpoint: Option<CheckpointRef>,
    /// Node signature over [`PurseCertificate::signing_hash`].
    pub signature: Signature,
}

/// A co-signed checkpoint named by height and block hash.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointRef {
    /// Height of the checkpoint.
    pub height: u64,
    /// Its block hash.
    pub block_hash: Hash32,
}

impl PurseCertificate {
    /// What the node signs.
    #[allow(clippy::too_many_arguments)]
    pub fn signing_hash(
        network: u32,
        wallet: &PublicKey,
        purse: &PublicKey,
        cap: Amount,
        tier: u8,
        issued_ms: u64,
        expires_ms: u64,
        serial: u64,
        checkpoint: Option<&CheckpointRef>,
    ) -> Hash32 {
        // `v2`: binds the co-signed checkpoint the certificate names.
        let mut t = Transcript::new(b"dfc/purse-cert/v2");
        t.append_message(b"network", &network.to_le_bytes());
        t.append_message(b"wallet", &wallet.to_bytes());
        t.append_message(b"purse", &purse.to_bytes());
        t.append_u64_le(b"cap", cap.units());
        t.append_message(b"tier", &[tier]);
        t.append_u64_le(b"issued_ms", issued_ms);
        t.append_u64_le(b"expires_ms", expires_ms);
        t.append_u64_le(b"serial", serial);
        match checkpoint {
            None => t.append_message(b"checkpoint", &[0]),
            Some(c) => {
                t.append_message(b"checkpoint", &[1]);
                t.append_u64_le(b"checkpoint_height", c.height);
                t.append_message(b"checkpoint_block", &c.block_hash.0);
            }
        }
        Hash32(t.challenge_bytes32(b"cert"))
    }

    /// Issues a certificate signed by the node key.
    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        network: u32,
        wallet: PublicKey,
        purse: PublicKey,
        cap: Amount,
        tier: u8,
        issued_ms: u64,
        expires_ms: u64,
        serial: u64,
        checkpoint: Option<CheckpointRef>,
        node_key: &SigningKey,
    ) -> Self {
        let h = Self::signing_hash(
            network,
            &wallet,
            &purse,
            cap,
            tier,
            issued_ms,
            expires_ms,
            serial,
            checkpoint.as_ref(),
        );
        PurseCertificate {
            network,
            wallet,
            purse,
            cap,
            tier,
            issued_ms,
            expires_ms,
            serial,
            checkpoint,
            signature: node_key.sign(&h.0),
        }
    }

    /// Verifies the node's signature.
    pub fn verify(&self, node_key: &PublicKey) -> bool {
        let h = Self::signing_hash(
            self.network,
            &self.wallet,
            &self.purse,
            self.cap,
            self.tier,
            self.issued_ms,
            self.expires_ms,
            self.serial,
            self.checkpoint.as_ref(),
        );
        node_key.verify(&h.0, &self.signature)
    }

    fn encode(&self, w: &mut Writer) {
        w.u32(self.network);
        w.bytes(&self.wallet.to_bytes());
        w.bytes(&self.purse.to_bytes());
        w.u64(self.cap.units());
        w.u8(self.tier);
        w.u64(self.issued_ms);
        w.u64(self.expires_ms);
        w.u64(self.serial);
        match &self.checkpoint {
            None => w.u8(0),
            Some(c) => {
                w.u8(1);
                w.u64(c.height);
                w.bytes(&c.block_hash.0);
            }
        }
        w.bytes(&self.signature.to_bytes());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PurseCertificate {
            network: r.u32("certificate network")?,
            wallet: PublicKey::from_bytes(&r.array("certificate wallet")?)?,
            purse: PublicKey::from_bytes(&r.array("certificate purse")?)?,
            cap: Amount::from_units(r.u64("certificate cap")?).map_err(|source| {
                DecodeError::Amount {
                    field: "certificate cap",
                    source,
                }
            })?,
            tier: r.u8("certificate tier")?,
            issued_ms: r.u64("certificate issued")?,
            expires_ms: r.u64("certificate expiry")?,
            serial: r.u64("certificate serial")?,
            checkpoint: match r.u8("certificate checkpoint flag")? {
                0 => None,
                1 => Some(CheckpointRef {
                    height: r.u64("certificate checkpoint height")?,
                    block_hash: Hash32(r.array("certificate checkpoint block")?),
                }),
                other => {
                    return Err(DecodeError::Text {
                        field: "certificate checkpoint flag",
                        reason: format!("{other} is neither 0 (none) nor 1"),
                    })
                }
            },
            signature: Signature::from_bytes(&r.array("certificate signature")?)?,
        })
    }
}

/// An input of an offline payment with its proof of being unspent at the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputProof {
    /// The note's commitment.
    pub commitment: Commitment,
    /// Merkle proof of `(id, commitment, purse key)` under the checkpoint's ledger root.
    pub proof: MerkleProof,
}

/// A complete offline payment, exchanged as a file, a QR code or text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentPacket {
    /// The signed transfer spending purse notes.
    pub tx: Transaction,
    /// The node's signed checkpoint the proofs refer to.
    pub checkpoint: Checkpoint,
    /// The purse certificate.
    pub cert: PurseCertificate,
    /// One proof per input, in input order.
    pub inputs: Vec<InputProof>,
    /// The purse's counter: strictly increasing over the packets a purse makes.
    pub counter: u64,
    /// Purse-key signature over [`PaymentPacket::counter_hash`].
    pub counter_signature: Signature,
}

impl PaymentPacket {
    /// What the purse key signs: the transaction, the counter and the certificate serial.
    pub fn counter_hash(txid: &TxId, counter: u64, serial: u64) -> Hash32 {
        let mut t = Transcript::new(b"dfc/offline-counter/v1");
        t.append_message(b"txid", &txid.0);
        t.append_u64_le(b"counter", counter);
        t.append_u64_le(b"serial", serial);
        Hash32(t.challenge_bytes32(b"counter"))
    }

    /// Canonical binary encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(PACKET_VERSION);
        let tx = self.tx.encode();
        w.u16(u16::try_from(tx.len()).unwrap_or(u16::MAX));
        w.bytes(&tx);
        let c = &self.checkpoint;
        w.u32(c.network);
        w.u64(c.height);
        w.bytes(&c.block_hash.0);
        w.bytes(&c.ledger_root.0);
        w.u64(c.time_ms);
        w.bytes(&c.signature.to_bytes());
        self.cert.encode(&mut w);
        w.u8(u8::try_from(self.inputs.len()).unwrap_or(u8::MAX));
        for i in &self.inputs {
            w.bytes(&i.commitment.to_bytes());
            i.proof.encode(&mut w);
        }
        w.u64(self.counter);
        w.bytes(&self.counter_signature.to_bytes());
        w.finish()
    }

    /// Decodes the canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_PACKET_BYTES {
            return Err(DecodeError::TooLarge {
                size: bytes.len(),
                limit: MAX_PACKET_BYTES,
            });
        }
        let mut r = Reader::new(bytes);
        let version = r.u8("packet version")?;
        if version == 1 {
            return Err(DecodeError::RetiredPacketVersion(version));
        }
        if version != PACKET_VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let tx_len = usize::from(r.u16("packet transaction length")?);
        let tx = Transaction::decode(r.take(tx_len, "packet transaction")?)?;
        let checkpoint = Checkpoint {
            network: r.u32("checkpoint network")?,
            height: r.u64("checkpoint height")?,
            block_hash: Hash32(r.array("checkpoint block hash")?),
            ledger_root: Hash32(r.array("checkpoint root")?),
            time_ms: r.u64("checkpoint time")?,
            signature: Signature::from_bytes(&r.array("checkpoint signature")?)?,
        };
        let cert = PurseCertificate::decode(&mut r)?;
        let n = r.count("packet inputs", crate::params::MAX_INPUTS_CAP)?;
        let mut inputs = Vec::with_capacity(n);
        for _ in 0..n {
            let commitment = Commitment::from_bytes(&r.array("input commitment")?)?;
            let proof = MerkleProof::decode(&mut r)?;
            inputs.push(InputProof { commitment, proof });
        }
        let counter = r.u64("packet counter")?;
        let counter_signature = Signature::from_bytes(&r.array("counter signature")?)?;
        r.finish()?;
        Ok(PaymentPacket {
            tx,
            checkpoint,
            cert,
            inputs,
            counter,
            counter_signature,
        })
    }

    /// The copyable text form: `DFCPAY2:` and upper-case base32 of the encoding. Every character is
    /// in the QR code's alphanumeric set, so a whole packet of up to [`MAX_PACKET_BYTES`] fits
    /// one code ([`MAX_PACKET_TEXT_CHARS`]).
    pub fn to_text(&self) -> String {
        format!(
            "{PACKET_TEXT_PREFIX}{}",
            data_encoding::BASE32_NOPAD.encode(&self.encode())
        )
    }

    /// Parses the text form (either case); the retired `dfcpay1:` form is refused with a clear
    /// error.
    pub fn from_text(text: &str) -> Result<Self, DecodeError> {
        let text = text.trim();
        if text.starts_with(RETIRED_PACKET_TEXT_PREFIX) {
            return Err(DecodeError::Text {
                field: "payment packet",
                reason: format!(
                    "'{RETIRED_PACKET_TEXT_PREFIX}' packets are retired (their transactions are version 1); ask the payer for a new packet ('{PACKET_TEXT_PREFIX}')"
                ),
            });
        }
        let upper = text.to_ascii_uppercase();
        let body = upper
            .strip_prefix(PACKET_TEXT_PREFIX)
            .ok_or(DecodeError::Text {
                field: "payment packet",
                reason: format!("must start with '{PACKET_TEXT_PREFIX}'"),
            })?;
        let bytes = data_encoding::BASE32_NOPAD
            .decode(body.as_bytes())
            .map_err(|e| DecodeError::Text {
                field: "payment packet",
                reason: e.to_string(),
            })?;
        Self::decode(&bytes)
    }
}

/// Builds an offline payment packet from purse notes: the transfer (payments plus change back to
/// the purse), and the purse-key signature over the counter.
#[allow(clippy::too_many_arguments)]
pub fn make_packet<R: rand_core::RngCore + rand_core::CryptoRng>(
    params: &NetworkParams,
    cert: &PurseCertificate,
    checkpoint: &Checkpoint,
    inputs: &[(crate::builder::SpendInput, MerkleProof)],
    payments: &[crate::builder::Payment],
    counter: u64,
    purse_key: &SigningKey,
    rng: &mut R,
) -> Result<(PaymentPacket, crate::builder::Built), crate::error::BuildError> {
    let spends: Vec<crate::builder::SpendInput> = inputs.iter().map(|(s, _)| s.clone()).collect();
    // Offline, the payer cannot look its payees' tiers up: it states the tier with the lowest cap,
    // which the node accepts for any payee (a tighter bound). The payer's tier is the certificate's.
    let payee_tier = crate::compliance::lowest_cap_tier(params);
    let options = crate::builder::BuildOptions {
        compliance: Some(crate::compliance::ComplianceContext {
            payer_tier: cert.tier,
            own_keys: vec![cert.wallet, cert.purse],
            payee_tiers: payments.iter().map(|p| (p.to.spend, payee_tier)).collect(),
        }),
    };
    let built = crate::builder::build_with(
        params,
        TxKind::Transfer,
        Amount::ZERO,
        &spends,
        payments,
        &options,
        rng,
    )?;
    let txid = built.tx.id();
    let packet = PaymentPacket {
        tx: built.tx.clone(),
        checkpoint: checkpoint.clone(),
        cert: cert.clone(),
        inputs: inputs
            .iter()
            .map(|(s, p)| InputProof {
                commitment: s.opening.commitment(),
                proof: p.clone(),
            })
            .collect(),
        counter,
        counter_signature: purse_key
            .sign(&PaymentPacket::counter_hash(&txid, counter, cert.serial).0),
    };
    Ok((packet, built))
}

/// What a payee accepts offline: its own risk limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptPolicy {
    /// Most it accepts from one payer (purse) before settling.
    pub max_per_payer: Amount,
    /// Most it holds unsettled from everyone.
    pub max_unsettled: Amount,
    /// Oldest payer checkpoint it accepts, in ms.
    pub max_checkpoint_age_ms: u64,
}

impl Default for AcceptPolicy {
    fn default() -> Self {
        AcceptPolicy {
            max_per_payer: Amount::from_units(10_000).unwrap_or(Amount::ZERO),
            max_unsettled: Amount::from_units(50_000).unwrap_or(Amount::ZERO),
            max_checkpoint_age_ms: 7 * 24 * 3600 * 1000,
        }
    }
}

/// What the payee already holds unsettled, for the policy and replay checks.
pub trait PayeeBook {
    /// Total unsettled value accepted from everyone.
    fn unsettled_total(&self) -> Amount;
    /// Unsettled value accepted from this purse.
    fn unsettled_from(&self, purse: &PublicKey) -> Amount;
    /// Highest counter accepted from this purse.
    fn last_counter(&self, purse: &PublicKey) -> Option<u64>;
    /// Whether this transaction was already accepted.
    fn has_tx(&self, txid: &TxId) -> bool;
}

/// A packet the payee accepted: what it received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Transaction id.
    pub txid: TxId,
    /// Amount paid to the payee (sum of its outputs).
    pub amount: Amount,
    /// The paying wallet (from the certificate).
    pub payer_wallet: PublicKey,
    /// The paying purse.
    pub purse: PublicKey,
    /// The purse counter.
    pub counter: u64,
    /// The payee's notes: output index and opening.
    pub notes: Vec<(usize, Opening)>,
}

/// Why a payee refused a packet. Each says what a person at a market stall needs to hear.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OfflineError {
    /// Malformed packet.
    #[error("malformed packet: {0}")]
    Decode(#[from] DecodeError),
    /// The packet is for another network.
    #[error("packet is for network {got}, this wallet is on network {expected}")]
    WrongNetwork {
        /// Ours.
        expected: u32,
        /// The packet's.
        got: u32,
    },
    /// The certificate is not signed by this network's node.
    #[error("the purse certificate is not signed by the central bank's node key")]
    BadCertificate,
    /// The certificate expired.
    #[error("the purse certificate expired at {} (now {})", crate::time::utc_text(*expires_ms), crate::time::utc_text(*now_ms))]
    CertificateExpired {
        /// Expiry.
        expires_ms: u64,
        /// Now.
        now_ms: u64,
    },
    /// The checkpoint is not signed by this network's node.
    #[error("the checkpoint is not signed by the central bank's node key")]
    BadCheckpoint,
    /// The packet was built on a checkpoint the node signed after the certificate had expired:
    /// it was made with an expired certificate, so no payee could have accepted it in time.
    #[error("the packet's checkpoint was signed at {}, after its purse certificate expired at {}", crate::time::utc_text(*checkpoint_ms), crate::time::utc_text(*expires_ms))]
    CheckpointAfterExpiry {
        /// The checkpoint's time.
        checkpoint_ms: u64,
        /// The certificate's expiry.
        expires_ms: u64,
    },
    /// The checkpoint is older than the payee accepts.
    #[error("the payer's checkpoint is {age_ms} ms old, over the limit of {limit_ms} ms")]
    CheckpointTooOld {
        /// Age.
        age_ms: u64,
        /// Limit.
        limit_ms: u64,
    },
    /// The counter is not above the last one seen from this purse: a replayed or reordered packet.
    #[error(
        "counter {counter} is not above {last}, the last accepted from this purse: replayed packet"
    )]
    ReplayedCounter {
        /// This packet's counter.
        counter: u64,
        /// Last accepted.
        last: u64,
    },
    /// This exact payment was already accepted.
    #[error("this payment was already accepted")]
    AlreadyAccepted,
    /// The counter signature does not verify against the purse key.
    #[error("the purse counter is not signed by the purse key")]
    BadCounterSignature,
    /// An input is not a purse note of the certificate.
    #[error("input {index} is not owned by the certified purse")]
    NotPurseNote {
        /// Input index.
        index: usize,
    },
    /// Missing or extra input proofs.
    #[error("{have} input proofs for {need} inputs")]
    ProofCount {
        /// Proofs.
        have: usize,
        /// Inputs.
        need: usize,
    },
    /// An input is not proven unspent at the checkpoint.
    #[error("input {index} is not proven unspent at checkpoint height {height}")]
    BadInclusionProof {
        /// Input index.
        index: usize,
        /// Height.
        height: u64,
    },
    /// Nothing in the packet is paid to this wallet.
    #[error("the packet pays nothing to this wallet")]
    NotForUs,
    /// An output to us does not open.
    #[error("the payment to this wallet does not open: {0}")]
    BadOpening(String),
    /// The payment is over the certificate's cap.
    #[error("payment of {amount} minor units is over the purse cap of {cap}")]
    OverCap {
        /// Amount.
        amount: u64,
        /// Cap.
        cap: u64,
    },
    /// Over the payee's per-payer limit.
    #[error("accepting {amount} minor units would hold {would_hold} unsettled from this payer, over the limit of {limit}")]
    OverPerPayer {
        /// Amount.
        amount: u64,
        /// Total after.
        would_hold: u64,
        /// Limit.
        limit: u64,
    },
    /// Over the payee's total unsettled limit.
    #[error("accepting {amount} minor units would hold {would_hold} unsettled in all, over the limit of {limit}")]
    OverUnsettled {
        /// Amount.
        amount: u64,
        /// Total after.
        would_hold: u64,
        /// Limit.
        limit: u64,
    },
    /// Only transfers can be paid offline.
    #[error("only transfers can be paid offline")]
    NotATransfer,
    /// The transaction itself is invalid.
    #[error("the transaction is invalid: {0}")]
    Invalid(#[from] TxError),
}

/// Verifies a packet with no network, cheapest checks first, and returns what it pays `payee`.
/// Nothing is recorded: the caller stores the accepted packet in its book.
///
/// It runs [`precheck_packet`], then the signatures, inclusion proofs and openings, then
/// [`check_packet_amount`], then the transaction's own proofs ([`verify_crypto`]).
pub fn verify_packet(
    packet: &PaymentPacket,
    params: &NetworkParams,
    payee: &WalletKeys,
    policy: &AcceptPolicy,
    book: &impl PayeeBook,
    now_ms: u64,
) -> Result<Accepted, OfflineError> {
    let tx = &packet.tx;
    let cert = &packet.cert;
    let ours = precheck_packet(packet, params, &payee.spend.public(), policy, book, now_ms)?;
    let txid = tx.id();
    let inputs = verify_packet_signatures(packet, params)?;
    let mut notes = Vec::with_capacity(ours.len());
    let mut amount = Amount::ZERO;
    for i in ours {
        let opening = tx.outputs[i]
            .open(&payee.view)
            .map_err(|e| OfflineError::BadOpening(e.to_string()))?;
        amount = amount.checked_add(opening.amount).map_err(TxError::from)?;
        notes.push((i, opening));
    }
    check_packet_amount(cert, amount, policy, book)?;
    verify_crypto(tx, params, &inputs)?;
    Ok(Accepted {
        txid,
        amount,
        payer_wallet: cert.wallet,
        purse: cert.purse,
        counter: packet.counter,
        notes,
    })
}

/// The signature and proof checks of [`verify_packet`], cheapest first: the certificate's and the
/// checkpoint's node signatures, the purse key's counter signature, and each input's inclusion
/// proof under the checkpoint's ledger root. Returns the inputs as the proofs show them (note,
/// commitment, purse key), for the transaction's own verification. The caller has checked that
/// there is one proof per input.
pub fn verify_packet_signatures(
    packet: &PaymentPacket,
    params: &NetworkParams,
) -> Result<Vec<InputNote>, OfflineError> {
    let tx = &packet.tx;
    let cert = &packet.cert;
    let cp = &packet.checkpoint;
    if !cert.verify(&params.node_key) {
        return Err(OfflineError::BadCertificate);
    }
    if !cp.verify(&params.node_key) {
        return Err(OfflineError::BadCheckpoint);
    }
    if !cert.purse.verify(
        &PaymentPacket::counter_hash(&tx.id(), packet.counter, cert.serial).0,
        &packet.counter_signature,
    ) {
        return Err(OfflineError::BadCounterSignature);
    }
    let mut inputs = Vec::with_capacity(tx.inputs.len());
    for (index, (id, ip)) in tx.inputs.iter().zip(&packet.inputs).enumerate() {
        let leaf = leaf_hash(id, &ip.commitment, &cert.purse);
        if !ip.proof.verify(&leaf, &cp.ledger_root) {
            return Err(OfflineError::BadInclusionProof {
                index,
                height: cp.height,
            });
        }
        inputs.push(InputNote {
            id: *id,
            commitment: ip.commitment,
            owner: cert.purse,
        });
    }
    Ok(inputs)
}

/// The node's check of a packet at settlement, with the same code the payee ran: networks, kind,
/// one proof per input, the certificate's validity window, then [`verify_packet_signatures`].
///
/// The window is judged by the checkpoint, not by the settlement time: the checkpoint's node
/// signature dates it, and a packet can only be made after its checkpoint. A packet whose
/// checkpoint is dated after the certificate expired was made with an expired certificate and is
/// refused ([`OfflineError::CheckpointAfterExpiry`]); one made before expiry settles at any later
/// time, so an honest payee who accepted it while the certificate was valid never loses it to the
/// clock. Nothing here is payee-specific (policy, replay book, openings): those are the payee's.
pub fn verify_settlement(
    packet: &PaymentPacket,
    params: &NetworkParams,
) -> Result<(), OfflineError> {
    let tx = &packet.tx;
    let cert = &packet.cert;
    let cp = &packet.checkpoint;
    for got in [tx.network, cert.network, cp.network] {
        if got != params.network_id {
            return Err(OfflineError::WrongNetwork {
                expected: params.network_id,
                got,
            });
        }
    }
    if tx.kind != TxKind::Transfer {
        return Err(OfflineError::NotATransfer);
    }
    if packet.inputs.len() != tx.inputs.len() {
        return Err(OfflineError::ProofCount {
            have: packet.inputs.len(),
            need: tx.inputs.len(),
        });
    }
    if cp.time_ms > cert.expires_ms {
        return Err(OfflineError::CheckpointAfterExpiry {
            checkpoint_ms: cp.time_ms,
            expires_ms: cert.expires_ms,
        });
    }
    verify_packet_signatures(packet, params)?;
    Ok(())
}

/// The checks of [`verify_packet`] that need no cryptography and no opening, in the same order:
/// networks, kind, replay of the transaction, certificate expiry, checkpoint age, purse counter,
/// proof count, transaction structure, and that something is paid to `payee` (its spend key).
/// Returns the indices of the outputs paid to `payee`.
///
/// A simulator that keeps amounts in the clear runs this and [`check_packet_amount`] instead of
/// [`verify_packet`], so its offline acceptance follows the same policy code.
pub fn precheck_packet(
    packet: &PaymentPacket,
    params: &NetworkParams,
    payee: &PublicKey,
    policy: &AcceptPolicy,
    book: &impl PayeeBook,
    now_ms: u64,
) -> Result<Vec<usize>, OfflineError> {
    let tx = &packet.tx;
    let cert = &packet.cert;
    let cp = &packet.checkpoint;
    for got in [tx.network, cert.network, cp.network] {
        if got != params.network_id {
            return Err(OfflineError::WrongNetwork {
                expected: params.network_id,
                got,
            });
        }
    }
    if tx.kind != TxKind::Transfer {
        return Err(OfflineError::NotATransfer);
    }
    let txid = tx.id();
    if book.has_tx(&txid) {
        return Err(OfflineError::AlreadyAccepted);
    }
    if now_ms > cert.expires_ms {
        return Err(OfflineError::CertificateExpired {
            expires_ms: cert.expires_ms,
            now_ms,
        });
    }
    let age_ms = now_ms.saturating_sub(cp.time_ms);
    if age_ms > policy.max_checkpoint_age_ms {
        return Err(OfflineError::CheckpointTooOld {
            age_ms,
            limit_ms: policy.max_checkpoint_age_ms,
        });
    }
    if let Some(last) = book.last_counter(&cert.purse) {
        if packet.counter <= last {
            return Err(OfflineError::ReplayedCounter {
                counter: packet.counter,
                last,
            });
        }
    }
    if packet.inputs.len() != tx.inputs.len() {
        return Err(OfflineError::ProofCount {
            have: packet.inputs.len(),
            need: tx.inputs.len(),
        });
    }
    check_structure(tx, params)?;
    let ours: Vec<usize> = tx
        .outputs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.owner == *payee)
        .map(|(i, _)| i)
        .collect();
    if ours.is_empty() {
        return Err(OfflineError::NotForUs);
    }
    Ok(ours)
}

/// The amount checks of [`verify_packet`], in its order: the certificate's cap, the payee's
/// per-payer limit, then its total unsettled limit.
pub fn check_packet_amount(
    cert: &PurseCertificate,
    amount: Amount,
    policy: &AcceptPolicy,
    book: &impl PayeeBook,
) -> Result<(), OfflineError> {
    if amount > cert.cap {
        return Err(OfflineError::OverCap {
            amount: amount.units(),
            cap: cert.cap.units(),
        });
    }
    let from_payer = book
        .unsettled_from(&cert.purse)
        .checked_add(amount)
        .map_err(TxError::from)?;
    if from_payer > policy.max_per_payer {
        return Err(OfflineError::OverPerPayer {
            amount: amount.units(),
            would_hold: from_payer.units(),
            limit: policy.max_per_payer.units(),
        });
    }
    let total = book
        .unsettled_total()
        .checked_add(amount)
        .map_err(TxError::from)?;
    if total > policy.max_unsettled {
        return Err(OfflineError::OverUnsettled {
            amount: amount.units(),
            would_hold: total.units(),
            limit: policy.max_unsettled.units(),
        });
    }
    Ok(())
}

/// Two different transactions, each signed by the purse key, spending the same purse note: proof
/// that the certificate's wallet double-spent offline.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoubleSpendEvidence {
    /// The note spent twice.
    pub note: NoteId,
    /// The transaction the ledger committed.
    pub committed: Transaction,
    /// The conflicting transaction refused at settlement.
    pub conflicting: Transaction,
    /// The certificate naming the wallet behind the purse.
    pub cert: PurseCertificate,
}

/// Why evidence does not stand.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EvidenceError {
    /// The two transactions are the same.
    #[error("the two transactions are the same")]
    SameTransaction,
    /// A transaction does not spend the note.
    #[error("the {which} transaction does not spend the note")]
    NoteNotSpent {
        /// Which one.
        which: &'static str,
    },
    /// A transaction's spend of the note is not signed by the purse key.
    #[error("the {which} transaction's spend is not signed by the certified purse key")]
    NotSignedByPurse {
        /// Which one.
        which: &'static str,
    },
    /// The certificate is not the node's.
    #[error("the certificate is not signed by the node")]
    BadCertificate,
}

impl DoubleSpendEvidence {
    /// Checks the evidence: anyone with the node key can, so an accusation is verifiable.
    pub fn verify(&self, node_key: &PublicKey) -> Result<(), EvidenceError> {
        if !self.cert.verify(node_key) {
            return Err(EvidenceError::BadCertificate);
        }
        let a = self.committed.id();
        let b = self.conflicting.id();
        if a == b {
            return Err(EvidenceError::SameTransaction);
        }
        for (which, tx, txid) in [
            ("committed", &self.committed, a),
            ("conflicting", &self.conflicting, b),
        ] {
            let pos = tx
                .inputs
                .iter()
                .position(|i| *i == self.note)
                .ok_or(EvidenceError::NoteNotSpent { which })?;
            let sig = tx
                .owner_signatures
                .get(pos)
                .ok_or(EvidenceError::NotSignedByPurse { which })?;
            if !self.cert.purse.verify(&txid.0, sig) {
                return Err(EvidenceError::NotSignedByPurse { which });
            }
        }
        Ok(())
    }
}
