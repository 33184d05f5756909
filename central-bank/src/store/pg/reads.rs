//! [`LedgerRead`] on PostgreSQL: the queries of the SQLite store, in PostgreSQL's dialect, with
//! the same decoding (a stored record that does not decode is a `Corrupt` error on both).

use postgres::{GenericClient, Row};

use super::super::*;
use super::PgConn;

fn stored_header(r: &Row, first: usize) -> StoreResult<StoredHeader> {
    decode_header((
        r.try_get(first)?,
        r.try_get(first + 1)?,
        r.try_get(first + 2)?,
    ))
}

fn wallet_row(r: &Row) -> StoreResult<WalletRow> {
    Ok((
        r.try_get(0)?,
        r.try_get(1)?,
        r.try_get(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
        r.try_get(5)?,
        r.try_get(6)?,
        r.try_get(7)?,
    ))
}

fn commitment(bytes: Vec<u8>, table: &'static str) -> StoreResult<Commitment> {
    let c = h32(bytes, table)?;
    Commitment::from_bytes(&c.0).map_err(|e| StoreError::corrupt(table, e))
}

fn decode_tx(bytes: &[u8]) -> StoreResult<Transaction> {
    Transaction::decode(bytes).map_err(|e| StoreError::corrupt("txs", e))
}

fn wallet<C: GenericClient>(c: &mut C, key: &[u8]) -> StoreResult<Option<WalletInfo>> {
    c.query_opt(
        &format!("SELECT {WALLET_COLS} FROM wallets WHERE spend_key = $1"),
        &[&key],
    )?
    .map(|r| decode_wallet(wallet_row(&r)?))
    .transpose()
}

impl<C: GenericClient> LedgerRead for PgConn<C> {
    fn tip(&self) -> StoreResult<Option<StoredHeader>> {
        self.with(|c| {
            c.query_opt(
                "SELECT hash, header, signature FROM blocks ORDER BY height DESC LIMIT 1",
                &[],
            )?
            .map(|r| stored_header(&r, 0))
            .transpose()
        })
    }

    fn header_at(&self, height: u64) -> StoreResult<Option<StoredHeader>> {
        let height = to_i64(height)?;
        self.with(|c| {
            c.query_opt(
                "SELECT hash, header, signature FROM blocks WHERE height = $1",
                &[&height],
            )?
            .map(|r| stored_header(&r, 0))
            .transpose()
        })
    }

    fn blocks_from(&self, from: u64, limit: usize) -> StoreResult<Vec<Block>> {
        let from = to_i64(from)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            let heads = c.query(
                "SELECT height, hash, header, signature FROM blocks WHERE height >= $1 ORDER BY height LIMIT $2",
                &[&from, &limit],
            )?;
            let mut out = Vec::with_capacity(heads.len());
            for r in heads {
                let height: i64 = r.try_get(0)?;
                let h = stored_header(&r, 1)?;
                let mut txs = Vec::new();
                for t in c.query(
                    "SELECT bytes FROM txs WHERE height = $1 ORDER BY idx",
                    &[&height],
                )? {
                    txs.push(decode_tx(t.try_get(0)?)?);
                }
                out.push(Block {
                    header: h.header,
                    signature: h.signature,
                    txs,
                });
            }
            Ok(out)
        })
    }

    fn receipt_of(&self, txid: &TxId) -> StoreResult<Option<Receipt>> {
        self.with(|c| {
            let Some(r) = c.query_opt(
                "SELECT t.height, b.hash, t.receipt_sig FROM txs t JOIN blocks b ON b.height = t.height WHERE t.txid = $1",
                &[&&txid.0[..]],
            )?
            else {
                return Ok(None);
            };
            Ok(Some(Receipt {
                txid: *txid,
                height: to_u64(r.try_get(0)?, "txs")?,
                block_hash: h32(r.try_get(1)?, "blocks")?,
                signature: signature(r.try_get(2)?, "txs")?,
            }))
        })
    }

    fn note_status(&self, id: &NoteId) -> StoreResult<NoteStatus> {
        self.with(|c| {
            let row = c.query_opt(
                "SELECT n.created_height, s.height FROM notes n LEFT JOIN spent s ON s.note_id = n.id WHERE n.id = $1",
                &[&&id.0[..]],
            )?;
            Ok(match row {
                None => NoteStatus {
                    id: *id,
                    exists: false,
                    spent: false,
                    created_height: None,
                    spent_height: None,
                },
                Some(r) => {
                    let spent: Option<i64> = r.try_get(1)?;
                    NoteStatus {
                        id: *id,
                        exists: true,
                        spent: spent.is_some(),
                        created_height: Some(to_u64(r.try_get(0)?, "notes")?),
                        spent_height: spent.map(|h| to_u64(h, "spent")).transpose()?,
                    }
                }
            })
        })
    }

    fn ledger_note(&self, id: &NoteId) -> StoreResult<Option<LedgerNote>> {
        self.with(|c| {
            c.query_opt(
                "SELECT n.commitment, n.owner, EXISTS (SELECT 1 FROM spent s WHERE s.note_id = n.id), n.pending FROM notes n WHERE n.id = $1",
                &[&&id.0[..]],
            )?
            .map(|r| {
                Ok(LedgerNote {
                    commitment: commitment(r.try_get(0)?, "notes")?,
                    owner: pubkey(r.try_get(1)?, "notes")?,
                    spent: r.try_get(2)?,
                    pending: r.try_get(3)?,
                })
            })
            .transpose()
        })
    }

    fn commitment_exists(&self, c: &Commitment) -> StoreResult<bool> {
        let bytes = c.to_bytes();
        self.with(|db| {
            Ok(db
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM notes WHERE commitment = $1)",
                    &[&&bytes[..]],
                )?
                .try_get(0)?)
        })
    }

    fn spender(&self, id: &NoteId) -> StoreResult<Option<Transaction>> {
        self.with(|c| {
            c.query_opt(
                "SELECT t.bytes FROM spent s JOIN txs t ON t.txid = s.txid WHERE s.note_id = $1",
                &[&&id.0[..]],
            )?
            .map(|r| decode_tx(r.try_get(0)?))
            .transpose()
        })
    }

    fn unspent_notes(&self) -> StoreResult<Vec<(NoteId, Commitment)>> {
        self.with(|c| {
            c.query(
                "SELECT n.id, n.commitment FROM notes n WHERE NOT EXISTS (SELECT 1 FROM spent s WHERE s.note_id = n.id) ORDER BY n.id",
                &[],
            )?
            .iter()
            .map(|r| Ok((h32(r.try_get(0)?, "notes")?, commitment(r.try_get(1)?, "notes")?)))
            .collect()
        })
    }

    fn spent_records(&self) -> StoreResult<Vec<(NoteId, TxId, u64)>> {
        self.with(|c| {
            c.query(
                "SELECT note_id, txid, height FROM spent ORDER BY note_id",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok((
                    h32(r.try_get(0)?, "spent")?,
                    h32(r.try_get(1)?, "spent")?,
                    to_u64(r.try_get(2)?, "spent")?,
                ))
            })
            .collect()
        })
    }

    fn counts(&self) -> StoreResult<(u64, u64)> {
        self.with(|c| {
            let r = c.query_one(
                "SELECT (SELECT COUNT(*) FROM notes) - (SELECT COUNT(*) FROM spent), (SELECT COUNT(*) FROM txs)",
                &[],
            )?;
            Ok((
                to_u64(r.try_get(0)?, "notes")?,
                to_u64(r.try_get(1)?, "txs")?,
            ))
        })
    }

    fn owner_wallet(&self, key: &PublicKey) -> StoreResult<Option<WalletInfo>> {
        let key = key.to_bytes();
        self.with(|c| {
            // As in SQLite: a certified purse key answers for its wallet first.
            let purse: Option<Vec<u8>> = c
                .query_opt(
                    "SELECT wallet FROM purses WHERE purse_key = $1 LIMIT 1",
                    &[&&key[..]],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            match purse {
                Some(w) => wallet(c, &w),
                None => wallet(c, &key),
            }
        })
    }

    fn holding_of(&self, account: &PublicKey) -> StoreResult<Holding> {
        let key = account.to_bytes();
        self.with(|c| {
            let Some(r) = c.query_opt(
                "SELECT balance, period, inflow FROM holdings WHERE account = $1",
                &[&&key[..]],
            )?
            else {
                return Ok(Holding::default());
            };
            let period: i64 = r.try_get(1)?;
            Ok(Holding {
                balance: crate::holdings::point(r.try_get(0)?)?,
                period: u64::try_from(period)
                    .map_err(|_| StoreError::corrupt("holdings", "period"))?,
                inflow: crate::holdings::point(r.try_get(2)?)?,
            })
        })
    }

    fn audit_log_head(&self) -> StoreResult<(u64, Hash32)> {
        self.with(|c| {
            match c.query_opt(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                &[],
            )? {
                Some(r) => Ok((
                    to_u64(r.try_get(0)?, "audit_log")?,
                    h32(r.try_get(1)?, "audit_log")?,
                )),
                None => Ok((0, Hash32([0u8; 32]))),
            }
        })
    }
}
