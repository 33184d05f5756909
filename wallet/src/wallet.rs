//! The [`Wallet`]: keys, database and node client together. The CLI is a thin layer over its
//! methods; a later offline purse reuses [`Wallet::prepare`] (selection + building + storing).

use std::path::{Path, PathBuf};
use std::time::Instant;

use bip39::Mnemonic;
use dfc_client::{BankClient, ClientError, TlsPin};
use dfc_core::api::{Receipt, RegisterRequest, TxStatus};
use dfc_core::compliance::ComplianceContext;
use dfc_core::governance::ParamsHistory;
use dfc_core::history::HistoryPeaks;
use dfc_core::note::MAX_MEMO_BYTES;
use dfc_core::{
    build_with, Address, Amount, Block, BuildOptions, Hash32, NetworkParams, Payment, SpendInput,
    Transaction, TxId, TxKind, WalletKeys,
};
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::{Result, WalletError};
use crate::keystore::{self, DataKey, KdfCost, PublicKeys};
use crate::select::{self, Candidate, SelectError};
use crate::store::offline::packet_state;
use crate::store::{HistoryDetail, Outgoing, OutgoingDetail, OutgoingState, Store};

mod claims;
mod light;
mod omission;
mod outgoing;
mod sync;
pub use omission::PaymentListed;
pub use sync::verify_block;
pub mod offline;

/// File name of the encrypted key file inside the wallet directory.
pub const KEY_FILE: &str = "keys.json";
/// File name of the wallet database inside the wallet directory.
pub const DB_FILE: &str = "wallet.db";
/// Blocks asked for per request while syncing.
const SYNC_BATCH_BLOCKS: u32 = 100;
/// Meta key of the parameter history seen at the last sync.
const HISTORY_META: &str = "params_history";
/// Words of a new recovery phrase (256 bits of entropy).
const PHRASE_WORDS_ENTROPY_BYTES: usize = 32;

/// A point at which a test can make the wallet stop as if the process had been killed. Set by the
/// CLI from the environment variable `DFC_WALLET_TEST_CRASH_AFTER` (`store` or `submit`); never
/// set in normal use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultPoint {
    /// Right after the built transaction is stored and its inputs reserved, before sending it.
    AfterStore,
    /// Right after the node accepted the transaction, before the receipt is recorded.
    AfterSubmit,
}

/// An open, unlocked wallet.
pub struct Wallet {
    dir: PathBuf,
    keys: WalletKeys,
    data: DataKey,
    store: Store,
    bank_override: Option<String>,
    tls_override: Option<TlsPin>,
    fault: Option<FaultPoint>,
    full_sync: bool,
}

/// Wallet metadata: the PEM of the certificate the wallet registered over, when the network's
/// parameters carry none (`tls_ca`), so later commands need no `--ca`.
const TLS_PIN_META: &str = "tls_pin";

/// What `register` reports.
#[derive(Clone, Debug, Serialize)]
pub struct Registration {
    /// The wallet's address.
    pub address: String,
    /// The bank's URL.
    pub bank: String,
    /// Network name.
    pub network: String,
    /// Network id.
    pub network_id: u32,
    /// Currency code.
    pub currency: String,
    /// Tier granted.
    pub tier: u8,
    /// Tier name.
    pub tier_name: String,
    /// Largest single payment of the tier.
    pub max_payment: String,
    /// Largest balance of the tier.
    pub max_balance: String,
}

/// What `sync` reports.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncReport {
    /// Blocks verified and applied.
    pub blocks: u64,
    /// Block headers downloaded (light sync: the wallet's own blocks and one signed anchor per
    /// answer; full sync: one per block).
    pub headers_downloaded: u64,
    /// Next height to download.
    pub height: u64,
    /// Height of the last block the wallet has (`height - 1`, 0 before any): the height the text
    /// output states, so scripts and people read the same number.
    pub at_height: u64,
    /// Notes received.
    pub notes_received: usize,
    /// Notes owned by our key whose opening failed (not counted).
    pub notes_refused: usize,
    /// Own notes seen spent.
    pub notes_spent: usize,
    /// Notes of ours claimed in the synced blocks.
    pub notes_claimed: usize,
    /// Notes still pending after the sync: over the holding or turnover limit (redeem them to the
    /// bank account, or wait for the next turnover period or a lower balance).
    pub notes_held: usize,
    /// Why some notes could not be claimed, if any.
    pub held_reason: Option<String>,
    /// Stored transactions resumed: confirmed, resubmitted or released.
    pub resumed: Vec<Resumed>,
    /// Offline packets (paid or accepted) submitted for settlement.
    pub offline: Vec<Resumed>,
    /// Height of the checkpoint the purse notes are now proven against.
    pub purse_checkpoint_height: Option<u64>,
    /// Why the purse proofs could not be refreshed, if they could not.
    pub purse_warning: Option<String>,
}

