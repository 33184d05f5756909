//! Offline payments in the wallet: funding a purse (online), paying with a packet and accepting
//! one (no network), and settling packets at the next sync.
//!
//! The wallet has one purse, the key `WalletKeys::purse_key(0)`; funding again re-certifies the
//! same key (a new serial and expiry) and tops it up. Its notes are kept apart from the online
//! notes, each with its proof against the stored checkpoint. A payment spends exactly one proven
//! purse note; its change goes back to the purse but is usable offline only once the payment has
//! settled and a sync has proven it. Received offline value is *unsettled*: it is shown apart
//! from the balance and cannot fund a purse or be paid onward until the packet settles (the
//! onward-payment policy; see `docs/offline.md`).

use std::collections::HashMap;
use std::time::Instant;

use dfc_client::{BankClient, ClientError};
use dfc_core::api::Checkpoint;
use dfc_core::compliance::ComplianceContext;
use dfc_core::merkle::MerkleProof;
use dfc_core::note::MAX_MEMO_BYTES;
use dfc_core::offline::{
    make_packet, verify_packet, AcceptPolicy, PayeeBook, PaymentPacket, PurseCertificate,
    MAX_PACKET_BYTES, PACKET_TEXT_PREFIX,
};
use dfc_core::offline_api::{PurseRequest, MAX_PROOF_NOTES};
use dfc_core::{
    build_with, Amount, BuildOptions, NetworkParams, Payment, PublicKey, SpendInput, TxId, TxKind,
};
use rand_core::OsRng;
use serde::Serialize;

use super::{Resumed, Wallet};
use crate::error::{Result, WalletError};
use crate::select::{self, Candidate, SelectError};
use crate::store::offline::{note_state, packet_state, PacketDetail, PacketRecord};
use crate::store::{now_ms, OutgoingDetail};

/// The wallet's purse number (see the module documentation).
pub const PURSE_INDEX: u64 = 0;
/// Default number of purse notes a funding makes.
pub const DEFAULT_PURSE_NOTES: usize = 4;

/// What `offline fund` reports.
#[derive(Clone, Debug, Serialize)]
pub struct FundReport {
    /// Funding transaction.
    pub txid: String,
    /// Amount moved into the purse, formatted.
    pub amount: String,
    /// Certificate serial.
    pub serial: u64,
    /// Cap per payment and of the purse, formatted.
    pub cap: String,
    /// Cap in minor units.
    pub cap_units: u64,
    /// Certificate expiry, ms since the epoch.
    pub expires_ms: u64,
    /// Certificate expiry as UTC calendar time, for people.
    pub expires: String,
    /// Usable purse notes now.
    pub notes: usize,
    /// Usable purse value, minor units.
    pub purse_units: u64,
    /// Height of the stored checkpoint.
    pub checkpoint_height: u64,
}

