//! Transactions: the three kinds, their canonical encoding and their identifiers.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::balance::BalanceProof;
use crate::claim::ClaimSection;
use crate::codec::{Reader, Writer};
use crate::compliance::Compliance;
use crate::error::DecodeError;
use crate::keys::{Signature, SigningKey};
use crate::note::{note_id, Commitment, Hash32, NoteId, Output, TxId};
use crate::params::{MAX_INPUTS_CAP, MAX_ISSUERS_CAP, MAX_OUTPUTS_CAP, MAX_TX_BYTES_CAP};
use crate::range;
use crate::transcript::{
    hash32, TranscriptProtocol, RANGE_DOMAIN, TX_DOMAIN, TX_FLOWS_DOMAIN, WTXID_DOMAIN,
};

/// Version byte of the transaction encoding: version 3 binds the genesis hash, carries the flow
/// section on every transfer and knows claims. Versions 1 and 2 are retired and refused with
/// [`DecodeError::RetiredVersion`].
pub const TX_VERSION: u8 = 3;

/// What a transaction does to the supply.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// New money: no inputs, a public amount, authorised by k of the n issuers.
    Issue,
    /// A payment: inputs to outputs, every amount hidden.
    Transfer,
    /// Money leaving circulation: inputs to a public amount plus hidden change, authorised by the
    /// owners and by k of the n issuers.
    Redeem,
    /// Pending notes taken into their owner's balance within its holding and turnover limits
    /// ([`crate::claim`]); moves no value.
    Claim,
}

impl TxKind {
    /// The encoding byte.
    pub fn code(self) -> u8 {
        match self {
            TxKind::Issue => 0,
            TxKind::Transfer => 1,
            TxKind::Redeem => 2,
            TxKind::Claim => 3,
        }
    }
    /// From the encoding byte.
    pub fn from_code(code: u8) -> Result<Self, DecodeError> {
        match code {
            0 => Ok(TxKind::Issue),
            1 => Ok(TxKind::Transfer),
            2 => Ok(TxKind::Redeem),
            3 => Ok(TxKind::Claim),
            other => Err(DecodeError::UnknownKind(other)),
        }
    }
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            TxKind::Issue => "issue",
            TxKind::Transfer => "transfer",
            TxKind::Redeem => "redeem",
            TxKind::Claim => "claim",
        }
    }
    /// Whether the kind carries a public amount and needs issuer signatures.
    pub fn is_public(self) -> bool {
        matches!(self, TxKind::Issue | TxKind::Redeem)
    }
}

/// A signature by issuer key number `index` of the network parameters.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerSignature {
    /// Index into `NetworkParams::issuers`.
    pub index: u8,
    /// Signature over the transaction id.
    pub signature: Signature,
}

/// A transaction. Its id ([`Transaction::id`]) covers everything but the balance proof and the
/// signatures, which in turn sign or are bound to that id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    /// Network the transaction is for.
    pub network: u32,
    /// Genesis hash of the ledger the transaction is for: with `network`, its replay domain.
    pub genesis: Hash32,
    /// Kind.
    pub kind: TxKind,
    /// Issued or redeemed amount; zero for transfers (and then not encoded).
    pub public_amount: Amount,
    /// Notes spent.
    pub inputs: Vec<NoteId>,
    /// Notes created.
    pub outputs: Vec<Output>,
    /// One aggregated 64-bit range proof over all output commitments (and a transfer's bounds);
    /// when decoded, with its points kept for the verifier ([`range::RangeProofBytes`]).
    pub range_proof: range::RangeProofBytes,
    /// Proof that inputs balance outputs plus public amounts.
    pub balance_proof: BalanceProof,
    /// One owner signature per input, in input order.
    pub owner_signatures: Vec<Signature>,
    /// Issuer signatures, by strictly increasing key index.
    pub issuer_signatures: Vec<IssuerSignature>,
    /// The flow section (parties, tiers, disclosures; its bounds are in the range proof): on every transfer, on no
    /// other kind.
    pub compliance: Option<Compliance>,
    /// The claim section: on claims only.
    pub claim: Option<ClaimSection>,
}

impl Transaction {
    /// The transaction id: a transcript hash of network, genesis hash, kind, public amount, inputs,
    /// outputs, the range proof, the claim section and the flow section. Owner and issuer
    /// signatures sign this id.
    pub fn id(&self) -> TxId {
        let body = self.body_id();
        match &self.compliance {
            None => body,
            Some(c) => {
                let mut w = Writer::new();
                c.encode(&mut w);
                Hash32(hash32(
                    TX_FLOWS_DOMAIN,
                    &[(b"body", &body.0), (b"compliance", &w.finish())],
                ))
            }
        }
    }

