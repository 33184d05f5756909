//! What the sequencer keeps in memory between blocks, so that a transfer's state checks do not
//! ask SQLite again for what it already read: the registry records of the note owners and parties
//! it has looked up (present or absent), and the holdings of the accounts it has seen, exactly as
//! the last committed block left them. Notes and the spent set are still read from SQLite (one
//! indexed lookup per input), so a double spend is refused against the table itself.
//!
//! # Why it cannot drift from the ledger
//! - The sequencer is the only writer of the ledger (one writer connection, the ledger lock).
//! - A block of transfers and claims does not write the registry, and writes holdings only from
//!   `BatchState::holdings`; the sequencer stores those values here after the block's SQLite
//!   transaction commits ([`MemIndex::committed`]), never before, so a block that fails to commit
//!   leaves the index as the ledger is (and a storage failure stops the sequencer anyway).
//! - Every other command (registration, operator and registry actions, purses, evidence,
//!   proposals, governance) may change the registry or holdings: the sequencer empties the index
//!   before running it ([`MemIndex::clear`]).
//! - It holds at most [`MAX_ENTRIES`] records of each kind and starts again empty past that.

use std::cell::RefCell;
use std::collections::HashMap;

use dfc_core::api::WalletInfo;
use dfc_core::holdings::Holding;
use dfc_core::validate::Account;
use dfc_core::{Commitment, LedgerNote, LedgerView, NoteId, PublicKey};
use rusqlite::Connection;

use crate::error::StoreError;
use crate::store::{self, DbView, StoreResult};

/// Most registry records and most holdings kept.
pub const MAX_ENTRIES: usize = 200_000;

/// The sequencer's in-memory registry and holdings (see the module documentation).
#[derive(Default)]
pub struct MemIndex {
    wallets: RefCell<HashMap<PublicKey, Option<WalletInfo>>>,
    holdings: RefCell<HashMap<PublicKey, Holding>>,
}

impl MemIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets everything: before any command that may write the registry or holdings.
    pub fn clear(&mut self) {
        self.wallets.get_mut().clear();
        self.holdings.get_mut().clear();
    }

    /// The registered wallet behind a note owner (spend key or certified purse key), as
    /// [`store::wallet_of_owner`] reads it.
    pub fn wallet_of_owner(
        &self,
        conn: &Connection,
        key: &PublicKey,
    ) -> StoreResult<Option<WalletInfo>> {
        if let Some(w) = self.wallets.borrow().get(key) {
            return Ok(w.clone());
        }
        let w = store::wallet_of_owner(conn, key)?;
        let mut wallets = self.wallets.borrow_mut();
        if wallets.len() >= MAX_ENTRIES {
            wallets.clear();
        }
        wallets.insert(*key, w.clone());
        Ok(w)
    }

    /// `account`'s holding, as [`crate::holdings::holding`] reads it.
    pub fn holding(&self, conn: &Connection, account: &PublicKey) -> StoreResult<Holding> {
        if let Some(h) = self.holdings.borrow().get(account) {
            return Ok(h.clone());
        }
        let h = crate::holdings::holding(conn, account)?;
        self.remember_holding(*account, h.clone());
        Ok(h)
    }

    fn remember_holding(&self, account: PublicKey, h: Holding) {
        let mut holdings = self.holdings.borrow_mut();
        if holdings.len() >= MAX_ENTRIES {
            holdings.clear();
        }
        holdings.insert(account, h);
    }

    /// Records the holdings a block wrote, after its SQLite transaction committed.
    pub fn committed(&self, holdings: &HashMap<PublicKey, Holding>) {
        for (account, h) in holdings {
            self.remember_holding(*account, h.clone());
        }
    }

    /// A [`LedgerView`] over `conn` that answers registry and holding lookups from the index.
    pub fn view<'a>(&'a self, conn: &'a Connection) -> IndexedView<'a> {
        IndexedView {
            db: DbView::new(conn),
            conn,
            index: self,
            error: RefCell::new(None),
        }
    }
}