/// What `offline pay` reports; the caller writes the packet.
#[derive(Clone, Debug, Serialize)]
pub struct OfflinePayment {
    /// Transaction id.
    pub txid: String,
    /// Amount, formatted.
    pub amount: String,
    /// Amount, minor units.
    pub amount_units: u64,
    /// Change back to the purse (usable after settlement), minor units.
    pub change_units: u64,
    /// That change, formatted.
    pub change: String,
    /// Purse counter of this packet.
    pub counter: u64,
    /// Encoded size, bytes.
    pub size_bytes: usize,
    /// Text form.
    pub text: String,
    /// Text length, characters.
    pub text_chars: usize,
    /// Build time, ms.
    pub build_ms: u64,
    /// The binary packet.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// What `offline accept` reports.
#[derive(Clone, Debug, Serialize)]
pub struct AcceptReport {
    /// Transaction id.
    pub txid: String,
    /// Amount received (unsettled), formatted.
    pub amount: String,
    /// Amount, minor units.
    pub amount_units: u64,
    /// The paying wallet (hex spend key).
    pub payer: String,
    /// Purse counter.
    pub counter: u64,
    /// Memo.
    pub memo: String,
    /// Unsettled total after this packet, minor units.
    pub unsettled_units: u64,
}

/// Overrides of the stored acceptance policy for one `offline accept`.
#[derive(Clone, Debug, Default)]
pub struct PolicyOverrides {
    /// Most from one payer, unsettled.
    pub max_per_payer: Option<Amount>,
    /// Most unsettled in all.
    pub max_unsettled: Option<Amount>,
    /// Oldest checkpoint, ms.
    pub max_checkpoint_age_ms: Option<u64>,
}

/// One line of `offline list`.
#[derive(Clone, Debug, Serialize)]
pub struct PacketLine {
    /// `in` or `out`.
    pub direction: &'static str,
    /// Transaction id.
    pub txid: String,
    /// Amount, formatted.
    pub amount: String,
    /// Amount, minor units.
    pub amount_units: u64,
    /// `pending`, `settled` or `failed`.
    pub state: String,
    /// Purse counter.
    pub counter: u64,
    /// Recipient (out) or paying purse (in).
    pub counterparty: Option<String>,
    /// Memo.
    pub memo: String,
    /// Why it failed.
    pub error: Option<String>,
    /// Evidence id of a double spend.
    pub evidence: Option<String>,
    /// Settlement height.
    pub height: Option<u64>,
}

/// The purse as the terminal app shows it: certificate, counter and notes by state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurseStatus {
    /// Certificate serial.
    pub serial: u64,
    /// Cap per payment and of the purse.
    pub cap: Amount,
    /// Certificate expiry, ms since the epoch.
    pub expires_ms: u64,
    /// Packets made so far (the purse counter).
    pub counter: u64,
    /// Height of the stored checkpoint the proofs are against.
    pub checkpoint_height: Option<u64>,
    /// Proven notes usable offline now.
    pub ready_notes: usize,
    /// Their value.
    pub ready: Amount,
    /// Notes waiting for a proof (change of settled packets), usable after a sync.
    pub unproven_notes: usize,
    /// Their value.
    pub unproven: Amount,
    /// Notes spent by packets not settled yet.
    pub spent_offline_notes: usize,
}

/// Offline figures for `balance`.
#[derive(Clone, Debug, Default)]
pub struct OfflineTotals {
    /// Purse notes not spent (ready or unproven), minor units.
    pub purse: Amount,
    /// The change of paid packets not settled yet: it comes back to the purse when they settle,
    /// so it counts in the balance's total meanwhile, minor units.
    pub pending_change: Amount,
    /// Accepted packets not settled, minor units.
    pub unsettled_in: Amount,
    /// Paid packets not settled, minor units.
    pub unsettled_out: Amount,
}

/// The payee's book over the accepted packets in the database.
struct Book {
    total: Amount,
    per: HashMap<PublicKey, Amount>,
    counters: HashMap<PublicKey, u64>,
    txs: Vec<TxId>,
}

impl Book {
    fn new(records: &[PacketRecord]) -> Result<Book> {
        let mut b = Book {
            total: Amount::ZERO,
            per: HashMap::new(),
            counters: HashMap::new(),
            txs: Vec::new(),
        };
        for r in records {
            b.txs.push(r.txid);
            let Some(purse) = r.purse else { continue };
            let last = b.counters.entry(purse).or_insert(r.counter);
            *last = (*last).max(r.counter);
            if r.state == packet_state::PENDING {
                let a = Amount::from_units(r.detail.amount_units)
                    .map_err(dfc_core::BuildError::from)?;
                b.total = b.total.checked_add(a).map_err(dfc_core::BuildError::from)?;
                let e = b.per.entry(purse).or_insert(Amount::ZERO);
                *e = e.checked_add(a).map_err(dfc_core::BuildError::from)?;
            }
        }
        Ok(b)
    }
}