    /// The hash of the body without the flow section: what the flow proofs are bound to. For a
    /// transaction without a flow section it is the id.
    pub fn body_id(&self) -> TxId {
        let mut t = Transcript::new(TX_DOMAIN);
        t.append_message(b"network", &self.network.to_le_bytes());
        t.append_message(b"genesis", &self.genesis.0);
        t.append_message(b"kind", &[self.kind.code()]);
        t.append_u64_le(b"public_amount", self.public_amount.units());
        t.append_u64_le(b"n_inputs", self.inputs.len() as u64);
        for input in &self.inputs {
            t.append_message(b"input", &input.0);
        }
        t.append_u64_le(b"n_outputs", self.outputs.len() as u64);
        for o in &self.outputs {
            t.append_point(b"commitment", o.commitment.compressed());
            t.append_point(b"owner", o.owner.compressed());
            t.append_point(b"ephemeral", o.ephemeral.compressed());
            t.append_message(b"opening", &o.encrypted_opening);
        }
        t.append_message(b"range_proof", &self.range_proof);
        if let Some(c) = &self.claim {
            let mut w = Writer::new();
            c.encode(&mut w);
            t.append_message(b"claim", &w.finish());
        }
        Hash32(t.challenge_bytes32(b"txid"))
    }

    /// Hash of the whole encoding, proofs and signatures included: what a block commits to.
    pub fn full_hash(&self) -> Hash32 {
        Hash32(hash32(WTXID_DOMAIN, &[(b"tx", &self.encode())]))
    }

    /// Ids of the notes this transaction creates.
    pub fn output_ids(&self) -> Vec<NoteId> {
        let id = self.id();
        (0..self.outputs.len()).map(|i| note_id(&id, i)).collect()
    }

    /// The output commitments.
    pub fn commitments(&self) -> Vec<Commitment> {
        self.outputs.iter().map(|o| o.commitment).collect()
    }

    /// The excess `ΣC_out − ΣC_in − (issued − redeemed)·B`, given the input commitments.
    pub fn excess(&self, inputs: &[Commitment]) -> RistrettoPoint {
        let out: RistrettoPoint = self.outputs.iter().map(|o| o.commitment.point()).sum();
        let inp: RistrettoPoint = inputs.iter().map(|c| c.point()).sum();
        // `B` is the Ristretto base point: its precomputed table makes this about 3× cheaper than
        // a variable-base multiplication (one per issue or redemption, in every audit).
        let public = &Scalar::from(self.public_amount.units()) * RISTRETTO_BASEPOINT_TABLE;
        match self.kind {
            TxKind::Issue => out - inp - public,
            TxKind::Transfer => out - inp,
            TxKind::Redeem => out - inp + public,
            TxKind::Claim => out - inp,
        }
    }

    /// The points the range proof covers: the output commitments and, for a transfer, its bounds'
    /// derived commitments (`dfc_core::compliance`), in that order.
    pub fn range_points(
        &self,
        params: &crate::params::NetworkParams,
    ) -> Result<Vec<RistrettoPoint>, crate::error::TxError> {
        let outputs: Vec<RistrettoPoint> =
            self.outputs.iter().map(|o| *o.commitment.point()).collect();
        let mut points = outputs.clone();
        if let Some(section) = &self.compliance {
            points.extend(section.bound_points(params, &outputs)?);
        }
        Ok(points)
    }

    /// The range-proof transcript, bound to the network, kind, public amount, inputs and outputs,
    /// so a proof cannot be moved into another transaction.
    pub fn range_transcript(&self) -> Transcript {
        let mut t = Transcript::new(RANGE_DOMAIN);
        t.append_message(b"network", &self.network.to_le_bytes());
        t.append_message(b"genesis", &self.genesis.0);
        t.append_message(b"kind", &[self.kind.code()]);
        t.append_u64_le(b"public_amount", self.public_amount.units());
        for input in &self.inputs {
            t.append_message(b"input", &input.0);
        }
        for o in &self.outputs {
            t.append_point(b"commitment", o.commitment.compressed());
            t.append_point(b"owner", o.owner.compressed());
        }
        t
    }

    /// Adds issuer `index`'s signature, keeping signatures ordered by index; replaces an earlier
    /// signature by the same key.
    pub fn sign_as_issuer(&mut self, index: u8, key: &SigningKey) {
        let signature = key.sign(&self.id().0);
        self.add_issuer_signature(IssuerSignature { index, signature });
    }

    /// Inserts an issuer signature made elsewhere (ordered by index, one per key).
    pub fn add_issuer_signature(&mut self, sig: IssuerSignature) {
        self.issuer_signatures.retain(|s| s.index != sig.index);
        let pos = self
            .issuer_signatures
            .iter()
            .position(|s| s.index > sig.index)
            .unwrap_or(self.issuer_signatures.len());
        self.issuer_signatures.insert(pos, sig);
    }