/// What happened to a stored transaction on resume.
#[derive(Clone, Debug, Serialize)]
pub struct Resumed {
    /// Transaction id.
    pub txid: String,
    /// New state.
    pub state: &'static str,
    /// Detail.
    pub detail: String,
}

/// Balance as shown.
#[derive(Clone, Debug, Serialize)]
pub struct Balance {
    /// Spendable now.
    pub spendable: String,
    /// Held by stored, unconfirmed outgoing transactions.
    pub reserved: String,
    /// Received but not claimable within the holding or turnover limit: not spendable and not in
    /// the total (redeem it to the bank account, or claim it later).
    pub held: String,
    /// `held` in minor units.
    pub held_units: u64,
    /// Spendable plus reserved.
    pub total: String,
    /// Spendable, in minor units.
    pub spendable_units: u64,
    /// Reserved, in minor units.
    pub reserved_units: u64,
    /// Total, in minor units.
    pub total_units: u64,
    /// Currency code.
    pub currency: String,
    /// Unspent notes.
    pub notes: usize,
    /// Next height to sync.
    pub synced_height: u64,
    /// Height of the last block synced (`synced_height - 1`, 0 before any): the height the text
    /// output states.
    pub at_height: u64,
    /// Stored outgoing transactions not settled yet.
    pub pending: Vec<String>,
    /// In the offline purse (included in the total; payments spent offline are not).
    pub purse: String,
    /// In the offline purse, minor units.
    pub purse_units: u64,
    /// Received offline and not settled yet (not in the total, not spendable).
    pub unsettled_in: String,
    /// Received offline and not settled, minor units.
    pub unsettled_in_units: u64,
    /// Paid offline and not settled yet, minor units (already out of the total).
    pub unsettled_out_units: u64,
}

/// A history line as shown.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryLine {
    /// Transaction id.
    pub txid: String,
    /// `incoming`, `outgoing`, `issue`, `redeem`, `self`, `purse_fund`, `offline_outgoing`, or
    /// `pending_*` for unconfirmed ones (`pending_offline_outgoing`: an offline payment not
    /// settled yet, already out of the balance), or `failed_offline_outgoing` (an offline payment
    /// refused at settlement: see `reason`; its money is back in the balance unless it was a
    /// double spend).
    pub kind: String,
    /// Amount, formatted.
    pub amount: String,
    /// Amount in minor units.
    pub amount_units: u64,
    /// Block height (none while pending).
    pub height: Option<u64>,
    /// Block time, ms since the epoch.
    pub time_ms: u64,
    /// The other party, when known.
    pub counterparty: Option<String>,
    /// Memo.
    pub memo: String,
    /// Of what this entry received, the part still held over the holding or turnover limit (not
    /// in the balance until claimed, or redeemed to the bank account).
    pub held_units: u64,
    /// Why it failed, for `failed_offline_outgoing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A payment or redemption as stored and (maybe) sent.
#[derive(Clone, Debug, Serialize)]
pub struct PaymentReport {
    /// Transaction id.
    pub txid: String,
    /// `transfer` or `redeem`.
    pub kind: String,
    /// Amount, formatted.
    pub amount: String,
    /// Amount in minor units.
    pub amount_units: u64,
    /// Recipient.
    pub to: Option<String>,
    /// Change back to the wallet, formatted.
    pub change: String,
    /// Inputs spent.
    pub inputs: usize,
    /// Outputs created.
    pub outputs: usize,
    /// Time to select notes and build the transaction with its proofs, ms.
    pub build_ms: u64,
    /// Encoded size, bytes.
    pub tx_bytes: usize,
    /// State after this call.
    pub state: &'static str,
    /// The receipt, once committed.
    pub receipt: Option<Receipt>,
    /// Approvals so far (redemptions).
    pub approvals: Option<usize>,
    /// Approvals needed (redemptions).
    pub threshold: Option<usize>,
    /// A remark (e.g. the follow-up sync failed).
    pub note: Option<String>,
}

/// A transaction built, stored and reserved, ready to send. The unit a later offline purse reuses.
pub struct Prepared {
    /// The transaction.
    pub tx: Transaction,
    /// Its id.
    pub txid: TxId,
    /// Details as stored.
    pub detail: OutgoingDetail,
    /// Build time, ms.
    pub build_ms: u64,
}

/// Wallet directory paths.
fn key_path(dir: &Path) -> PathBuf {
    dir.join(KEY_FILE)
}
fn db_path(dir: &Path) -> PathBuf {
    dir.join(DB_FILE)
}

