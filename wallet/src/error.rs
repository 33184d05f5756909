//! The wallet's typed errors. Each names what was wrong and, where there is one, the limit it broke.
//! Every rejection listed here happens before the wallet changes anything on disk, unless its
//! message says otherwise (a stored payment waiting to be resubmitted).

use std::path::PathBuf;

use dfc_client::ClientError;
use dfc_core::{AmountError, AuditError, BuildError, DecodeError};

/// Why a wallet operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// No wallet exists at the path.
    #[error("no wallet at {path}: run `dfc-wallet create` or `dfc-wallet restore` first")]
    NotFound {
        /// The wallet directory.
        path: PathBuf,
    },
    /// `create` or `restore` would overwrite an existing wallet.
    #[error("a wallet already exists at {path}; refusing to overwrite it")]
    AlreadyExists {
        /// The wallet directory.
        path: PathBuf,
    },
    /// The passphrase does not decrypt the key file (the file's checksum is intact).
    #[error("wrong passphrase for the wallet at {path}")]
    WrongPassphrase {
        /// The key file.
        path: PathBuf,
    },
    /// The key file is damaged or is not a wallet key file.
    #[error("wallet key file {path} is corrupted: {reason}")]
    CorruptedKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The wallet database is damaged, belongs to another wallet, or holds unreadable values.
    #[error("wallet database {path} is corrupted: {reason}")]
    CorruptedDatabase {
        /// The database file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The passphrase is empty.
    #[error("the passphrase must not be empty")]
    EmptyPassphrase,
    /// The recovery phrase is not a valid BIP-39 phrase.
    #[error("invalid recovery phrase: {0}")]
    BadPhrase(String),
    /// The address does not parse (typo, bad checksum, wrong prefix).
    /// Shown as the decoder's message alone: it already names the address ("address: …").
    #[error("{0}")]
    BadAddress(#[source] DecodeError),
    /// The address belongs to another network.
    #[error("the address is for network {got}, this wallet is on network {expected}")]
    WrongNetwork {
        /// This wallet's network.
        expected: u32,
        /// The address's network.
        got: u32,
    },
    /// The amount does not parse or has too many decimals.
    #[error("invalid amount: {0}")]
    BadAmount(#[source] AmountError),
    /// Payments and redemptions must move a positive amount.
    #[error("the amount must be greater than zero")]
    ZeroAmount,
    /// The memo is longer than a note can carry.
    #[error("memo of {len} bytes is over the limit of {limit} bytes")]
    MemoTooLong {
        /// Length given.
        len: usize,
        /// Limit.
        limit: usize,
    },
    /// The spendable balance does not cover the amount.
    #[error("insufficient funds: {available} available, {asked} asked{reserved_note}")]
    InsufficientFunds {
        /// Spendable balance, formatted in the currency.
        available: String,
        /// Amount asked, formatted in the currency.
        asked: String,
        /// A remark about funds held by pending payments, empty if there are none.
        reserved_note: String,
    },
    /// The amount needs more notes than one transaction may spend.
    #[error("paying {asked} needs {needed} notes, over the limit of {limit} inputs per transaction; pay in smaller parts")]
    TooManyInputs {
        /// Amount asked, formatted.
        asked: String,
        /// Notes needed.
        needed: usize,
        /// The network's input limit.
        limit: usize,
    },
    /// The wallet has not been registered with a bank yet.
    #[error("the wallet is not registered with a bank: run `dfc-wallet register --bank URL`")]
    NotRegistered,
    /// The node reports parameters that differ from those pinned at registration.
    #[error("the node at {url} reports network parameters different from the ones pinned at registration (pinned {pinned}, node {got})")]
    ParamsChanged {
        /// The node.
        url: String,
        /// Hash of the pinned parameters.
        pinned: String,
        /// Hash of the node's parameters.
        got: String,
    },
    /// The node's parameter history leaves out or alters a change this wallet already saw.
    #[error("the node at {url} serves a parameter history that drops or alters an approved change this wallet already saw")]
    HistoryRewritten {
        /// The node.
        url: String,
    },
    /// A call to the node failed (unreachable, rejected, server error).
    #[error(transparent)]
    Node(#[from] ClientError),
    /// The node refused to spend from this wallet because an operator froze it.
    #[error("the bank has frozen this wallet: {message}; transaction {txid} was cancelled and its notes released")]
    Frozen {
        /// The cancelled transaction.
        txid: String,
        /// The node's message.
        message: String,
    },
    /// The node rejected a stored transaction for good; its notes were released.
    #[error("the node rejected transaction {txid} ({code}): {message}; its notes were released")]
    Rejected {
        /// The transaction.
        txid: String,
        /// The node's error code.
        code: String,
        /// The node's message.
        message: String,
    },
    /// The payment is stored and its notes reserved, but it is not confirmed yet.
    #[error("transaction {txid} is stored but not confirmed ({reason}); `dfc-wallet sync` or the next `pay` resubmits the same transaction, so it cannot be paid twice")]
    NotConfirmed {
        /// The stored transaction.
        txid: String,
        /// Why it is not confirmed.
        reason: String,
    },
    /// A block from the node does not verify against the pinned node key and the previous header.
    #[error("refusing to sync: block {height} from the node does not verify ({source}); the node's chain is broken or not signed by the pinned node key")]
    BadChain {
        /// Height of the block.
        height: u64,
        /// What failed.
        #[source]
        source: AuditError,
    },
    /// A block's history root is not the root of the blocks before it that this wallet verified:
    /// the node serves a chain whose history commitment (what light wallets' proofs and co-signed
    /// checkpoints rest on) differs from its blocks.
    #[error("refusing to sync: block {height} from the node carries a history root that is not the root of the {height} blocks before it, as this wallet verified them; nothing from it was applied")]
    BadHistoryRoot {
        /// Height of the block.
        height: u64,
    },
    /// A light-sync answer from the node does not verify: a header does not chain or is not
    /// signed by the pinned node key, a transaction's inclusion proof fails, or the node's
    /// signature over the answer is wrong. Nothing of the answer is applied.
    #[error("refusing to sync: the node's light-sync answer from height {from} does not verify ({source}); the node is lying or broken")]
    BadLightSync {
        /// First height of the answer.
        from: u64,
        /// What failed.
        #[source]
        source: dfc_core::light::LightError,
    },
    /// A block was made for another network or under other parameters.
    #[error(
        "refusing to sync: block {height} is for other network parameters than the pinned ones"
    )]
    BlockParamsMismatch {
        /// Height of the block.
        height: u64,
    },
    /// A receipt does not verify.
    #[error("the receipt for {txid} does not verify against the pinned node key")]
    BadReceipt {
        /// The transaction.
        txid: String,
    },
    /// No transaction of this wallet has that id, and the node does not know it either.
    #[error("transaction {txid} is not known to this wallet or the node")]
    UnknownTx {
        /// The id asked for.
        txid: String,
    },
    /// A transaction is known but not committed yet.
    #[error("transaction {txid} is not committed yet ({state})")]
    NotCommitted {
        /// The transaction.
        txid: String,
        /// Its state.
        state: String,
    },
    /// The text is not a transaction id.
    #[error("invalid transaction id: {0}")]
    BadTxId(#[source] DecodeError),
    /// The notes chosen for a payment were taken by another process while it was being built.
    #[error("the wallet's notes changed while the transaction was being built (another dfc-wallet process?); nothing was stored or sent, retry")]
    ConcurrentChange,
    /// Building the transaction failed.
    #[error("could not build the transaction: {0}")]
    Build(#[from] BuildError),
    /// A test-only fault point stopped the operation (see `DFC_WALLET_TEST_CRASH_AFTER`).
    #[error("test fault injection: stopped after {0}")]
    InjectedFault(&'static str),
    /// No purse certificate yet.
    #[error(
        "this wallet has no offline purse: run `dfc-wallet offline fund --amount X` while online"
    )]
    NoPurse,
    /// The purse certificate expired: payees would refuse the packet.
    #[error("the purse certificate expired at {} (now {}): payees refuse it; sync and fund again while online", dfc_core::time::utc_text(*expires_ms), dfc_core::time::utc_text(*now_ms))]
    PurseExpired {
        /// Expiry.
        expires_ms: u64,
        /// Now.
        now_ms: u64,
    },
    /// An offline payment over the purse certificate's cap.
    #[error("paying {amount} offline is over the purse cap of {cap} (set by the wallet's tier)")]
    OverPurseCap {
        /// Amount asked.
        amount: String,
        /// The cap.
        cap: String,
    },
    /// Funding would take the purse over its cap.
    #[error("funding {amount} would hold {would_hold} in the purse, over its cap of {cap} (set by the wallet's tier)")]
    PurseFull {
        /// Amount asked.
        amount: String,
        /// Purse balance after.
        would_hold: String,
        /// The cap.
        cap: String,
    },
    /// No single proven purse note covers the payment.
    #[error("no purse note covers {asked}: the largest usable one holds {largest} ({usable} usable in {notes} notes; change of unsettled payments is usable only after it settles and the wallet syncs)")]
    NoPurseNote {
        /// Amount asked.
        asked: String,
        /// Largest usable note.
        largest: String,
        /// Usable purse value.
        usable: String,
        /// Usable notes.
        notes: usize,
    },
    /// The payee refused a packet offline; the reason says which check failed.
    #[error("packet refused: {0}")]
    OfflineRefused(#[from] dfc_core::offline::OfflineError),
    /// A packet would not fit one QR code.
    #[error(
        "the packet is {size} bytes, over the limit of {limit} (one QR code); shorten the memo"
    )]
    PacketTooLarge {
        /// Size.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// The node answered a purse request with a certificate that does not check.
    #[error("the node's purse certificate does not verify against the pinned node key or does not name this wallet and purse")]
    BadCertificate,
    /// A bad option value.
    #[error("invalid {what}: {reason}")]
    BadOption {
        /// Which option.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A payment proof or omission evidence does not hold (wrong receipt, not paying this
    /// wallet, or no contradiction with the node's answer).
    #[error("the payment proof does not hold: {source}")]
    BadPaymentProof {
        /// What failed.
        #[source]
        source: dfc_core::light::OmissionError,
    },
    /// The node signed a receipt for a payment to this wallet and then signed an answer that
    /// leaves it out: the two are saved together as evidence.
    #[error("the node left out payment {txid} (receipt at height {height}) from its signed answer to this wallet; signed evidence saved to {}", evidence.display())]
    NodeOmittedPayment {
        /// Transaction id.
        txid: String,
        /// Height the receipt names.
        height: u64,
        /// The evidence file.
        evidence: PathBuf,
    },
    /// SQLite failed.
    #[error("wallet database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Result with a [`WalletError`].
pub type Result<T, E = WalletError> = std::result::Result<T, E>;