    /// The canonical binary encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(TX_VERSION);
        w.u32(self.network);
        w.bytes(&self.genesis.0);
        w.u8(self.kind.code());
        if self.kind.is_public() {
            w.u64(self.public_amount.units());
        }
        w.u8(u8::try_from(self.inputs.len()).unwrap_or(u8::MAX));
        for i in &self.inputs {
            w.bytes(&i.0);
        }
        w.u8(u8::try_from(self.outputs.len()).unwrap_or(u8::MAX));
        for o in &self.outputs {
            o.encode(&mut w);
        }
        if let Some(c) = &self.compliance {
            c.encode(&mut w);
        }
        w.u16(u16::try_from(self.range_proof.len()).unwrap_or(u16::MAX));
        w.bytes(&self.range_proof);
        if let Some(c) = &self.claim {
            c.encode(&mut w);
        }
        self.balance_proof.encode(&mut w);
        w.u8(u8::try_from(self.owner_signatures.len()).unwrap_or(u8::MAX));
        for s in &self.owner_signatures {
            w.bytes(&s.to_bytes());
        }
        w.u8(u8::try_from(self.issuer_signatures.len()).unwrap_or(u8::MAX));
        for s in &self.issuer_signatures {
            w.u8(s.index);
            w.bytes(&s.signature.to_bytes());
        }
        w.finish()
    }

    /// Decodes the canonical encoding, refusing non-canonical points and scalars, identity points,
    /// unknown versions and kinds, counts over the protocol caps, and trailing bytes. No proof is
    /// verified here.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_TX_BYTES_CAP {
            return Err(DecodeError::TooLarge {
                size: bytes.len(),
                limit: MAX_TX_BYTES_CAP,
            });
        }
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version == 1 || version == 2 {
            return Err(DecodeError::RetiredVersion(version));
        }
        if version != TX_VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let network = r.u32("network")?;
        let genesis = Hash32(r.array("genesis hash")?);
        let kind = TxKind::from_code(r.u8("kind")?)?;
        let public_amount = if kind.is_public() {
            Amount::from_units(r.u64("public amount")?).map_err(|source| DecodeError::Amount {
                field: "public amount",
                source,
            })?
        } else {
            Amount::ZERO
        };
        let n_in = r.count("inputs", MAX_INPUTS_CAP)?;
        let mut inputs = Vec::with_capacity(n_in);
        for _ in 0..n_in {
            inputs.push(Hash32(r.array("input")?));
        }
        let n_out = r.count("outputs", MAX_OUTPUTS_CAP)?;
        let mut outputs = Vec::with_capacity(n_out);
        for _ in 0..n_out {
            outputs.push(Output::decode(&mut r)?);
        }
        let compliance = if kind == TxKind::Transfer {
            Some(Compliance::decode(&mut r, n_out)?)
        } else {
            None
        };
        // A transfer's one range proof covers its outputs and then its bounds.
        let values = n_out + compliance.as_ref().map_or(0, Compliance::bound_count);
        let proof_len = usize::from(r.u16("range proof length")?);
        let proof_bytes = r.take(proof_len, "range proof")?;
        let range_proof = if values > 0 {
            // Every point is decompressed here anyway: kept, so the verifier need not again.
            let points = range::decode_points_bits(proof_bytes, values, range::RANGE_BITS)?;
            range::RangeProofBytes::decoded(proof_bytes.to_vec(), points)
        } else if !proof_bytes.is_empty() {
            return Err(DecodeError::BadLength {
                field: "range proof",
                len: proof_bytes.len(),
                expected: "0 for a transaction without outputs".into(),
            });
        } else {
            range::RangeProofBytes::default()
        };
        let claim = if kind == TxKind::Claim {
            Some(ClaimSection::decode(&mut r)?)
        } else {
            None
        };
        let balance_proof = BalanceProof::decode(&mut r)?;
        let n_sig = r.count("owner signatures", MAX_INPUTS_CAP)?;
        let mut owner_signatures = Vec::with_capacity(n_sig);
        for _ in 0..n_sig {
            owner_signatures.push(Signature::from_bytes(&r.array("owner signature")?)?);
        }
        let n_iss = r.count("issuer signatures", MAX_ISSUERS_CAP)?;
        let mut issuer_signatures = Vec::with_capacity(n_iss);
        for _ in 0..n_iss {
            let index = r.u8("issuer index")?;
            let signature = Signature::from_bytes(&r.array("issuer signature")?)?;
            issuer_signatures.push(IssuerSignature { index, signature });
        }
        r.finish()?;
        Ok(Transaction {
            network,
            genesis,
            kind,
            public_amount,
            inputs,
            outputs,
            range_proof,
            balance_proof,
            owner_signatures,
            issuer_signatures,
            compliance,
            claim,
        })
    }

    /// Lower-case hex of the canonical encoding.
    pub fn to_hex(&self) -> String {
        hex::encode(self.encode())
    }

    /// Decodes from hex of the canonical encoding.
    pub fn from_hex(text: &str) -> Result<Self, DecodeError> {
        let bytes = hex::decode(text.trim()).map_err(|e| DecodeError::Text {
            field: "transaction",
            reason: e.to_string(),
        })?;
        Self::decode(&bytes)
    }
}

impl Serialize for Transaction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Transaction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Transaction::from_hex(&text).map_err(serde::de::Error::custom)
    }
}
