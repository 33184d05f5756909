//! Notes and the spent set: statuses, listings for audits and checkpoints, and [`DbView`], the ledger view the protocol checks read through.

#[allow(unused_imports)]
use super::*;

/// The status of a note.
pub fn note_status(conn: &Connection, id: &NoteId) -> StoreResult<NoteStatus> {
    let mut st = conn.prepare_cached(
        "SELECT n.created_height, s.height FROM notes n LEFT JOIN spent s ON s.note_id = n.id WHERE n.id = ?1",
    )?;
    let row = st
        .query_row([&id.0[..]], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
        })
        .optional()?;
    Ok(match row {
        None => NoteStatus {
            id: *id,
            exists: false,
            spent: false,
            created_height: None,
            spent_height: None,
        },
        Some((created, spent)) => NoteStatus {
            id: *id,
            exists: true,
            spent: spent.is_some(),
            created_height: Some(to_u64(created, "notes")?),
            spent_height: spent.map(|h| to_u64(h, "spent")).transpose()?,
        },
    })
}

/// A stored note, for the audit's comparison with its replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteRow {
    /// Note id.
    pub id: NoteId,
    /// Commitment bytes.
    pub commitment: [u8; 32],
    /// Owner key bytes.
    pub owner: [u8; 32],
    /// Height of the creating block.
    pub created_height: u64,
    /// Creating transaction.
    pub txid: TxId,
}

/// Every stored note, ordered by id.
pub fn all_notes(conn: &Connection) -> StoreResult<Vec<NoteRow>> {
    let mut st =
        conn.prepare("SELECT id, commitment, owner, created_height, txid FROM notes ORDER BY id")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Vec<u8>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, c, o, h, t) = row?;
        out.push(NoteRow {
            id: h32(id, "notes")?,
            commitment: h32(c, "notes")?.0,
            owner: h32(o, "notes")?.0,
            created_height: to_u64(h, "notes")?,
            txid: h32(t, "notes")?,
        });
    }
    Ok(out)
}

/// Every spent record `(note id, spending txid, height)`, ordered by note id.
pub fn all_spent(conn: &Connection) -> StoreResult<Vec<(NoteId, TxId, u64)>> {
    let mut st = conn.prepare("SELECT note_id, txid, height FROM spent ORDER BY note_id")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (n, t, h) = row?;
        out.push((h32(n, "spent")?, h32(t, "spent")?, to_u64(h, "spent")?));
    }
    Ok(out)
}

/// Ids of the unspent notes, sorted, with their commitments.
pub fn unspent_notes(conn: &Connection) -> StoreResult<Vec<(NoteId, Commitment)>> {
    let mut st = conn.prepare(
        "SELECT n.id, n.commitment FROM notes n WHERE NOT EXISTS (SELECT 1 FROM spent s WHERE s.note_id = n.id) ORDER BY n.id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, c) = row?;
        let c = h32(c, "notes")?;
        out.push((
            h32(id, "notes")?,
            Commitment::from_bytes(&c.0).map_err(|e| StoreError::corrupt("notes", e))?,
        ));
    }
    Ok(out)
}

/// Every unspent note as a Merkle leaf `(id, commitment, owner)`, ordered by id: what the
/// checkpoint's [`dfc_core::merkle::LedgerTree`] is built over.
pub fn unspent_leaves(conn: &Connection) -> StoreResult<Vec<(NoteId, Commitment, PublicKey)>> {
    let mut st = conn.prepare(
        "SELECT n.id, n.commitment, n.owner FROM notes n WHERE NOT EXISTS (SELECT 1 FROM spent s WHERE s.note_id = n.id) ORDER BY n.id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, c, o) = row?;
        let c = h32(c, "notes")?;
        out.push((
            h32(id, "notes")?,
            Commitment::from_bytes(&c.0).map_err(|e| StoreError::corrupt("notes", e))?,
            pubkey(o, "notes")?,
        ));
    }
    Ok(out)
}

/// The transaction that spent note `id`, if it is spent.
pub fn spender(conn: &Connection, id: &NoteId) -> StoreResult<Option<Transaction>> {
    let mut st = conn.prepare_cached(
        "SELECT t.bytes FROM spent s JOIN txs t ON t.txid = s.txid WHERE s.note_id = ?1",
    )?;
    let row = st
        .query_row([&id.0[..]], |r| r.get::<_, Vec<u8>>(0))
        .optional()?;
    row.map(|b| Transaction::decode(&b).map_err(|e| StoreError::corrupt("txs", e)))
        .transpose()
}

/// A note as the protocol checks see it: commitment, owner, spent and pending flags.
pub fn ledger_note(conn: &Connection, id: &NoteId) -> StoreResult<Option<LedgerNote>> {
    let mut st = conn.prepare_cached(
        "SELECT n.commitment, n.owner, EXISTS (SELECT 1 FROM spent s WHERE s.note_id = n.id), n.pending FROM notes n WHERE n.id = ?1",
    )?;
    let row = st
        .query_row([&id.0[..]], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })
        .optional()?;
    row.map(|(c, o, spent, pending)| {
        let c = h32(c, "notes")?;
        Ok(LedgerNote {
            commitment: Commitment::from_bytes(&c.0)
                .map_err(|e| StoreError::corrupt("notes", e))?,
            owner: pubkey(o, "notes")?,
            spent,
            pending,
        })
    })
    .transpose()
}

/// Whether a note with commitment `c` exists.
pub fn commitment_exists(conn: &Connection, c: &Commitment) -> StoreResult<bool> {
    let mut st =
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM notes WHERE commitment = ?1)")?;
    Ok(st.query_row([&c.to_bytes()[..]], |r| r.get::<_, bool>(0))?)
}

/// A [`LedgerView`] over a ledger store (a SQLite connection or open transaction, or a
/// PostgreSQL one). The trait cannot return errors, so the first storage error is kept and must
/// be checked with [`DbView::finish`].
pub struct DbView<'a> {
    store: &'a dyn LedgerRead,
    error: RefCell<Option<StoreError>>,
}

impl<'a> DbView<'a> {
    /// A view over the SQLite connection `conn`.
    pub fn new(conn: &'a Connection) -> Self {
        Self::over(conn)
    }
    /// A view over any ledger store.
    pub fn over(store: &'a dyn LedgerRead) -> Self {
        DbView {
            store,
            error: RefCell::new(None),
        }
    }
    /// The first storage error met, if any: a lookup answered "absent" may have been a failure.
    pub fn finish(&self) -> StoreResult<()> {
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

impl LedgerView for DbView<'_> {
    fn note(&self, id: &NoteId) -> Option<LedgerNote> {
        let r = self.store.ledger_note(id);
        self.keep(r, None)
    }
    fn commitment_exists(&self, commitment: &Commitment) -> bool {
        let r = self.store.commitment_exists(commitment);
        // On failure claim the commitment exists: a refusal is the safe side.
        self.keep(r, true)
    }
    fn account(&self, key: &PublicKey) -> Option<dfc_core::Account> {
        let r = self.store.owner_wallet(key).map(|w| {
            w.map(|w| dfc_core::Account {
                key: w.address.spend,
                tier: w.tier,
            })
        });
        self.keep(r, None)
    }
    fn holding(&self, account: &PublicKey) -> dfc_core::Holding {
        let r = self.store.holding_of(account);
        self.keep(r, dfc_core::Holding::default())
    }
}