impl PayeeBook for Book {
    fn unsettled_total(&self) -> Amount {
        self.total
    }
    fn unsettled_from(&self, purse: &PublicKey) -> Amount {
        self.per.get(purse).copied().unwrap_or(Amount::ZERO)
    }
    fn last_counter(&self, purse: &PublicKey) -> Option<u64> {
        self.counters.get(purse).copied()
    }
    fn has_tx(&self, txid: &TxId) -> bool {
        self.txs.contains(txid)
    }
}

/// Parses a packet file: its text form (`DFCPAY2:...`) or its binary encoding.
pub fn parse_packet(bytes: &[u8]) -> Result<PaymentPacket> {
    let text = std::str::from_utf8(bytes).ok().map(str::trim);
    let decoded = match text {
        Some(t) if t.starts_with(PACKET_TEXT_PREFIX) => PaymentPacket::from_text(t),
        _ => PaymentPacket::decode(bytes),
    };
    decoded.map_err(|e| WalletError::OfflineRefused(e.into()))
}

impl Wallet {
    fn purse_cert(&self) -> Result<Option<PurseCertificate>> {
        self.store
            .meta("purse_cert")?
            .map(|t| {
                serde_json::from_str(&t).map_err(|e| WalletError::CorruptedDatabase {
                    path: self.store.path().to_path_buf(),
                    reason: format!("purse certificate: {e}"),
                })
            })
            .transpose()
    }

    fn purse_checkpoint(&self) -> Result<Option<Checkpoint>> {
        self.store
            .meta("purse_checkpoint")?
            .map(|t| {
                serde_json::from_str(&t).map_err(|e| WalletError::CorruptedDatabase {
                    path: self.store.path().to_path_buf(),
                    reason: format!("purse checkpoint: {e}"),
                })
            })
            .transpose()
    }