fn create_dir(dir: &Path) -> Result<()> {
    let io = |source| WalletError::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

/// The wallet's address without unlocking it (needs only the public keys and pinned parameters).
pub fn address_of(dir: &Path) -> Result<(Address, NetworkParams)> {
    let public = keystore::read_public(&key_path(dir))?;
    let store = Store::open(&db_path(dir), &public.spend)?;
    let params = store.params()?.ok_or(WalletError::NotRegistered)?;
    Ok((address_from(&public, &params), params))
}

fn address_from(public: &PublicKeys, params: &NetworkParams) -> Address {
    Address {
        network: params.network_id,
        spend: public.spend,
        view: public.view,
    }
}

/// Whether a node rejection means the transaction can never commit as it is (as opposed to a busy
/// or overloaded node, which is worth retrying with the same transaction).
fn is_definitive(err: &ClientError) -> bool {
    matches!(err, ClientError::Rejected { status, .. } if !matches!(status, 408 | 425 | 429))
}

impl Wallet {
    /// Creates a new wallet in `dir` with a fresh 24-word recovery phrase, returned once for the
    /// user to write down.
    pub fn create(
        dir: &Path,
        passphrase: &str,
        cost: KdfCost,
    ) -> Result<(Wallet, Zeroizing<String>)> {
        let mut entropy = Zeroizing::new([0u8; PHRASE_WORDS_ENTROPY_BYTES]);
        OsRng.fill_bytes(entropy.as_mut());
        let mnemonic = Mnemonic::from_entropy(entropy.as_ref())
            .map_err(|e| WalletError::BadPhrase(e.to_string()))?;
        let phrase = Zeroizing::new(mnemonic.to_string());
        let wallet = Self::init(dir, &mnemonic, passphrase, cost)?;
        Ok((wallet, phrase))
    }

    /// Restores a wallet in `dir` from its recovery phrase. Notes and history come back at the next
    /// sync (from height 0).
    pub fn restore(dir: &Path, phrase: &str, passphrase: &str, cost: KdfCost) -> Result<Wallet> {
        let normalized = phrase
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let mnemonic = Mnemonic::parse_normalized(&normalized)
            .map_err(|e| WalletError::BadPhrase(e.to_string()))?;
        Self::init(dir, &mnemonic, passphrase, cost)
    }

    fn init(dir: &Path, mnemonic: &Mnemonic, passphrase: &str, cost: KdfCost) -> Result<Wallet> {
        if passphrase.is_empty() {
            return Err(WalletError::EmptyPassphrase);
        }
        if key_path(dir).exists() {
            return Err(WalletError::AlreadyExists {
                path: dir.to_path_buf(),
            });
        }
        create_dir(dir)?;
        let seed = Zeroizing::new(mnemonic.to_seed(""));
        // A database left by an interrupted create/restore of another seed would fail the owner
        // check; the key file is written first and is what marks a wallet as existing.
        keystore::write_key_file(&key_path(dir), &seed, passphrase, cost)?;
        Self::open(dir, passphrase)
    }

    /// Opens and unlocks the wallet in `dir`.
    pub fn open(dir: &Path, passphrase: &str) -> Result<Wallet> {
        let unlocked = keystore::unlock(&key_path(dir), passphrase)?;
        let store = Store::open(&db_path(dir), &unlocked.keys.spend.public())?;
        Ok(Wallet {
            dir: dir.to_path_buf(),
            keys: unlocked.keys,
            data: unlocked.data,
            store,
            bank_override: None,
            tls_override: None,
            fault: None,
            full_sync: false,
        })
    }

    /// Uses `url` instead of the stored bank URL for this session.
    pub fn set_bank_override(&mut self, url: Option<String>) {
        self.bank_override = url;
    }

    /// Trusts `pin` for the node this session (`--ca`, `DFC_CA`, or a sandbox directory's
    /// certificate), before the pin of the parameters.
    pub fn set_tls_pin(&mut self, pin: Option<TlsPin>) {
        self.tls_override = pin;
    }

    /// The certificate the wallet trusts for its node: the session's `--ca` if given, else the
    /// parameters' `tls_ca` (the latest the wallet has verified), else the one it registered
    /// over; none for a plain-HTTP loopback node.
    pub fn tls_pin(&self) -> Result<Option<TlsPin>> {
        if let Some(p) = &self.tls_override {
            return Ok(Some(p.clone()));
        }
        let latest = match self.params_history()? {
            Some(h) => Some(h.latest().clone()),
            None => self.store.params()?,
        };
        if let Some(p) = latest {
            if let Some(pin) = TlsPin::from_params(&p).map_err(ClientError::from)? {
                return Ok(Some(pin));
            }
        }
        match self.store.meta(TLS_PIN_META)? {
            Some(pem) => Ok(Some(
                TlsPin::from_pem(&pem, "the wallet's stored TLS pin").map_err(ClientError::from)?,
            )),
            None => Ok(None),
        }
    }

    /// Arms a test fault point (see [`FaultPoint`]).
    pub fn set_fault(&mut self, fault: Option<FaultPoint>) {
        self.fault = fault;
    }

    /// The wallet directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parameters in force at the next block: the pinned genesis parameters as changed by
    /// every approved change the wallet has seen at sync, or [`WalletError::NotRegistered`].
    pub fn params(&self) -> Result<NetworkParams> {
        Ok(self
            .history_or_genesis()?
            .at(self.store.sync_height()?)
            .clone())
    }

    /// The node key that signs blocks and receipts at `height`: the one the parameters in force
    /// there name (a node key can be rotated by k of n operators from a stated height).
    pub fn node_key_at(&self, height: u64) -> Result<dfc_core::PublicKey> {
        Ok(self.history_or_genesis()?.at(height).node_key)
    }

    /// The parameter history seen at the last sync, or, before a sync stored one, the history of
    /// the pinned genesis parameters alone; [`WalletError::NotRegistered`] without either.
    pub fn history_or_genesis(&self) -> Result<ParamsHistory> {
        match self.params_history()? {
            Some(h) => Ok(h),
            None => Ok(ParamsHistory::new(
                self.store.params()?.ok_or(WalletError::NotRegistered)?,
            )),
        }
    }

    /// The parameter history seen at the last sync (verified when it was stored and again when
    /// read: a history decodes only if every change has k approvals).
    pub fn params_history(&self) -> Result<Option<ParamsHistory>> {
        match self.store.meta(HISTORY_META)? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                self.store
                    .corrupted(format!("stored parameter history unreadable: {e}"))
            }),
        }
    }

    /// Fetches the node's parameter history and keeps it if it starts from the pinned genesis
    /// parameters and extends the history already seen (a node cannot drop an approved change).
    async fn refresh_history(&self, client: &BankClient) -> Result<ParamsHistory> {
        let genesis = self.store.params()?.ok_or(WalletError::NotRegistered)?;
        let fetched = client.params_history().await?;
        if fetched.genesis().hash() != genesis.hash()
            || fetched.genesis().genesis_hash != genesis.genesis_hash
        {
            return Err(WalletError::ParamsChanged {
                url: client.base_url().to_string(),
                pinned: genesis.hash().to_hex(),
                got: fetched.genesis().hash().to_hex(),
            });
        }
        if let Some(seen) = self.params_history()? {
            if fetched.changes().get(..seen.changes().len()) != Some(seen.changes()) {
                return Err(WalletError::HistoryRewritten {
                    url: client.base_url().to_string(),
                });
            }
        }
        let text = serde_json::to_string(&fetched)
            .map_err(|e| self.store.corrupted(format!("parameter history: {e}")))?;
        self.store.set_meta(HISTORY_META, &text)?;
        Ok(fetched)
    }

    /// The wallet's address on its network.
    pub fn address(&self) -> Result<Address> {
        Ok(self.keys.address(self.params()?.network_id))
    }

    /// Whether `sync` downloads every full block (auditors and replicas) rather than only
    /// what concerns this wallet (the default).
    pub fn set_full_sync(&mut self, full: bool) {
        self.full_sync = full;
    }

    /// A client of the wallet's bank that signs its reads with the wallet's spend key (so the
    /// node serves it what concerns this wallet, and nothing else).
    fn client(&self) -> Result<BankClient> {
        let url = match &self.bank_override {
            Some(u) => u.clone(),
            None => self
                .store
                .meta("bank_url")?
                .ok_or(WalletError::NotRegistered)?,
        };
        let client = BankClient::with_pin(&url, self.tls_pin()?.as_ref())?;
        // Every call names the pinned network, so a node of another one refuses it before
        // doing anything (`wrong_network`).
        // Reads are signed with the wallet's spend key (the node serves a wallet only what
        // concerns it).
        Ok(match self.store.params()? {
            Some(p) => client
                .pinned_to(p.genesis_hash)
                .with_reader(&p, self.keys.spend.clone()),
            None => client,
        })
    }

    /// Checks that the node `client` talks to is the pinned network's: same genesis. The node
    /// also refuses pinned requests from another network; this check covers what the wallet
    /// reads (a node that ignored the pin, or one answering without it).
    async fn check_network(&self, client: &BankClient, pinned: &NetworkParams) -> Result<()> {
        let params = client.params().await?;
        if params.genesis_hash != pinned.genesis_hash {
            return Err(WalletError::Node(ClientError::WrongNetwork {
                url: client.base_url().to_string(),
                message: format!(
                    "its genesis is {}, this wallet is pinned to {} (registered on another \
                     node; use that node's URL, or another wallet directory for this one)",
                    params.genesis_hash, pinned.genesis_hash
                ),
            }));
        }
        // The parameters themselves may have changed by governance since genesis: the history
        // (`refresh_history`) is what shows the genesis parameters unchanged and every change
        // approved by k operators.
        Ok(())
    }

    /// Registers with the bank at `bank_url`: pins its parameters and node key, and reports the
    /// tier granted. Registering again with the same bank is allowed (it refreshes the tier); a bank
    /// whose parameters differ from the pinned ones is refused.
    pub async fn register(&mut self, bank_url: &str, label: &str) -> Result<Registration> {
        let pinned = self.store.params()?;
        let tls = self.tls_pin()?;
        let client = BankClient::with_pin(bank_url, tls.as_ref())?;
        let client = match &pinned {
            Some(p) => client.pinned_to(p.genesis_hash),
            None => client,
        };
        // Pin the genesis parameters: every later set is reached from them by changes that k
        // operators approved, which the wallet verifies at every sync.
        let history = client.params_history().await?;
        let params = history.genesis().clone();
        if let Some(pinned) = pinned {
            if pinned.genesis_hash != params.genesis_hash {
                return Err(WalletError::Node(ClientError::WrongNetwork {
                    url: client.base_url().to_string(),
                    message: format!(
                        "its genesis is {}, this wallet is pinned to {}",
                        params.genesis_hash, pinned.genesis_hash
                    ),
                }));
            }
            if pinned.hash() != params.hash() {
                return Err(WalletError::ParamsChanged {
                    url: bank_url.to_string(),
                    pinned: pinned.hash().to_hex(),
                    got: params.hash().to_hex(),
                });
            }
        }
        let address = self.keys.address(params.network_id);
        let client = client.with_reader(&params, self.keys.spend.clone());
        let req = RegisterRequest::new(address, label.to_string(), &self.keys.spend);
        let info = match client.register(&req).await {
            Ok(info) => info,
            // Already registered: read back what the registry holds.
            Err(ClientError::Rejected { status: 409, .. }) => {
                client.wallet(&self.keys.spend.public()).await?
            }
            Err(e) => return Err(e.into()),
        };
        self.store
            .set_registration(&params, client.base_url(), info.tier)?;
        if let (Some(pin), None) = (&tls, &params.tls_ca) {
            self.store.set_meta(TLS_PIN_META, pin.pem())?;
        }
        let params = self.refresh_history(&client).await?.latest().clone();
        let tier = params.tier(info.tier);
        Ok(Registration {
            address: address.to_string(),
            bank: client.base_url().to_string(),
            network: params.name.clone(),
            network_id: params.network_id,
            currency: params.currency.clone(),
            tier: info.tier,
            tier_name: tier.map(|t| t.name.clone()).unwrap_or_default(),
            max_payment: tier
                .map(|t| params.format(t.max_payment))
                .unwrap_or_default(),
            max_balance: tier
                .map(|t| params.format(t.max_balance))
                .unwrap_or_default(),
        })
    }

    /// Balance from the local database (run `sync` first for an up-to-date figure).
    pub fn balance(&self) -> Result<Balance> {
        let params = self.params()?;
        let notes = self.store.unspent_notes(&self.data)?;
        let mut spendable = Amount::ZERO;
        let mut reserved = Amount::ZERO;
        let mut held = Amount::ZERO;
        for n in &notes {
            let slot = if n.pending {
                &mut held
            } else if n.reserved_by.is_some() {
                &mut reserved
            } else {
                &mut spendable
            };
            *slot = slot
                .checked_add(n.opening.amount)
                .map_err(dfc_core::BuildError::from)?;
        }
        let offline = self.offline_totals()?;
        let total = spendable
            .checked_add(reserved)
            .and_then(|t| t.checked_add(offline.purse))
            .and_then(|t| t.checked_add(offline.pending_change))
            .map_err(dfc_core::BuildError::from)?;
        let pending = self
            .store
            .outgoing(&self.data, true)?
            .into_iter()
            .map(|o| o.txid.to_hex())
            .collect();
        Ok(Balance {
            spendable: params.format(spendable),
            reserved: params.format(reserved),
            held: params.format(held),
            held_units: held.units(),
            total: params.format(total),
            spendable_units: spendable.units(),
            reserved_units: reserved.units(),
            total_units: total.units(),
            currency: params.currency.clone(),
            notes: notes.len(),
            synced_height: self.store.sync_height()?,
            at_height: self.store.sync_height()?.saturating_sub(1),
            pending,
            purse: params.format(offline.purse),
            purse_units: offline.purse.units(),
            unsettled_in: params.format(offline.unsettled_in),
            unsettled_in_units: offline.unsettled_in.units(),
            unsettled_out_units: offline.unsettled_out.units(),
        })
    }

    /// History: settled entries from the chain, then stored transactions not yet settled.
    pub fn history(&self) -> Result<Vec<HistoryLine>> {
        let params = self.params()?;
        let fmt = |units: u64| {
            Amount::from_units(units)
                .map(|a| params.format(a))
                .unwrap_or_default()
        };
        let mut held: std::collections::HashMap<TxId, u64> = std::collections::HashMap::new();
        for n in self
            .store
            .unspent_notes(&self.data)?
            .iter()
            .filter(|n| n.pending)
        {
            *held.entry(n.created_txid).or_default() += n.opening.amount.units();
        }
        let mut lines: Vec<HistoryLine> = self
            .store
            .history(&self.data)?
            .into_iter()
            .map(|h| HistoryLine {
                held_units: held.get(&h.txid).copied().unwrap_or(0),
                txid: h.txid.to_hex(),
                kind: h.kind,
                amount: fmt(h.detail.amount_units),
                amount_units: h.detail.amount_units,
                height: Some(h.height),
                time_ms: h.time_ms,
                counterparty: h.detail.counterparty,
                memo: h.detail.memo,
                reason: None,
            })
            .collect();
        let mut open: Vec<Outgoing> = self.store.outgoing(&self.data, true)?;
        open.reverse();
        lines.extend(open.into_iter().map(|o| HistoryLine {
            held_units: 0,
            txid: o.txid.to_hex(),
            kind: format!("pending_{}", o.kind),
            amount: fmt(o.detail.amount_units),
            amount_units: o.detail.amount_units,
            height: None,
            time_ms: o.created_ms,
            counterparty: o.detail.to,
            memo: o.detail.memo,
            reason: None,
        }));
        // Offline payments not settled, and those refused at settlement with the reason: so the
        // history accounts for every change of the balance (issue 19: 892.75 in the history
        // against 887.75 in the balance, with no line for the difference).
        for p in self.store.offline_packets(&self.data, false)? {
            let kind = match p.state.as_str() {
                packet_state::PENDING => "pending_offline_outgoing",
                packet_state::FAILED => "failed_offline_outgoing",
                _ => continue,
            };
            lines.push(HistoryLine {
                held_units: 0,
                txid: p.txid.to_hex(),
                kind: kind.to_string(),
                amount: fmt(p.detail.amount_units),
                amount_units: p.detail.amount_units,
                height: None,
                time_ms: p.created_ms,
                counterparty: p.detail.to,
                memo: p.detail.memo,
                reason: p.error,
            });
        }
        Ok(lines)
    }

    /// Parses and checks a recipient address against the pinned network.
    pub fn parse_address(&self, text: &str) -> Result<Address> {
        let params = self.params()?;
        let to: Address = text.parse().map_err(WalletError::BadAddress)?;
        if to.network != params.network_id {
            return Err(WalletError::WrongNetwork {
                expected: params.network_id,
                got: to.network,
            });
        }
        Ok(to)
    }

    /// Formats minor units in the network's currency (empty if the parameters are unreadable).
    pub fn format_units(&self, units: u64) -> String {
        match (self.params(), Amount::from_units(units)) {
            (Ok(p), Ok(a)) => p.format(a),
            _ => String::new(),
        }
    }

    /// Parses a positive amount in the currency's decimals.
    pub fn parse_amount(&self, text: &str) -> Result<Amount> {
        let params = self.params()?;
        let amount = Amount::parse(text, params.decimals).map_err(WalletError::BadAmount)?;
        if amount == Amount::ZERO {
            return Err(WalletError::ZeroAmount);
        }
        Ok(amount)
    }

    /// Selects notes, builds the transaction (with change back to this wallet), stores it and
    /// reserves its inputs. Nothing is sent. `to = None` with `kind = Redeem` redeems `amount`.
    pub fn prepare(
        &mut self,
        kind: TxKind,
        to: Option<&Address>,
        amount: Amount,
        memo: &str,
    ) -> Result<Prepared> {
        self.prepare_with(kind, to, amount, memo, &BuildOptions::default())
    }

    /// The build options a payment needs: the tiers of this wallet and of the payee, read from
    /// the node's registry, and this wallet's own keys (its purse's change is change), so the
    /// transfer's flow section can prove the payment within the caps without revealing it.
    pub async fn build_options(
        &self,
        client: &BankClient,
        _params: &NetworkParams,
        kind: TxKind,
        to: Option<&Address>,
    ) -> Result<BuildOptions> {
        if kind != TxKind::Transfer {
            return Ok(BuildOptions::default());
        }
        let me = client.wallet(&self.keys.spend.public()).await?;
        let mut payee_tiers = Vec::new();
        if let Some(to) = to {
            if to.spend != self.keys.spend.public() {
                payee_tiers.push((to.spend, client.wallet(&to.spend).await?.tier));
            }
        }
        Ok(BuildOptions {
            compliance: Some(ComplianceContext {
                payer_tier: me.tier,
                own_keys: vec![
                    self.keys.spend.public(),
                    self.keys.purse_key(offline::PURSE_INDEX).public(),
                ],
                payee_tiers,
            }),
        })
    }

    /// [`Wallet::prepare`] with build options (see [`Wallet::build_options`]).
    pub fn prepare_with(
        &mut self,
        kind: TxKind,
        to: Option<&Address>,
        amount: Amount,
        memo: &str,
        options: &BuildOptions,
    ) -> Result<Prepared> {
        let params = self.params()?;
        if memo.len() > MAX_MEMO_BYTES {
            return Err(WalletError::MemoTooLong {
                len: memo.len(),
                limit: MAX_MEMO_BYTES,
            });
        }
        let started = Instant::now();
        let notes = self.store.unspent_notes(&self.data)?;
        let reserved = Amount::sum(
            notes
                .iter()
                .filter(|n| n.reserved_by.is_some())
                .map(|n| n.opening.amount),
        )
        .map_err(dfc_core::BuildError::from)?;
        // A redemption takes held (pending) notes first when they cover it: the reverse waterfall
        // of what the wallet may not hold to its bank account.
        let held_total: u64 = notes
            .iter()
            .filter(|n| n.reserved_by.is_none() && n.pending)
            .map(|n| n.opening.amount.units())
            .sum();
        let held_only = kind == TxKind::Redeem && held_total >= amount.units();
        let candidates: Vec<Candidate> = notes
            .iter()
            .filter(|n| n.reserved_by.is_none())
            .filter(|n| {
                if held_only {
                    n.pending
                } else {
                    !n.pending || kind == TxKind::Redeem
                }
            })
            .map(|n| Candidate {
                id: n.id,
                amount: n.opening.amount,
            })
            .collect();
        let selection =
            select::select(&candidates, amount, params.limits.max_inputs).map_err(|e| match e {
                SelectError::Insufficient { available, asked } => WalletError::InsufficientFunds {
                    available: params.format(available),
                    asked: params.format(asked),
                    reserved_note: if reserved > Amount::ZERO {
                        format!(
                            " ({} more is held by pending payments)",
                            params.format(reserved)
                        )
                    } else {
                        String::new()
                    },
                },
                SelectError::TooManyInputs { needed, limit } => WalletError::TooManyInputs {
                    asked: params.format(amount),
                    needed,
                    limit,
                },
            })?;
        let inputs: Vec<SpendInput> = selection
            .notes
            .iter()
            .map(|c| {
                let note = notes
                    .iter()
                    .find(|n| n.id == c.id)
                    .expect("selection only returns candidates drawn from these notes");
                SpendInput {
                    id: note.id,
                    opening: note.opening.clone(),
                    key: self.keys.spend.clone(),
                }
            })
            .collect();
        let me = self.keys.address(params.network_id);
        let mut payments = Vec::with_capacity(2);
        if let Some(to) = to {
            payments.push(Payment {
                to: *to,
                amount,
                memo: memo.as_bytes().to_vec(),
            });
        }
        // A redemption with no change still needs one output: a zero note back to ourselves.
        if selection.change > Amount::ZERO || payments.is_empty() {
            payments.push(Payment {
                to: me,
                amount: selection.change,
                memo: Vec::new(),
            });
        }
        let public_amount = if kind == TxKind::Redeem {
            amount
        } else {
            Amount::ZERO
        };
        let built = build_with(
            &params,
            kind,
            public_amount,
            &inputs,
            &payments,
            options,
            &mut OsRng,
        )?;
        let build_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let txid = built.tx.id();
        let detail = OutgoingDetail {
            amount_units: amount.units(),
            to: to.map(|a| a.to_string()),
            memo: memo.to_string(),
            change_units: selection.change.units(),
        };
        let input_ids: Vec<_> = inputs.iter().map(|i| i.id).collect();
        self.store.record_outgoing(
            &self.data,
            &txid,
            kind.name(),
            &built.tx.to_hex(),
            &input_ids,
            &detail,
        )?;
        Ok(Prepared {
            tx: built.tx,
            txid,
            detail,
            build_ms,
        })
    }

    /// Pays `amount` to `to`: syncs (resuming stored payments), builds and stores the transaction,
    /// submits it, verifies the receipt, then syncs again to record the spend and the change.
    pub async fn pay(&mut self, to: &str, amount: &str, memo: &str) -> Result<PaymentReport> {
        let to = self.parse_address(to)?;
        let amount = self.parse_amount(amount)?;
        self.spend(TxKind::Transfer, Some(&to), amount, memo).await
    }

    /// Asks the bank to redeem `amount`: the owner-signed redeem transaction waits for operator
    /// approvals; its notes stay reserved until it commits.
    pub async fn redeem(&mut self, amount: &str) -> Result<PaymentReport> {
        let amount = self.parse_amount(amount)?;
        self.spend(TxKind::Redeem, None, amount, "").await
    }

    async fn spend(
        &mut self,
        kind: TxKind,
        to: Option<&Address>,
        amount: Amount,
        memo: &str,
    ) -> Result<PaymentReport> {
        let params = self.params()?;
        if memo.len() > MAX_MEMO_BYTES {
            return Err(WalletError::MemoTooLong {
                len: memo.len(),
                limit: MAX_MEMO_BYTES,
            });
        }
        // Syncing first reaches the node before anything is stored, so an unreachable node changes
        // nothing, and notes are current.
        self.sync().await?;
        let client = self.client()?;
        let options = self.build_options(&client, &params, kind, to).await?;
        let prepared = self.prepare_with(kind, to, amount, memo, &options)?;
        if self.fault == Some(FaultPoint::AfterStore) {
            return Err(WalletError::InjectedFault("store"));
        }
        let state = self.send(&client, &prepared.txid, &prepared.tx).await?;
        let mut note = None;
        if state == OutgoingState::Committed {
            if let Err(e) = self.sync().await {
                note = Some(format!("payment committed; the follow-up sync failed: {e}"));
            }
        }
        let stored = self
            .store
            .outgoing(&self.data, false)?
            .into_iter()
            .find(|o| o.txid == prepared.txid);
        let (approvals, threshold) = if state == OutgoingState::AwaitingApproval {
            match client.tx_status(&prepared.txid).await {
                Ok(TxStatus::AwaitingApproval {
                    approvals,
                    threshold,
                }) => (Some(approvals), Some(threshold)),
                _ => (None, Some(params.threshold)),
            }
        } else {
            (None, None)
        };
        Ok(PaymentReport {
            txid: prepared.txid.to_hex(),
            kind: kind.name().to_string(),
            amount: params.format(amount),
            amount_units: amount.units(),
            to: prepared.detail.to.clone(),
            change: Amount::from_units(prepared.detail.change_units)
                .map(|a| params.format(a))
                .unwrap_or_default(),
            inputs: prepared.tx.inputs.len(),
            outputs: prepared.tx.outputs.len(),
            build_ms: prepared.build_ms,
            tx_bytes: prepared.tx.encode().len(),
            state: state.as_str(),
            receipt: stored.and_then(|o| o.receipt),
            approvals,
            threshold,
            note,
        })
    }

    /// The verified receipt of `txid`: stored, or fetched from the node.
    pub async fn receipt(&mut self, txid: &str) -> Result<Receipt> {
        let txid = Hash32::from_hex(txid).map_err(WalletError::BadTxId)?;
        let stored = self
            .store
            .outgoing(&self.data, false)?
            .into_iter()
            .find(|o| o.txid == txid);
        if let Some(r) = stored.as_ref().and_then(|o| o.receipt.clone()) {
            if r.verify(&self.node_key_at(r.height)?) && r.txid == txid {
                return Ok(r);
            }
            return Err(WalletError::BadReceipt {
                txid: txid.to_hex(),
            });
        }
        let client = self.client()?;
        match client.tx_status(&txid).await? {
            TxStatus::Committed { receipt } => {
                if receipt.txid != txid || !receipt.verify(&self.node_key_at(receipt.height)?) {
                    return Err(WalletError::BadReceipt {
                        txid: txid.to_hex(),
                    });
                }
                if stored.is_some() {
                    self.store.set_outgoing_state(
                        &txid,
                        OutgoingState::Committed,
                        Some(&receipt),
                        None,
                    )?;
                }
                Ok(receipt)
            }
            TxStatus::AwaitingApproval {
                approvals,
                threshold,
            } => Err(WalletError::NotCommitted {
                txid: txid.to_hex(),
                state: format!("awaiting approval, {approvals} of {threshold}"),
            }),
            TxStatus::Unknown => match stored {
                Some(o) => Err(WalletError::NotCommitted {
                    txid: txid.to_hex(),
                    state: o.state.as_str().to_string(),
                }),
                None => Err(WalletError::UnknownTx {
                    txid: txid.to_hex(),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests;