/// [`DbView`] with registry and holding lookups answered by a [`MemIndex`]. As with `DbView`,
/// the first storage error is kept and must be checked with [`IndexedView::finish`].
pub struct IndexedView<'a> {
    db: DbView<'a>,
    conn: &'a Connection,
    index: &'a MemIndex,
    error: RefCell<Option<StoreError>>,
}

impl IndexedView<'_> {
    /// The first storage error met, if any: a lookup answered "absent" may have been a failure.
    pub fn finish(&self) -> StoreResult<()> {
        self.db.finish()?;
        match self.error.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn keep<T>(&self, r: StoreResult<T>, fallback: T) -> T {
        r.unwrap_or_else(|e| {
            let mut slot = self.error.borrow_mut();
            if slot.is_none() {
                *slot = Some(e);
            }
            fallback
        })
    }
}

impl LedgerView for IndexedView<'_> {
    fn note(&self, id: &NoteId) -> Option<LedgerNote> {
        self.db.note(id)
    }
    fn commitment_exists(&self, commitment: &Commitment) -> bool {
        self.db.commitment_exists(commitment)
    }
    fn account(&self, key: &PublicKey) -> Option<Account> {
        let r = self.index.wallet_of_owner(self.conn, key).map(|w| {
            w.map(|w| Account {
                key: w.address.spend,
                tier: w.tier,
            })
        });
        self.keep(r, None)
    }
    fn holding(&self, account: &PublicKey) -> Holding {
        let r = self.index.holding(self.conn, account);
        self.keep(r, Holding::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfc_core::WalletKeys;

    fn info(keys: &WalletKeys, network: u32) -> WalletInfo {
        WalletInfo {
            address: keys.address(network),
            label: String::new(),
            tier: 0,
            frozen: false,
            flags: 0,
            registered_ms: 1,
            registry_version: 0,
            freeze_reason: None,
        }
    }

    /// The index answers as SQLite did when it read it, absent keys included, keeps the holdings
    /// a block committed, and reads SQLite again once cleared.
    #[test]
    fn answers_from_memory_until_cleared() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = store::open_writer(&dir.path().join("l.sqlite")).expect("open");
        let alice = WalletKeys::from_seed(b"alice");
        let bob = WalletKeys::from_seed(b"bob");
        store::insert_wallet(&conn, &info(&alice, 1)).expect("alice");
        let mut index = MemIndex::new();
        let key = alice.spend.public();
        let found = index.wallet_of_owner(&conn, &key).expect("reads");
        assert_eq!(found.map(|w| w.tier), Some(0));
        assert!(index
            .wallet_of_owner(&conn, &bob.spend.public())
            .expect("reads")
            .is_none());
        // Written behind the index's back (only other commands do, and the sequencer clears the
        // index before them): the index still answers what it read, until cleared.
        store::insert_wallet(&conn, &info(&bob, 1)).expect("bob");
        assert!(index
            .wallet_of_owner(&conn, &bob.spend.public())
            .expect("reads")
            .is_none());
        index.clear();
        assert!(index
            .wallet_of_owner(&conn, &bob.spend.public())
            .expect("reads")
            .is_some());

        let fresh = index.holding(&conn, &key).expect("reads");
        assert_eq!(fresh, Holding::default());
        let after = Holding {
            period: 7,
            ..Holding::default()
        };
        index.committed(&HashMap::from([(key, after.clone())]));
        assert_eq!(index.holding(&conn, &key).expect("reads"), after);
        let view = index.view(&conn);
        assert_eq!(view.holding(&key), after);
        assert_eq!(view.account(&key).map(|a| a.key), Some(key));
        view.finish().expect("no storage error");
        index.clear();
        assert_eq!(index.holding(&conn, &key).expect("reads"), fresh);
    }

    /// A transfer that reached the sequencer (so the index read its payer as unfrozen), then a
    /// freeze, then another transfer of the same payer: the second is refused `frozen_wallet`
    /// against the registry as the freeze left it, and nothing is committed after the freeze.
    #[test]
    fn a_freeze_after_the_index_read_the_payer_still_stops_its_next_transfer() {
        use crate::ops::Operator;
        use crate::sequencer::Command;
        use dfc_core::api::{OperatorAction, OperatorResponse, Receipt};
        use dfc_core::{build, Amount, Payment};

        let dir = tempfile::tempdir().expect("tempdir");
        let report = crate::datadir::init(dir.path(), &crate::datadir::InitOptions::default())
            .expect("init");
        let params = report.params.clone();
        let ops: Vec<Operator> = report
            .operator_keys
            .iter()
            .map(|k| {
                let key = crate::datadir::read_key(k).expect("operator key");
                Operator::find(&params, key).expect("an issuer key")
            })
            .collect();
        let started = crate::server::start(dir.path()).expect("starts");
        let s = started.state.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let operator = |req| rt.block_on(s.send(|reply| Command::Operator { req, reply }));
        let (alice, bob) = (
            WalletKeys::from_seed(b"alice"),
            WalletKeys::from_seed(b"bob"),
        );
        for w in [&alice, &bob] {
            rt.block_on(s.send(|reply| Command::Register {
                info: info(w, params.network_id),
                reply,
            }))
            .expect("registered");
        }
        let units = |u| Amount::from_units(u).expect("small");
        let (issued, req) = ops[0]
            .propose_issue(&params, &alice.address(params.network_id), units(10_000))
            .expect("builds");
        operator(req).expect("proposed");
        let r: OperatorResponse =
            operator(ops[1].approve(&params, &issued.id())).expect("approved");
        assert!(r.receipt.is_some(), "the issuance committed");
        let note: Vec<dfc_core::SpendInput> = issued
            .outputs
            .iter()
            .zip(issued.output_ids())
            .filter(|(o, _)| o.owner == alice.spend.public())
            .map(|(o, id)| dfc_core::SpendInput {
                id,
                opening: o.open(&alice.view).expect("opens"),
                key: alice.spend.clone(),
            })
            .collect();
        let pay = |amount| {
            build(
                &params,
                dfc_core::TxKind::Transfer,
                Amount::ZERO,
                &note,
                &[
                    Payment {
                        to: bob.address(params.network_id),
                        amount: units(amount),
                        memo: Vec::new(),
                    },
                    Payment {
                        to: alice.address(params.network_id),
                        amount: units(10_000 - amount),
                        memo: Vec::new(),
                    },
                ],
                &mut rand_core::OsRng,
            )
            .expect("builds")
            .tx
        };
        // Whatever its outcome (the issued note may still be pending), the sequencer looked its
        // payer up: the index now holds alice as not frozen.
        let first: Result<Receipt, _> = rt.block_on(s.send(|reply| Command::Submit {
            tx: pay(1_000),
            reply,
        }));
        if let Err(e) = &first {
            assert_ne!(e.code, "frozen_wallet", "alice is not frozen yet");
        }
        operator(ops[0].request(
            &params,
            OperatorAction::Freeze {
                wallet: alice.spend.public(),
                reason: "test".into(),
                registry_version: 0,
            },
        ))
        .expect("frozen");
        let conn =
            store::open_reader(&dir.path().join(crate::datadir::LEDGER_FILE)).expect("reader");
        let before = store::counts(&conn).expect("counts");
        let refused: Result<Receipt, _> = rt.block_on(s.send(|reply| Command::Submit {
            tx: pay(2_000),
            reply,
        }));
        assert_eq!(refused.expect_err("frozen").code, "frozen_wallet");
        assert_eq!(
            before,
            store::counts(&conn).expect("counts"),
            "nothing committed"
        );
    }
}