    fn purse_counter(&self) -> Result<u64> {
        Ok(self
            .store
            .meta("purse_counter")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// The acceptance policy stored in the wallet (the core defaults until changed).
    pub fn accept_policy(&self) -> Result<AcceptPolicy> {
        match self.store.meta("offline_policy")? {
            Some(t) => serde_json::from_str(&t).map_err(|e| WalletError::CorruptedDatabase {
                path: self.store.path().to_path_buf(),
                reason: format!("offline policy: {e}"),
            }),
            None => Ok(AcceptPolicy::default()),
        }
    }

    /// Stores a new default acceptance policy.
    pub fn set_accept_policy(&mut self, policy: &AcceptPolicy) -> Result<()> {
        self.store.set_meta(
            "offline_policy",
            &serde_json::to_string(policy).expect("policies serialise"),
        )
    }

    /// The offline figures shown by `balance`.
    pub fn offline_totals(&self) -> Result<OfflineTotals> {
        let mut t = OfflineTotals::default();
        for n in self.store.purse_notes(&self.data)? {
            if n.state != note_state::SPENT_OFFLINE {
                t.purse = t
                    .purse
                    .checked_add(n.opening.amount)
                    .map_err(dfc_core::BuildError::from)?;
            }
        }
        for (incoming, slot) in [(true, &mut t.unsettled_in), (false, &mut t.unsettled_out)] {
            for r in self.store.offline_packets(&self.data, incoming)? {
                if r.state == packet_state::PENDING {
                    let a = Amount::from_units(r.detail.amount_units)
                        .map_err(dfc_core::BuildError::from)?;
                    *slot = slot.checked_add(a).map_err(dfc_core::BuildError::from)?;
                    if !incoming {
                        // The change of a paid packet comes back to the purse when it settles:
                        // it is ours meanwhile, so only the amount paid leaves the balance (and
                        // the history's `pending_offline_outgoing` line accounts for it).
                        let change = Amount::from_units(r.detail.change_units)
                            .map_err(dfc_core::BuildError::from)?;
                        t.pending_change = t
                            .pending_change
                            .checked_add(change)
                            .map_err(dfc_core::BuildError::from)?;
                    }
                }
            }
        }
        Ok(t)
    }

    /// The purse's certificate, counter and notes, or `None` before the first funding.
    pub fn purse_status(&self) -> Result<Option<PurseStatus>> {
        let Some(cert) = self.purse_cert()? else {
            return Ok(None);
        };
        let mut s = PurseStatus {
            serial: cert.serial,
            cap: cert.cap,
            expires_ms: cert.expires_ms,
            counter: self.purse_counter()?,
            checkpoint_height: self.purse_checkpoint()?.map(|c| c.height),
            ..PurseStatus::default()
        };
        for n in self.store.purse_notes(&self.data)? {
            let (count, sum) = match n.state.as_str() {
                note_state::READY if n.proof.is_some() => (&mut s.ready_notes, Some(&mut s.ready)),
                note_state::SPENT_OFFLINE => (&mut s.spent_offline_notes, None),
                _ => (&mut s.unproven_notes, Some(&mut s.unproven)),
            };
            *count += 1;
            if let Some(sum) = sum {
                *sum = sum
                    .checked_add(n.opening.amount)
                    .map_err(dfc_core::BuildError::from)?;
            }
        }
        Ok(Some(s))
    }

    /// Online: gets a purse certificate, moves `amount` into `notes` purse notes, syncs and stores
    /// the checkpoint and proofs that make them spendable offline. `ignore_cap` is the test-only
    /// hook that lets a purse hold more than its cap (to make an over-cap packet).
    pub async fn offline_fund(
        &mut self,
        amount: &str,
        notes: usize,
        ttl_ms: Option<u64>,
        ignore_cap: bool,
    ) -> Result<FundReport> {
        let params = self.params()?;
        let amount = self.parse_amount(amount)?;
        let max_notes = params.limits.max_outputs.saturating_sub(1).max(1);
        if notes == 0 || notes > max_notes {
            return Err(WalletError::BadOption {
                what: "--notes",
                reason: format!("between 1 and {max_notes} purse notes per funding"),
            });
        }
        if amount.units() < notes as u64 {
            return Err(WalletError::BadOption {
                what: "--notes",
                reason: format!(
                    "{} cannot be split into {notes} notes",
                    params.format(amount)
                ),
            });
        }
        self.sync().await?;
        // Refuse before asking for a certificate when the current one already says no.
        if let Some(current) = self.purse_cert()? {
            let would_hold = self
                .offline_totals()?
                .purse
                .checked_add(amount)
                .map_err(dfc_core::BuildError::from)?;
            if would_hold > current.cap && !ignore_cap {
                return Err(WalletError::PurseFull {
                    amount: params.format(amount),
                    would_hold: params.format(would_hold),
                    cap: params.format(current.cap),
                });
            }
        }
        let client = self.client()?;
        let purse_key = self.keys.purse_key(PURSE_INDEX);
        let req = PurseRequest::new(
            params.network_id,
            &self.keys.spend,
            purse_key.public(),
            ttl_ms,
            now_ms(),
        );
        let cert = client.purse(&req).await?;
        if !cert.verify(&params.node_key)
            || cert.wallet != self.keys.spend.public()
            || cert.purse != purse_key.public()
            || cert.network != params.network_id
        {
            return Err(WalletError::BadCertificate);
        }
        let held = self.offline_totals()?.purse;
        let would_hold = held
            .checked_add(amount)
            .map_err(dfc_core::BuildError::from)?;
        if would_hold > cert.cap && !ignore_cap {
            return Err(WalletError::PurseFull {
                amount: params.format(amount),
                would_hold: params.format(would_hold),
                cap: params.format(cert.cap),
            });
        }
        self.store.set_meta(
            "purse_cert",
            &serde_json::to_string(&cert).expect("certificates serialise"),
        )?;
        let (txid, tx) = self.prepare_purse_funding(&params, amount, notes, cert.tier)?;
        self.send(&client, &txid, &tx).await?;
        self.sync().await?;
        let usable: Vec<_> = self
            .store
            .purse_notes(&self.data)?
            .into_iter()
            .filter(|n| n.state == note_state::READY)
            .collect();
        let purse_units = usable.iter().map(|n| n.opening.amount.units()).sum();
        Ok(FundReport {
            txid: txid.to_hex(),
            amount: params.format(amount),
            serial: cert.serial,
            cap: params.format(cert.cap),
            cap_units: cert.cap.units(),
            expires_ms: cert.expires_ms,
            expires: dfc_core::time::utc_text(cert.expires_ms),
            notes: usable.len(),
            purse_units,
            checkpoint_height: self.purse_checkpoint()?.map(|c| c.height).unwrap_or(0),
        })
    }

    /// Builds and stores (reserving its inputs) the transfer of `amount` into `notes` purse notes.
    /// The purse is this wallet's own account (`tier` is the wallet's, from the certificate): every
    /// output is change, so funding a purse neither raises the balance nor needs a claim.
    fn prepare_purse_funding(
        &mut self,
        params: &NetworkParams,
        amount: Amount,
        notes: usize,
        tier: u8,
    ) -> Result<(TxId, dfc_core::Transaction)> {
        let owned = self.store.unspent_notes(&self.data)?;
        let candidates: Vec<Candidate> = owned
            .iter()
            .filter(|n| n.reserved_by.is_none() && !n.pending)
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
                    reserved_note: " (received offline value counts only once settled)".into(),
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
            .filter_map(|c| owned.iter().find(|n| n.id == c.id))
            .map(|n| SpendInput {
                id: n.id,
                opening: n.opening.clone(),
                key: self.keys.spend.clone(),
            })
            .collect();
        let purse_addr = self.keys.purse_address(params.network_id, PURSE_INDEX);
        let n = notes as u64;
        let each = amount.units() / n;
        let mut payments: Vec<Payment> = (0..n)
            .map(|i| Payment {
                to: purse_addr,
                // The last note takes the remainder of the split.
                amount: Amount::from_units(if i + 1 == n {
                    amount.units() - each * (n - 1)
                } else {
                    each
                })
                .unwrap_or(Amount::ZERO),
                memo: Vec::new(),
            })
            .collect();
        if selection.change > Amount::ZERO {
            payments.push(Payment {
                to: self.keys.address(params.network_id),
                amount: selection.change,
                memo: Vec::new(),
            });
        }
        let options = BuildOptions {
            compliance: Some(ComplianceContext {
                payer_tier: tier,
                own_keys: vec![self.keys.spend.public(), purse_addr.spend],
                payee_tiers: Vec::new(),
            }),
        };
        let built = build_with(
            params,
            TxKind::Transfer,
            Amount::ZERO,
            &inputs,
            &payments,
            &options,
            &mut OsRng,
        )?;
        let txid = built.tx.id();
        let detail = OutgoingDetail {
            amount_units: amount.units(),
            to: Some(purse_addr.to_string()),
            memo: "offline purse".into(),
            change_units: selection.change.units(),
        };
        let ids: Vec<_> = inputs.iter().map(|i| i.id).collect();
        self.store.record_outgoing(
            &self.data,
            &txid,
            TxKind::Transfer.name(),
            &built.tx.to_hex(),
            &ids,
            &detail,
        )?;
        Ok((txid, built.tx))
    }

    /// After a sync: proves every purse note not spent offline against a fresh checkpoint, so the
    /// packets made from now on all carry one checkpoint. Returns the checkpoint height.
    pub(super) async fn refresh_purse(&mut self, client: &BankClient) -> Result<Option<u64>> {
        if self.purse_cert()?.is_none() {
            return Ok(None);
        }
        let params = self.params()?;
        let notes: Vec<_> = self
            .store
            .purse_notes(&self.data)?
            .into_iter()
            .filter(|n| n.state == note_state::READY || n.state == note_state::UNPROVEN)
            .take(MAX_PROOF_NOTES)
            .collect();
        if notes.is_empty() {
            return Ok(None);
        }
        let ids: Vec<_> = notes.iter().map(|n| n.id).collect();
        let resp = client.checkpoint_proofs(&ids).await?;
        if !resp.checkpoint.verify(&params.node_key) || resp.proofs.len() != ids.len() {
            return Err(WalletError::BadCertificate);
        }
        let purse = self.keys.purse_key(PURSE_INDEX).public();
        let mut proven: Vec<(dfc_core::NoteId, MerkleProof)> = Vec::new();
        for (n, p) in notes.iter().zip(resp.proofs) {
            // Believe only proofs that check against the signed root.
            let leaf = dfc_core::merkle::leaf_hash(&n.id, &n.commitment, &purse);
            if p.verify(&leaf, &resp.checkpoint.ledger_root) {
                proven.push((n.id, p));
            }
        }
        self.store.set_purse_proofs(
            &serde_json::to_string(&resp.checkpoint).expect("checkpoints serialise"),
            &proven,
        )?;
        Ok(Some(resp.checkpoint.height))
    }

    /// No network: pays `amount` to `to` from one proven purse note and returns the packet. The
    /// purse counter, the note's offline spend and the packet are stored before this returns,
    /// so the packet is never shown before the wallet has recorded it. `ignore_cap` is a
    /// test-only hook (`DFC_WALLET_TEST_OFFLINE_IGNORE_CAP`) to make an over-cap packet.
    pub fn offline_pay(
        &mut self,
        to: &str,
        amount: &str,
        memo: &str,
        ignore_cap: bool,
    ) -> Result<OfflinePayment> {
        let params = self.params()?;
        let to = self.parse_address(to)?;
        let amount = self.parse_amount(amount)?;
        if memo.len() > MAX_MEMO_BYTES {
            return Err(WalletError::MemoTooLong {
                len: memo.len(),
                limit: MAX_MEMO_BYTES,
            });
        }
        let cert = self.purse_cert()?.ok_or(WalletError::NoPurse)?;
        let checkpoint = self.purse_checkpoint()?.ok_or(WalletError::NoPurse)?;
        let now = now_ms();
        if now > cert.expires_ms {
            return Err(WalletError::PurseExpired {
                expires_ms: cert.expires_ms,
                now_ms: now,
            });
        }
        if amount > cert.cap && !ignore_cap {
            return Err(WalletError::OverPurseCap {
                amount: params.format(amount),
                cap: params.format(cert.cap),
            });
        }
        let started = Instant::now();
        let usable: Vec<_> = self
            .store
            .purse_notes(&self.data)?
            .into_iter()
            .filter(|n| n.state == note_state::READY && n.proof.is_some())
            .collect();
        let note = usable
            .iter()
            .filter(|n| n.opening.amount >= amount)
            .min_by_key(|n| n.opening.amount)
            .ok_or_else(|| WalletError::NoPurseNote {
                asked: params.format(amount),
                largest: params.format(
                    usable
                        .iter()
                        .map(|n| n.opening.amount)
                        .max()
                        .unwrap_or(Amount::ZERO),
                ),
                usable: params.format(
                    Amount::sum(usable.iter().map(|n| n.opening.amount)).unwrap_or(Amount::ZERO),
                ),
                notes: usable.len(),
            })?;
        let proof = note.proof.clone().ok_or(WalletError::NoPurse)?;
        let purse_key = self.keys.purse_key(PURSE_INDEX);
        let change = note
            .opening
            .amount
            .checked_sub(amount)
            .map_err(dfc_core::BuildError::from)?;
        let mut payments = vec![Payment {
            to,
            amount,
            memo: memo.as_bytes().to_vec(),
        }];
        if change > Amount::ZERO {
            payments.push(Payment {
                to: self.keys.purse_address(params.network_id, PURSE_INDEX),
                amount: change,
                memo: Vec::new(),
            });
        }
        let previous = self.purse_counter()?;
        let counter = previous + 1;
        let input = SpendInput {
            id: note.id,
            opening: note.opening.clone(),
            key: purse_key.clone(),
        };
        let (packet, _) = make_packet(
            &params,
            &cert,
            &checkpoint,
            &[(input, proof)],
            &payments,
            counter,
            &purse_key,
            &mut OsRng,
        )?;
        let bytes = packet.encode();
        if bytes.len() > MAX_PACKET_BYTES {
            return Err(WalletError::PacketTooLarge {
                size: bytes.len(),
                limit: MAX_PACKET_BYTES,
            });
        }
        let detail = PacketDetail {
            amount_units: amount.units(),
            to: Some(to.to_string()),
            memo: memo.to_string(),
            change_units: change.units(),
        };
        self.store
            .record_offline_payment(&self.data, &packet, previous, &detail)?;
        let text = packet.to_text();
        Ok(OfflinePayment {
            txid: packet.tx.id().to_hex(),
            amount: params.format(amount),
            amount_units: amount.units(),
            change_units: change.units(),
            change: params.format(change),
            counter,
            size_bytes: bytes.len(),
            text_chars: text.len(),
            text,
            build_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            bytes,
        })
    }

    /// No network: verifies a packet (binary or text) with the payee's policy and stores it as
    /// pending incoming. A refusal says which check failed and changes nothing.
    pub fn offline_accept(
        &mut self,
        packet_bytes: &[u8],
        overrides: &PolicyOverrides,
    ) -> Result<AcceptReport> {
        let params = self.params()?;
        let packet = parse_packet(packet_bytes)?;
        let stored = self.accept_policy()?;
        let policy = AcceptPolicy {
            max_per_payer: overrides.max_per_payer.unwrap_or(stored.max_per_payer),
            max_unsettled: overrides.max_unsettled.unwrap_or(stored.max_unsettled),
            max_checkpoint_age_ms: overrides
                .max_checkpoint_age_ms
                .unwrap_or(stored.max_checkpoint_age_ms),
        };
        let records = self.store.offline_packets(&self.data, true)?;
        let book = Book::new(&records)?;
        let accepted = verify_packet(&packet, &params, &self.keys, &policy, &book, now_ms())?;
        let memo = accepted
            .notes
            .first()
            .map(|(_, o)| String::from_utf8_lossy(&o.memo).into_owned())
            .unwrap_or_default();
        let detail = PacketDetail {
            amount_units: accepted.amount.units(),
            to: None,
            memo: memo.clone(),
            change_units: 0,
        };
        self.store
            .record_offline_accept(&self.data, &packet, &detail)?;
        Ok(AcceptReport {
            txid: accepted.txid.to_hex(),
            amount: params.format(accepted.amount),
            amount_units: accepted.amount.units(),
            payer: hex::encode(accepted.payer_wallet.to_bytes()),
            counter: accepted.counter,
            memo,
            unsettled_units: book.total.units() + accepted.amount.units(),
        })
    }

    /// Packets paid and accepted, for `offline list`.
    pub fn offline_list(&self) -> Result<Vec<PacketLine>> {
        let params = self.params()?;
        let mut out = Vec::new();
        for (incoming, direction) in [(false, "out"), (true, "in")] {
            for r in self.store.offline_packets(&self.data, incoming)? {
                out.push(PacketLine {
                    direction,
                    txid: r.txid.to_hex(),
                    amount: Amount::from_units(r.detail.amount_units)
                        .map(|a| params.format(a))
                        .unwrap_or_default(),
                    amount_units: r.detail.amount_units,
                    state: r.state,
                    counter: r.counter,
                    counterparty: if incoming {
                        r.purse.map(|p| hex::encode(p.to_bytes()))
                    } else {
                        r.detail.to
                    },
                    memo: r.detail.memo,
                    error: r.error,
                    evidence: r.evidence,
                    height: r.height,
                });
            }
        }
        Ok(out)
    }

    /// At sync: submits every pending packet, paid or accepted (whoever is online first settles).
    /// A double spend marks the packet failed with the node's evidence id; a node that cannot be
    /// reached, or a payer the node has frozen, leaves the packet pending.
    pub(super) async fn settle_offline(&mut self, client: &BankClient) -> Result<Vec<Resumed>> {
        let mut out = Vec::new();
        for incoming in [false, true] {
            let pending: Vec<PacketRecord> = self
                .store
                .offline_packets(&self.data, incoming)?
                .into_iter()
                .filter(|r| r.state == packet_state::PENDING)
                .collect();
            for r in pending {
                let (state, detail) = match client.settle(&r.packet).await {
                    Ok(receipt)
                        if receipt.txid == r.txid
                            && receipt.verify(&self.node_key_at(receipt.height)?) =>
                    {
                        self.store.set_packet_state(
                            incoming,
                            &r.txid,
                            packet_state::SETTLED,
                            Some(receipt.height),
                            None,
                            None,
                        )?;
                        (packet_state::SETTLED, format!("height {}", receipt.height))
                    }
                    Ok(_) => {
                        return Err(WalletError::BadReceipt {
                            txid: r.txid.to_hex(),
                        })
                    }
                    // The paying wallet is frozen: the node holds the packet's notes with the
                    // wallet and settles it if the freeze is lifted (docs/offline.md), so it
                    // stays pending rather than failing.
                    Err(ClientError::Rejected { code, message, .. }) if code == "frozen_wallet" => {
                        let why =
                            format!("{code}: {message}; kept pending until the payer is unfrozen");
                        // Kept with the packet, so its history line says why it waits.
                        self.store.set_packet_state(
                            incoming,
                            &r.txid,
                            packet_state::PENDING,
                            None,
                            Some(&why),
                            None,
                        )?;
                        (packet_state::PENDING, why)
                    }
                    Err(ClientError::Rejected {
                        status,
                        code,
                        message,
                    }) if !matches!(status, 408 | 425 | 429) => {
                        let evidence = if code == "double_spend" {
                            client
                                .evidence(None, Some(&r.txid))
                                .await
                                .ok()
                                .and_then(|v| v.first().map(|e| e.id.to_hex()))
                        } else {
                            None
                        };
                        let error = format!("{code}: {message}");
                        if incoming {
                            self.store.set_packet_state(
                                incoming,
                                &r.txid,
                                packet_state::FAILED,
                                None,
                                Some(&error),
                                evidence.as_deref(),
                            )?;
                            (packet_state::FAILED, error)
                        } else {
                            // Refused for good and not spent twice: the purse notes are still
                            // ours on the ledger, so they come back to the balance.
                            let released = self.store.fail_paid_packet(
                                &r.txid,
                                &error,
                                evidence.as_deref(),
                                code != "double_spend",
                            )?;
                            let back = if released > 0 {
                                format!("; its {released} purse note(s) are back in the balance")
                            } else {
                                String::new()
                            };
                            (packet_state::FAILED, format!("{error}{back}"))
                        }
                    }
                    // Another network's node decides nothing about this packet.
                    Err(e @ ClientError::WrongNetwork { .. }) => return Err(e.into()),
                    Err(e) => (packet_state::PENDING, e.to_string()),
                };
                out.push(Resumed {
                    txid: r.txid.to_hex(),
                    state,
                    detail: format!(
                        "offline {} packet: {detail}",
                        if incoming { "accepted" } else { "paid" }
                    ),
                });
            }
        }
        Ok(out)
    }
}

/// Parses a duration such as `7d`, `12h`, `30m`, `45s` or `500ms` into milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = |reason: String| WalletError::BadOption {
        what: "duration",
        reason,
    };
    let n: u64 = num
        .parse()
        .map_err(|_| bad(format!("'{text}' is not like 7d, 12h, 30m, 45s or 500ms")))?;
    let per = match unit {
        "ms" => 1,
        "s" | "" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => return Err(bad(format!("unknown unit '{other}' (ms, s, m, h, d)"))),
    };
    n.checked_mul(per)
        .ok_or_else(|| bad(format!("'{text}' is too long")))
}
