//! Typed errors: every rejection names what was wrong and, where there is one, the limit it broke.

use thiserror::Error;

/// Errors from amount parsing and arithmetic.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AmountError {
    /// The amount is larger than the maximum supply the protocol allows.
    #[error("amount of {units} minor units is above the maximum supply")]
    AboveMaxSupply {
        /// The amount asked for.
        units: u64,
    },
    /// A sum went above the maximum supply.
    #[error("amount overflow: the result would exceed the maximum supply")]
    Overflow,
    /// A difference went below zero.
    #[error("amount underflow: the result would be negative")]
    Underflow,
    /// The text is not a plain decimal number.
    #[error("'{text}' is not an amount: use digits with an optional decimal point, e.g. 12.50 or 1,000.00")]
    Malformed {
        /// The text given.
        text: String,
    },
    /// The text has more fractional digits than the currency.
    #[error("'{text}' has more than {decimals} decimals")]
    TooManyDecimals {
        /// The text given.
        text: String,
        /// Decimals of the currency.
        decimals: u8,
    },
}

/// Errors from decoding the canonical binary encoding. Raised before any proof is looked at.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended while reading a field.
    #[error("truncated input while reading {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// Bytes were left after the value ended.
    #[error("{count} trailing bytes after the encoded value")]
    TrailingBytes {
        /// How many bytes were left.
        count: usize,
    },
    /// A 32-byte field is not the canonical encoding of a Ristretto point.
    #[error("{field} is not a canonical Ristretto point")]
    NonCanonicalPoint {
        /// The field.
        field: &'static str,
    },
    /// A point field holds the identity, which has no place in a commitment or key.
    #[error("{field} is the identity point")]
    IdentityPoint {
        /// The field.
        field: &'static str,
    },
    /// A 32-byte field is not a usable Ed25519 public key: not a point, or of small order.
    #[error("{field} is not a valid Ed25519 public key (not a curve point, or of small order)")]
    BadEd25519Key {
        /// The field.
        field: &'static str,
    },
    /// A 32-byte field is not a canonical scalar (reduced modulo the group order).
    #[error("{field} is not a canonical scalar")]
    NonCanonicalScalar {
        /// The field.
        field: &'static str,
    },
    /// A signature is not a well-formed Schnorr signature encoding.
    #[error("{field} is not a well-formed signature")]
    MalformedSignature {
        /// The field.
        field: &'static str,
    },
    /// The encoding version is not one this software reads.
    #[error("unknown encoding version {0}")]
    UnknownVersion(u8),
    /// A retired encoding version: it does not bind the genesis hash or per-party flows.
    #[error("transaction format version {0} is retired: version 3 binds the ledger's genesis hash and sums caps per party; rebuild the transaction with a current wallet")]
    RetiredVersion(u8),
    /// A retired offline packet version: its purse certificate names no co-signed checkpoint.
    #[error("offline packet version {0} is retired: version 2 purse certificates name the co-signed checkpoint they were issued under; ask the payer for a new packet")]
    RetiredPacketVersion(u8),
    /// The transaction kind byte is not a known kind.
    #[error("unknown transaction kind {0}")]
    UnknownKind(u8),
    /// A count is over its limit.
    #[error("{field}: {count} is over the limit of {limit}")]
    TooMany {
        /// The field.
        field: &'static str,
        /// The count found.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The encoding is longer than allowed.
    #[error("encoded size of {size} bytes is over the limit of {limit}")]
    TooLarge {
        /// Size found.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A field has a length that is not allowed.
    #[error("{field} has length {len}, expected {expected}")]
    BadLength {
        /// The field.
        field: &'static str,
        /// Length found.
        len: usize,
        /// What was expected.
        expected: String,
    },
    /// A field has a value that is not allowed.
    #[error("{field} is invalid: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// An amount field is out of range.
    #[error("{field}: {source}")]
    Amount {
        /// The field.
        field: &'static str,
        /// The amount error.
        source: AmountError,
    },
    /// Text encoding (hex, bech32) is malformed.
    #[error("{field}: {reason}")]
    Text {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

/// Why a transaction was rejected. One variant per rule; see `docs/protocol.md`.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TxError {
    /// The encoding is malformed or over a limit.
    #[error("malformed transaction: {0}")]
    Decode(#[from] DecodeError),
    /// The transaction was made for another network.
    #[error("transaction is for network {got}, this is network {expected}")]
    WrongNetwork {
        /// This network.
        expected: u32,
        /// The transaction's network.
        got: u32,
    },
    /// Every transaction must create at least one output.
    #[error("transaction has no outputs")]
    NoOutputs,
    /// Transfers and redemptions must spend at least one input.
    #[error("{kind} has no inputs")]
    NoInputs {
        /// The kind.
        kind: &'static str,
    },
    /// Issuance creates money from nothing public, so it takes no inputs.
    #[error("issue transactions take no inputs")]
    InputsNotAllowed,
    /// Too many inputs.
    #[error("{count} inputs is over the limit of {limit}")]
    TooManyInputs {
        /// Count.
        count: usize,
        /// Limit.
        limit: usize,
    },
    /// Too many outputs.
    #[error("{count} outputs is over the limit of {limit}")]
    TooManyOutputs {
        /// Count.
        count: usize,
        /// Limit.
        limit: usize,
    },
    /// The encoded transaction is too large.
    #[error("transaction of {size} bytes is over the limit of {limit}")]
    TooLarge {
        /// Size.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// A memo is longer than allowed.
    #[error("output {index} carries an opening of {len} bytes, over the limit of {limit}")]
    OpeningTooLarge {
        /// Output index.
        index: usize,
        /// Ciphertext length.
        len: usize,
        /// Limit.
        limit: usize,
    },
    /// The same note is spent twice inside one transaction.
    #[error("input {index} spends the same note as an earlier input")]
    DuplicateInput {
        /// Index of the repeated input.
        index: usize,
    },
    /// Two outputs share a commitment; commitments are unique ledger-wide.
    #[error("output {index} repeats the commitment of an earlier output")]
    DuplicateOutputCommitment {
        /// Index of the repeated output.
        index: usize,
    },
    /// Issue and redeem must move a positive public amount.
    #[error("public amount must be positive")]
    ZeroPublicAmount,
    /// A public amount or a running supply would overflow.
    #[error("amount overflow: {0}")]
    Amount(#[from] AmountError),
    /// Too few issuer signatures for the threshold.
    #[error("{have} issuer signatures, {need} needed")]
    NotEnoughIssuerSignatures {
        /// Signatures present.
        have: usize,
        /// Threshold.
        need: usize,
    },
    /// An issuer signature names a key the network does not have.
    #[error("issuer signature names key {index}, the network has {count} issuer keys")]
    UnknownIssuer {
        /// Key index named.
        index: usize,
        /// Number of issuer keys.
        count: usize,
    },
    /// Issuer signatures must name distinct keys in increasing order.
    #[error(
        "issuer signatures must name distinct keys in increasing order (at position {position})"
    )]
    IssuerSignaturesUnordered {
        /// Position in the list.
        position: usize,
    },
    /// An issuer signature does not verify.
    #[error("issuer signature by key {index} does not verify")]
    BadIssuerSignature {
        /// Key index.
        index: usize,
    },
    /// Transfers carry no issuer signatures.
    #[error("transfers carry no issuer signatures")]
    IssuerSignaturesNotAllowed,
    /// There must be exactly one owner signature per input.
    #[error("{have} owner signatures for {need} inputs")]
    OwnerSignatureCount {
        /// Signatures present.
        have: usize,
        /// Inputs.
        need: usize,
    },
    /// An owner signature does not verify against the input note's owner.
    #[error("owner signature on input {index} does not verify")]
    BadOwnerSignature {
        /// Input index.
        index: usize,
    },
    /// An input names a note the ledger does not hold.
    #[error("input {index} spends unknown note {note}")]
    UnknownInput {
        /// Input index.
        index: usize,
        /// Note id (hex).
        note: String,
    },
    /// An input is already spent.
    #[error("input {index} spends note {note}, which is already spent")]
    InputSpent {
        /// Input index.
        index: usize,
        /// Note id (hex).
        note: String,
    },
    /// An input is spent by another transaction of the same batch.
    #[error(
        "input {index} spends note {note}, already spent by another transaction in this batch"
    )]
    InputSpentInBatch {
        /// Input index.
        index: usize,
        /// Note id (hex).
        note: String,
    },
    /// An output commitment already exists on the ledger or in the batch.
    #[error("output {index} repeats a commitment already on the ledger")]
    CommitmentExists {
        /// Output index.
        index: usize,
    },
    /// The balance proof does not verify: inputs do not equal outputs plus public amounts.
    #[error("inputs do not balance outputs: the balance proof does not verify")]
    Unbalanced,
    /// The aggregated range proof does not verify: an output amount may be negative or wrapped,
    /// or (a transfer) a party's receipt may exceed its tier cap, the payer's cap or the
    /// undisclosed threshold.
    #[error("range proof does not verify: an output amount may be out of range, or a party's receipt over its tier cap or the undisclosed threshold")]
    BadRangeProof,
    /// The transaction was made for another ledger (its genesis hash is not this ledger's).
    #[error("transaction is for the ledger with genesis {got}, not this ledger ({expected}): a transaction cannot be replayed on another ledger")]
    WrongGenesis {
        /// This ledger's genesis hash (hex).
        expected: String,
        /// The transaction's (hex).
        got: String,
    },
    /// A transfer lacks its flow section (parties and tiers).
    #[error("a transfer must carry its flow section (its parties and their tiers)")]
    ComplianceMissing,
    /// A flow section where none belongs (not a transfer), or a disclosure on a network without a
    /// regulator.
    #[error("a flow section belongs only on transfers, and disclosures only on a network with a regulator")]
    ComplianceNotAllowed,
    /// A payee at or above the reporting threshold is not disclosed (or the threshold is zero).
    #[error("payee {party} must carry a disclosure to the regulator")]
    MissingDisclosure {
        /// Payee party (1-based).
        party: usize,
    },
    /// A disclosure does not verify: it does not encrypt the payee's summed amount to the
    /// regulator.
    #[error("the disclosure of payee {party} does not verify against its summed commitment and the regulator key")]
    BadDisclosure {
        /// Payee party (1-based).
        party: usize,
    },
    /// The builder was asked for amounts over a cap.
    #[error("amounts exceed the bound of {bound} minor units")]
    OverCap {
        /// The bound.
        bound: u64,
    },
    /// Inputs of a transfer belong to more than one account: a payee may not add an input of its
    /// own to pass its receipt off as change.
    #[error("input {index} belongs to another account than input 0: a transfer has exactly one paying account")]
    MultiplePayers {
        /// Input index.
        index: usize,
    },
    /// The stated grouping of outputs into payer and payees is not the registry's.
    #[error("output {output}: {reason}")]
    WrongParties {
        /// Output index.
        output: usize,
        /// What is wrong.
        reason: String,
    },
    /// A stated tier is not the registry's.
    #[error("the {party} is stated at tier {stated} but is registered at tier {registered}")]
    WrongTier {
        /// Who.
        party: String,
        /// Stated.
        stated: u8,
        /// Registered.
        registered: u8,
    },
    /// A stated tier does not exist on this network.
    #[error("tier {tier} does not exist on this network")]
    UnknownTier {
        /// The tier.
        tier: u8,
    },
    /// A key in the transaction is not registered.
    #[error("key {key} is not a registered wallet or purse")]
    UnregisteredParty {
        /// Key (hex).
        key: String,
    },
    /// A transfer spends a note that is still pending (not yet claimed within its owner's limits).
    #[error("input {index} ({note}) is pending: it must be claimed within the owner's holding and turnover limits before it can be spent")]
    InputPending {
        /// Input index.
        index: usize,
        /// Note id (hex).
        note: String,
    },
    /// A redemption pays an output to another account.
    #[error("output {output} of a redemption goes to another account: redemption change goes back to the redeemer")]
    RedeemToOther {
        /// Output index.
        output: usize,
    },
    /// A claim names a note that is not pending (already claimed, or change).
    #[error("claimed note {index} ({note}) is not pending")]
    NoteNotPending {
        /// Position in the claim.
        index: usize,
        /// Note id (hex).
        note: String,
    },
    /// A claim names a note of another account.
    #[error("claimed note {index} ({note}) belongs to another account")]
    ClaimNotOwner {
        /// Position in the claim.
        index: usize,
        /// Note id (hex).
        note: String,
    },
    /// The claimant is not a wallet's own key (a purse key claims through its wallet).
    #[error("the claimant is not a registered wallet key")]
    ClaimantNotAccount,
    /// The claim's stated balance commitment is not the sum of the claimant's unspent claimed notes
    /// on the ledger: it omits or adds a note, or the ledger moved since it was made.
    #[error("the claim's balance commitment is not the sum of the claimant's claimed unspent notes (a note is omitted, or the wallet is behind the ledger: sync and claim again)")]
    StaleBalance,
    /// The claim's stated inflow commitment is not the sum of the notes claimed in its period.
    #[error("the claim's inflow commitment is not the sum of the notes claimed this period (sync and claim again)")]
    StaleInflow,
    /// The claim was made for another turnover period than the block's.
    #[error("the claim is for turnover period {stated} but the ledger is in period {current}")]
    WrongPeriod {
        /// Stated.
        stated: u64,
        /// The block's.
        current: u64,
    },
    /// The claim proof does not verify: the claimed notes would take the balance over the holding
    /// limit or the period's inflow over the turnover limit.
    #[error("the claim proof does not verify: the claimed notes would exceed the holding or turnover limit")]
    BadClaimProof,
    /// The builder was asked to claim over the holding limit.
    #[error("claiming would take the balance to {would_hold} minor units, over the holding limit of {limit}")]
    OverHoldingLimit {
        /// Balance after the claim.
        would_hold: u64,
        /// The limit.
        limit: u64,
    },
    /// The builder was asked to claim over the turnover limit.
    #[error("claiming would take this period's inflow to {would_receive} minor units, over the turnover limit of {limit}")]
    OverTurnoverLimit {
        /// Inflow after the claim.
        would_receive: u64,
        /// The limit.
        limit: u64,
    },
    /// The issued amount would take the supply above the maximum.
    #[error("issuing {amount} minor units would take the supply above the maximum")]
    SupplyOverflow {
        /// Amount.
        amount: u64,
    },
    /// A redemption asks for more than is in circulation.
    #[error("redeeming {amount} minor units exceeds the supply of {supply}")]
    SupplyUnderflow {
        /// Amount.
        amount: u64,
        /// Current supply.
        supply: u64,
    },
}

/// Errors in building a transaction (caller mistakes, not ledger rejections).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// Inputs do not cover outputs plus the public amount.
    #[error("inputs of {inputs} do not equal outputs of {outputs}")]
    Unbalanced {
        /// Sum of inputs.
        inputs: u64,
        /// Sum of outputs plus the public amount.
        outputs: u64,
    },
    /// A memo is too long.
    #[error("memo of {len} bytes is over the limit of {limit}")]
    MemoTooLong {
        /// Length.
        len: usize,
        /// Limit.
        limit: usize,
    },
    /// The built transaction breaks a rule.
    #[error(transparent)]
    Rule(#[from] TxError),
    /// Amount arithmetic failed.
    #[error(transparent)]
    Amount(#[from] AmountError),
}

/// The ledger does not satisfy the supply invariant, or a block does not verify.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AuditError {
    /// Unspent commitments do not add up to the supply plus the excesses.
    #[error("supply invariant broken: unspent commitments do not sum to the supply of {supply} minor units")]
    SupplyMismatch {
        /// Public supply claimed.
        supply: u64,
    },
    /// A block's hash chain is broken.
    #[error("block {height}: previous hash does not match block {prev}")]
    BrokenChain {
        /// Height.
        height: u64,
        /// Previous height.
        prev: u64,
    },
    /// A block's height is not one more than the previous.
    #[error("block {height}: expected height {expected}")]
    BadHeight {
        /// Height found.
        height: u64,
        /// Height expected.
        expected: u64,
    },
    /// A block's node signature does not verify.
    #[error("block {height}: node signature does not verify")]
    BadBlockSignature {
        /// Height.
        height: u64,
    },
    /// A block's transaction root does not match its transactions.
    #[error("block {height}: transaction root does not match its transactions")]
    BadTxRoot {
        /// Height.
        height: u64,
    },
    /// A block's transaction root is of the retired format 1 (a transcript hash, before roots
    /// became Merkle roots): the ledger was written by an older version.
    #[error("block {height}: transaction root is of the retired format 1 (a ledger written before transaction roots became Merkle roots); re-create the ledger with this version")]
    RetiredTxRoot {
        /// Height.
        height: u64,
    },
    /// A block header is of a retired format version (version 1: no history root): the ledger
    /// was written by an older version.
    #[error("block {height}: header version {version} is retired (this version builds and accepts only version 2 headers, which commit to the history of block hashes); re-create the ledger with this version")]
    RetiredHeaderVersion {
        /// Height.
        height: u64,
        /// Version found.
        version: u32,
    },
    /// A block header's history root is not the root over the hashes of the blocks before it.
    #[error("block {height}: history root does not commit to the hashes of the blocks before it")]
    BadHistoryRoot {
        /// Height.
        height: u64,
    },
    /// A block's recorded supply does not follow from its transactions.
    #[error("block {height}: recorded supply {recorded} but transactions give {computed}")]
    BadSupply {
        /// Height.
        height: u64,
        /// In the header.
        recorded: u64,
        /// Computed.
        computed: u64,
    },
    /// A transaction in a block is invalid.
    #[error("block {height}: transaction {index} rejected: {source}")]
    BadTransaction {
        /// Height.
        height: u64,
        /// Index in the block.
        index: usize,
        /// Why.
        source: TxError,
    },
}

/// One line for an error and its causes, each cause shown once.
///
/// Many errors already include their source in their own message (`"{path}: {source}"`) and also
/// expose it as their `source()`, so printing the chain naively repeats it ("No such file or
/// directory (os error 2): No such file or directory (os error 2)"). A cause whose text the line
/// already contains is skipped. The binaries print errors through this.
pub fn error_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = c.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Error)]
    #[error("{path}: {source}")]
    struct FileError {
        path: String,
        #[source]
        source: std::io::Error,
    }

    #[derive(Debug, Error)]
    #[error("cannot open the wallet")]
    struct Outer(#[source] FileError);

    #[test]
    fn error_line_shows_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let e = Outer(FileError {
            path: "w/key".into(),
            source: io,
        });
        assert_eq!(
            error_line(&e),
            "cannot open the wallet: w/key: No such file or directory"
        );
    }
}
