//! The signed ledger summary and the keyed table digests that let `serve` start without replaying
//! the history.
//!
//! # What is kept
//! For each table that holds money state or its proofs (`blocks`, `txs`, `notes`, `spent`,
//! `wallets`, `holdings`, `audit_log`) the ledger keeps, in `ledger_digest`, a row count and a
//! keyed multiset hash of its rows: the sum, modulo 2⁵¹², of `HMAC-SHA512(k, table ‖ row)` over
//! every row, where `k` is derived from the node's secret key. The node's writer connection keeps
//! them current with TEMP triggers (they exist only on that connection, see [`install`]), so
//! every insert, update and delete the node makes updates the digest in the same SQLite
//! transaction, at the cost of one HMAC per written row. The unspent count and the sum of unspent
//! commitments are kept the same way.
//!
//! Before every commit the sequencer calls [`seal`]: the summary (tip height and hash, supply,
//! unspent count and commitment sum, every table digest, the audit-log head) is signed with the
//! node key and stored in `ledger_summary`, in the same transaction as the change it describes.
//!
//! # What start-up checks, and why that is enough
//! [`startup_check`] verifies the summary's signature, that it describes the stored tip and the
//! audit-log head, all without reading the history; every table digest is then recomputed from
//! the rows (one HMAC per row: no proof, no signature, no replay) and compared with the *signed*
//! value, in the background after the node answers ([`crate::table_check`], which halts the node
//! on a mismatch) or before it with `serve --check-tables-first`. Someone with write access to the
//! database but without the node key:
//! - cannot sign a new summary, so every digest they can make the node compare against is one the
//!   node signed;
//! - cannot compute `HMAC(k, row)` for a row they made up, so cannot make an edited, added or
//!   deleted row sum to the signed digest. They do see the running digests change as the node
//!   writes, and so learn the HMAC of rows the node wrote; to reuse such values (put back an old
//!   version of a row, swap rows between tables is prevented by the table name in the MAC) they
//!   would need a subset of observed values summing to a target modulo 2⁵¹², a generalised
//!   birthday problem far beyond any ledger's history;
//! - can put back an older signed summary with the rows of that time only together with the
//!   blocks of that time: a summary that does not describe the stored tip sends the node to the
//!   full replay. Rolling the *whole* ledger back to an older consistent copy is not detectable by
//!   the node alone; the co-signed checkpoints of the governance work anchor it outside.
//!
//! The running digests in `ledger_digest` are not trusted: they are only what [`seal`] signs.
//! A ledger without a summary (made before this schema step, or whose summary does not describe
//! its tip) is checked by the full structural replay ([`crate::audit::verify_ledger`]), after
//! which the digests are recomputed from the verified tables and a summary is signed.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::traits::Identity;
use dfc_core::{Amount, BlockHeader, Hash32, NetworkParams, PublicKey, Signature, SigningKey};
use hmac::{Hmac, Mac};
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

use crate::audit::IntegrityError;
use crate::error::StoreError;
use crate::store::{self, StoreResult};

/// Schema step: the running digests and the signed summary. A separate numbered migration so it
/// can be renumbered when merged with other schema steps.
pub const SCHEMA: &str = "
CREATE TABLE ledger_digest (
    name TEXT PRIMARY KEY,
    n INTEGER NOT NULL,
    acc BLOB NOT NULL
);
CREATE TABLE ledger_summary (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL,
    signature BLOB NOT NULL
);
";

/// The tables covered by a digest and the columns hashed, in order.
pub const TABLES: &[(&str, &[&str])] = &[
    ("blocks", &["height", "hash", "header", "signature"]),
    (
        "txs",
        &[
            "txid",
            "height",
            "idx",
            "kind",
            "public_amount",
            "bytes",
            "receipt_sig",
        ],
    ),
    (
        "notes",
        &[
            "id",
            "commitment",
            "owner",
            "created_height",
            "txid",
            "output_index",
            "output",
            "pending",
        ],
    ),
    ("spent", &["note_id", "txid", "height"]),
    (
        "wallets",
        &[
            "spend_key",
            "address",
            "label",
            "tier",
            "frozen",
            "flags",
            "registered_ms",
        ],
    ),
    ("holdings", &["account", "balance", "period", "inflow"]),
    (
        "audit_log",
        &[
            "seq",
            "time_ms",
            "operator",
            "action",
            "detail",
            "prev_hash",
            "hash",
        ],
    ),
];

/// Name of the running sum of unspent commitments in `ledger_digest`.
const UNSPENT: &str = "unspent";
/// Domain label of the summary's signing hash.
const SUMMARY_DOMAIN: &[u8] = b"dfc/ledger-summary/v1";
/// Domain label deriving the digest key from the node seed.
const KEY_DOMAIN: &[u8] = b"dfc/ledger-digest-key/v1";
/// Bytes of one multiset accumulator (the HMAC-SHA512 output).
const ACC_LEN: usize = 64;

/// The secret key of the table digests, derived from the node's seed.
#[derive(Clone)]
pub struct DigestKey([u8; 32]);

impl DigestKey {
    /// Derives the digest key from the node key's 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(KEY_DOMAIN);
        h.update(seed);
        DigestKey(h.finalize().into())
    }
}

/// A table's digest: how many rows and the keyed multiset hash of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDigest {
    /// Table name.
    pub table: String,
    /// Number of rows.
    pub rows: u64,
    /// Multiset hash, hex (64 bytes).
    pub acc: String,
}

/// What the node signs after each write: the state its tables must match at the next start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Version of this record (1).
    pub version: u32,
    /// Tip height.
    pub height: u64,
    /// Tip block hash.
    pub block_hash: Hash32,
    /// Public supply at the tip, in minor units.
    pub supply_units: u64,
    /// Unspent notes.
    pub unspent_count: u64,
    /// Sum of the unspent notes' commitments (compressed Ristretto point, hex).
    pub unspent_sum: String,
    /// Newest audit-log entry's sequence number (0 if none).
    pub audit_seq: u64,
    /// Newest audit-log entry's hash.
    pub audit_head: Hash32,
    /// One digest per table of [`TABLES`], in that order.
    pub tables: Vec<TableDigest>,
}

impl Summary {
    /// The hash the node signs: domain label and the canonical JSON of the record.
    pub fn signing_hash(&self) -> StoreResult<[u8; 32]> {
        let body = serde_json::to_vec(self).map_err(|e| StoreError::corrupt("summary", e))?;
        let mut h = Sha256::new();
        h.update(SUMMARY_DOMAIN);
        h.update(&body);
        Ok(h.finalize().into())
    }

    /// The digest of `table`, if the summary has one.
    pub fn table(&self, table: &str) -> Option<&TableDigest> {
        self.tables.iter().find(|t| t.table == table)
    }

    /// Number of transactions (rows of `txs`).
    pub fn tx_count(&self) -> u64 {
        self.table("txs").map_or(0, |t| t.rows)
    }
}

/// A summary with the node's signature over [`Summary::signing_hash`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedSummary {
    /// The summary.
    pub summary: Summary,
    /// Node signature.
    pub signature: Signature,
}

impl SignedSummary {
    /// Whether `key` signed this summary.
    pub fn verify(&self, key: &PublicKey) -> bool {
        self.summary
            .signing_hash()
            .map(|h| key.verify(&h, &self.signature))
            .unwrap_or(false)
    }
}

// ---------------------------------------------------------------- the row MAC and accumulators

fn row_mac(key: &[u8; 32], table: &[u8], values: &[ValueRef<'_>]) -> [u8; ACC_LEN] {
    let mut mac =
        <Hmac<Sha512> as Mac>::new_from_slice(key).expect("HMAC accepts a key of any length");
    let mut put = |tag: u8, bytes: &[u8]| {
        mac.update(&[tag]);
        mac.update(&(bytes.len() as u64).to_le_bytes());
        mac.update(bytes);
    };
    put(b't', table);
    for v in values {
        match v {
            ValueRef::Null => put(b'n', &[]),
            ValueRef::Integer(i) => put(b'i', &i.to_le_bytes()),
            ValueRef::Real(f) => put(b'r', &f.to_le_bytes()),
            ValueRef::Text(t) => put(b's', t),
            ValueRef::Blob(b) => put(b'b', b),
        }
    }
    mac.finalize().into_bytes().into()
}

/// `a + b` (or `a − b`) modulo 2⁵¹², little-endian.
fn acc_combine(a: &[u8], b: &[u8], subtract: bool) -> [u8; ACC_LEN] {
    let mut out = [0u8; ACC_LEN];
    let mut carry: i16 = 0;
    for (i, o) in out.iter_mut().enumerate() {
        let x = i16::from(a.get(i).copied().unwrap_or(0));
        let y = i16::from(b.get(i).copied().unwrap_or(0));
        let mut v = if subtract { x - y } else { x + y } + carry;
        carry = 0;
        if v < 0 {
            v += 256;
            carry = -1;
        } else if v > 255 {
            v -= 256;
            carry = 1;
        }
        *o = u8::try_from(v).unwrap_or(0);
    }
    out
}

fn point_of(bytes: &[u8]) -> Option<RistrettoPoint> {
    let arr: [u8; 32] = bytes.try_into().ok()?;
    CompressedRistretto(arr).decompress()
}

fn user_err(msg: &str) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(msg.to_string().into())
}

/// Registers the digest functions on `conn`: `dfc_row(table, cols…)` (the row's keyed hash),
/// `dfc_acc(acc, h, sign)` (adds or subtracts a row hash) and `dfc_pt(acc, commitment, sign)`
/// (adds or subtracts a commitment of the unspent sum).
pub fn register_functions(conn: &Connection, key: &DigestKey) -> StoreResult<()> {
    let k = key.0;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("dfc_row", -1, flags, move |ctx: &Context<'_>| {
        let table = ctx.get_raw(0).as_bytes().map_err(|_| user_err("table"))?;
        let values: Vec<ValueRef<'_>> = (1..ctx.len()).map(|i| ctx.get_raw(i)).collect();
        Ok(row_mac(&k, table, &values).to_vec())
    })?;
    conn.create_scalar_function("dfc_acc", 3, flags, |ctx: &Context<'_>| {
        let a = ctx.get_raw(0).as_blob().map_err(|_| user_err("acc"))?;
        let b = ctx.get_raw(1).as_blob().map_err(|_| user_err("row"))?;
        let sign: i64 = ctx.get(2)?;
        Ok(acc_combine(a, b, sign < 0).to_vec())
    })?;
    conn.create_scalar_function("dfc_pt", 3, flags, |ctx: &Context<'_>| {
        let a = point_of(ctx.get_raw(0).as_blob().map_err(|_| user_err("acc"))?)
            .ok_or_else(|| user_err("unspent sum is not a point"))?;
        // A spend of a note the table does not hold has no commitment: the sum is unchanged and
        // the spent digest and the replay name the bad row.
        let c = match ctx.get_raw(1) {
            ValueRef::Blob(b) => point_of(b).ok_or_else(|| user_err("not a commitment"))?,
            _ => RistrettoPoint::identity(),
        };
        let sign: i64 = ctx.get(2)?;
        let r = if sign < 0 { a - c } else { a + c };
        Ok(r.compress().to_bytes().to_vec())
    })?;
    Ok(())
}

fn row_expr(table: &str, cols: &[&str], prefix: &str) -> String {
    let cols: Vec<String> = cols.iter().map(|c| format!("{prefix}.{c}")).collect();
    format!("dfc_row('{table}', {})", cols.join(", "))
}

/// Registers the functions and creates the TEMP triggers that keep `ledger_digest` current on
/// this connection. TEMP triggers live only on the node's writer connection: a write made through
/// any other connection leaves the digests behind, which the next start reports.
pub fn install(conn: &Connection, key: &DigestKey) -> StoreResult<()> {
    register_functions(conn, key)?;
    let mut sql = String::new();
    for (table, cols) in TABLES {
        let new = row_expr(table, cols, "NEW");
        let old = row_expr(table, cols, "OLD");
        let upd =
            |expr: String| format!("UPDATE main.ledger_digest SET {expr} WHERE name = '{table}';");
        sql.push_str(&format!(
            "CREATE TEMP TRIGGER IF NOT EXISTS dfc_{table}_ins AFTER INSERT ON main.{table} BEGIN {} END;\n",
            upd(format!("acc = dfc_acc(acc, {new}, 1), n = n + 1"))
        ));
        sql.push_str(&format!(
            "CREATE TEMP TRIGGER IF NOT EXISTS dfc_{table}_del AFTER DELETE ON main.{table} BEGIN {} END;\n",
            upd(format!("acc = dfc_acc(acc, {old}, -1), n = n - 1"))
        ));
        sql.push_str(&format!(
            "CREATE TEMP TRIGGER IF NOT EXISTS dfc_{table}_upd AFTER UPDATE ON main.{table} BEGIN {} END;\n",
            upd(format!("acc = dfc_acc(dfc_acc(acc, {old}, -1), {new}, 1)"))
        ));
    }
    sql.push_str(&format!(
        "CREATE TEMP TRIGGER IF NOT EXISTS dfc_unspent_note AFTER INSERT ON main.notes BEGIN \
         UPDATE main.ledger_digest SET acc = dfc_pt(acc, NEW.commitment, 1), n = n + 1 WHERE name = '{UNSPENT}'; END;\n\
         CREATE TEMP TRIGGER IF NOT EXISTS dfc_unspent_spend AFTER INSERT ON main.spent BEGIN \
         UPDATE main.ledger_digest SET acc = dfc_pt(acc, (SELECT commitment FROM main.notes WHERE id = NEW.note_id), -1), \
         n = n - 1 WHERE name = '{UNSPENT}'; END;\n"
    ));
    conn.execute_batch(&sql)?;
    Ok(())
}

// ---------------------------------------------------------------- scans

/// Recomputes the digest of `table` from its rows.
pub fn scan_table(conn: &Connection, table: &str, cols: &[&str]) -> StoreResult<(u64, Vec<u8>)> {
    let sql = format!("SELECT {} FROM main.{table}", row_expr(table, cols, table));
    let mut st = conn.prepare(&sql)?;
    let mut rows = st.query([])?;
    let mut acc = [0u8; ACC_LEN];
    let mut n = 0u64;
    while let Some(r) = rows.next()? {
        let h = r.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
        acc = acc_combine(&acc, h, false);
        n += 1;
    }
    Ok((n, acc.to_vec()))
}

/// Recomputes the unspent count and commitment sum from `notes` and `spent`.
pub fn scan_unspent(conn: &Connection) -> StoreResult<(u64, RistrettoPoint)> {
    let mut st = conn.prepare(
        "SELECT n.commitment FROM notes n WHERE NOT EXISTS (SELECT 1 FROM spent s WHERE s.note_id = n.id)",
    )?;
    let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    let mut sum = RistrettoPoint::identity();
    let mut n = 0u64;
    for row in rows {
        sum += point_of(&row?)
            .ok_or_else(|| StoreError::corrupt("notes", "a commitment is not a point"))?;
        n += 1;
    }
    Ok((n, sum))
}

/// Rebuilds `ledger_digest` from the tables (after a full replay verified them).
pub fn reseed(conn: &Connection) -> StoreResult<()> {
    conn.execute("DELETE FROM ledger_digest", [])?;
    let mut ins = conn.prepare("INSERT INTO ledger_digest (name, n, acc) VALUES (?1, ?2, ?3)")?;
    for (table, cols) in TABLES {
        let (n, acc) = scan_table(conn, table, cols)?;
        ins.execute(params![table, to_i64(n)?, acc])?;
    }
    let (n, sum) = scan_unspent(conn)?;
    ins.execute(params![
        UNSPENT,
        to_i64(n)?,
        sum.compress().to_bytes().to_vec()
    ])?;
    Ok(())
}

fn to_i64(v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| StoreError::corrupt("ledger_digest", "count overflow"))
}

fn running(conn: &Connection) -> StoreResult<Vec<(String, u64, Vec<u8>)>> {
    let mut st = conn.prepare_cached("SELECT name, n, acc FROM ledger_digest")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (name, n, acc) = row?;
        let n = u64::try_from(n).map_err(|_| StoreError::corrupt("ledger_digest", "negative"))?;
        out.push((name, n, acc));
    }
    Ok(out)
}

/// The summary of the current state, from the running digests.
pub fn current(conn: &Connection) -> StoreResult<Option<Summary>> {
    let Some(tip) = store::tip(conn)? else {
        return Ok(None);
    };
    let run = running(conn)?;
    let get = |name: &str| run.iter().find(|(n, _, _)| n == name);
    let mut tables = Vec::new();
    for (table, _) in TABLES {
        let Some((_, n, acc)) = get(table) else {
            return Ok(None);
        };
        tables.push(TableDigest {
            table: (*table).to_string(),
            rows: *n,
            acc: hex::encode(acc),
        });
    }
    let Some((_, unspent_count, unspent_sum)) = get(UNSPENT) else {
        return Ok(None);
    };
    let (audit_seq, audit_head) = store::audit_head(conn)?;
    Ok(Some(Summary {
        version: 1,
        height: tip.header.height,
        block_hash: tip.hash,
        supply_units: tip.header.supply.units(),
        unspent_count: *unspent_count,
        unspent_sum: hex::encode(unspent_sum),
        audit_seq,
        audit_head,
        tables,
    }))
}

/// Signs the current summary and stores it. Call inside the write transaction, just before its
/// commit, so the summary always describes exactly the committed state.
pub fn seal(conn: &Connection, key: &SigningKey) -> StoreResult<()> {
    let Some(summary) = current(conn)? else {
        return Ok(());
    };
    let signature = key.sign(&summary.signing_hash()?);
    let body = serde_json::to_string(&summary).map_err(|e| StoreError::corrupt("summary", e))?;
    conn.prepare_cached(
        "INSERT INTO ledger_summary (id, body, signature) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, signature = excluded.signature",
    )?
    .execute(params![body, &signature.to_bytes()[..]])?;
    Ok(())
}

/// The stored summary, if any (not yet verified).
pub fn load(conn: &Connection) -> StoreResult<Option<SignedSummary>> {
    let row = conn
        .prepare_cached("SELECT body, signature FROM ledger_summary WHERE id = 1")?
        .query_row([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .optional()?;
    let Some((body, sig)) = row else {
        return Ok(None);
    };
    let summary: Summary =
        serde_json::from_str(&body).map_err(|e| StoreError::corrupt("ledger_summary", e))?;
    let arr: [u8; 64] = sig
        .try_into()
        .map_err(|_| StoreError::corrupt("ledger_summary", "signature is not 64 bytes"))?;
    let signature =
        Signature::from_bytes(&arr).map_err(|e| StoreError::corrupt("ledger_summary", e))?;
    Ok(Some(SignedSummary { summary, signature }))
}

// ---------------------------------------------------------------- start-up

/// What the start-up check found.
#[derive(Clone, Debug)]
pub struct StartupReport {
    /// Tip header.
    pub tip: BlockHeader,
    /// Supply at the tip.
    pub supply: Amount,
    /// Unspent notes.
    pub notes_outstanding: u64,
    /// Transactions.
    pub tx_count: u64,
    /// Audit-log entries.
    pub audit_entries: u64,
    /// Whether the full replay ran (no usable summary) instead of the digest check.
    pub replayed: bool,
    /// Whether the table digests are still to be checked (by
    /// [`crate::table_check::verify_tables`], in the background).
    pub tables_deferred: bool,
}

fn table_err(table: &str, reason: String) -> IntegrityError {
    let table = TABLES
        .iter()
        .map(|(t, _)| *t)
        .find(|t| *t == table)
        .unwrap_or("ledger_summary");
    IntegrityError::Table { table, reason }
}

/// Checks a summary (already signature-checked) against the tables: it must describe the stored
/// tip, and every table's rows must hash to the signed digest.
pub fn check_tables(conn: &Connection, s: &Summary) -> Result<(), IntegrityError> {
    let tip = store::tip(conn)?.ok_or(IntegrityError::NoGenesis)?;
    if tip.header.height != s.height || tip.hash != s.block_hash {
        return Err(IntegrityError::Block {
            height: tip.header.height,
            reason: format!(
                "the signed summary describes block {} ({}), the stored tip differs",
                s.height, s.block_hash
            ),
        });
    }
    for (table, cols) in TABLES {
        check_table(conn, s, table, cols)?;
    }
    Ok(())
}

/// Recomputes the digest of one `table` from its rows and compares it with the signed summary `s`
/// (the summary read in the same snapshot as the rows; see [`crate::table_check`]).
pub fn check_table(
    conn: &Connection,
    s: &Summary,
    table: &str,
    cols: &[&str],
) -> Result<(), IntegrityError> {
    let want = s
        .table(table)
        .ok_or_else(|| table_err(table, "the signed summary has no digest of it".into()))?;
    let (n, acc) = scan_table(conn, table, cols)?;
    if n != want.rows || hex::encode(&acc) != want.acc {
        return Err(table_err(
            table,
            format!(
                "{n} rows that do not hash to the signed summary's digest of {} rows: rows were \
                 edited, added or deleted outside the node",
                want.rows
            ),
        ));
    }
    Ok(())
}

/// The start-up check of `serve`: with a valid summary describing the tip, verifies its signature
/// and the audit-log head it signs, and, only if `tables_now`, the table digests (a scan of every
/// row; otherwise the caller runs [`crate::table_check::verify_tables`] in the background and
/// reports `tables_deferred`); no replay. Without a usable summary it runs the full structural
/// replay. Either way it leaves fresh running digests and a signed summary (committed), and the
/// triggers installed on `conn` (see [`install`]) so the node's writes keep them current.
pub fn startup_check(
    conn: &Connection,
    params: &NetworkParams,
    key: &SigningKey,
    digest: &DigestKey,
    tables_now: bool,
) -> Result<StartupReport, IntegrityError> {
    install(conn, digest)?;
    if let Some(signed) = load(conn)? {
        if !signed.verify(&params.node_key) {
            return Err(IntegrityError::Table {
                table: "ledger_summary",
                reason: "the summary's signature is not the node's".into(),
            });
        }
        let s = &signed.summary;
        let tip = store::tip(conn)?.ok_or(IntegrityError::NoGenesis)?;
        // A ledger of a retired header version is refused by name, before anything else.
        tip.header
            .check_version()
            .map_err(|e| IntegrityError::Block {
                height: tip.header.height,
                reason: e.to_string(),
            })?;
        // The stored history MMR must end at the tip (O(log n) reads).
        crate::history::check_tip(conn, &tip.header).map_err(|e| IntegrityError::Block {
            height: tip.header.height,
            reason: e.to_string(),
        })?;
        // A summary behind the tip was put back by someone (the node writes both in one
        // transaction): distrust it and replay everything.
        if tip.header.height == s.height && tip.hash == s.block_hash {
            // O(1): the newest audit-log entry is the one the summary signs.
            let (seq, head) = store::audit_head(conn)?;
            let checked = if seq != s.audit_seq || head != s.audit_head {
                Err(table_err(
                    "audit_log",
                    format!(
                        "the newest entry is {seq}, the signed summary's is {}",
                        s.audit_seq
                    ),
                ))
            } else if tables_now {
                check_tables(conn, s)
            } else {
                Ok(())
            };
            if let Err(found) = checked {
                // Refused either way; the replay (paid only on a tampered ledger) names the first
                // bad record where the digest can only name its table.
                tracing::error!(error = %found, "table digests differ: replaying to name the record");
                return Err(crate::audit::verify_ledger(
                    conn,
                    params,
                    crate::audit::Depth::Structure,
                )
                .err()
                .unwrap_or(found));
            }
            // The tables hash to the signed digests, so the signed values are the running ones
            // (whatever `ledger_digest` holds now: it is not trusted).
            restore_running(conn, s)?;
            let (audit_entries, _) = store::audit_head(conn)?;
            return Ok(StartupReport {
                supply: tip.header.supply,
                tip: tip.header,
                notes_outstanding: s.unspent_count,
                tx_count: s.tx_count(),
                audit_entries,
                replayed: false,
                tables_deferred: !tables_now,
            });
        }
        tracing::warn!(
            summary_height = s.height,
            tip = tip.header.height,
            "the signed summary does not describe the tip: full replay"
        );
    }
    let full = crate::audit::verify_ledger(conn, params, crate::audit::Depth::Structure)?;
    reseed_and_seal(conn, key)?;
    Ok(StartupReport {
        supply: full.supply,
        notes_outstanding: full.notes_outstanding,
        tx_count: full.tx_count,
        audit_entries: full.audit_entries,
        tip: full.tip,
        replayed: true,
        tables_deferred: false,
    })
}

fn restore_running(conn: &Connection, s: &Summary) -> Result<(), IntegrityError> {
    let tx = conn.unchecked_transaction().map_err(StoreError::from)?;
    tx.execute("DELETE FROM ledger_digest", [])
        .map_err(StoreError::from)?;
    let bad = |what: &str| IntegrityError::Table {
        table: "ledger_summary",
        reason: format!("the signed summary holds a malformed {what}"),
    };
    {
        let mut ins = tx
            .prepare("INSERT INTO ledger_digest (name, n, acc) VALUES (?1, ?2, ?3)")
            .map_err(StoreError::from)?;
        for t in &s.tables {
            let acc = hex::decode(&t.acc).map_err(|_| bad("digest"))?;
            ins.execute(params![t.table, to_i64(t.rows)?, acc])
                .map_err(StoreError::from)?;
        }
        let sum = hex::decode(&s.unspent_sum).map_err(|_| bad("unspent sum"))?;
        ins.execute(params![UNSPENT, to_i64(s.unspent_count)?, sum])
            .map_err(StoreError::from)?;
    }
    tx.commit().map_err(StoreError::from)?;
    Ok(())
}

fn reseed_and_seal(conn: &Connection, key: &SigningKey) -> Result<(), IntegrityError> {
    let tx = conn.unchecked_transaction().map_err(StoreError::from)?;
    let before = running(&tx)?;
    reseed(&tx)?;
    let after = running(&tx)?;
    if !before.is_empty() && before != after {
        tracing::warn!(
            "the running digests differed from the tables; rebuilt from the checked tables"
        );
    }
    seal(&tx, key)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadir::{init, read_seed, InitOptions, LEDGER_FILE, NODE_KEY_FILE};

    struct Fixture {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        params: NetworkParams,
        key: SigningKey,
        digest: DigestKey,
    }

    fn fresh() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = init(dir.path(), &InitOptions::default()).expect("init");
        let seed = read_seed(&dir.path().join(NODE_KEY_FILE)).expect("seed");
        Fixture {
            path: dir.path().join(LEDGER_FILE),
            _dir: dir,
            params: report.params,
            key: SigningKey::from_seed(&seed),
            digest: DigestKey::from_seed(&seed),
        }
    }

    /// Opens the writer as `serve` does: start-up check, then the triggers.
    fn serve_open(f: &Fixture) -> Result<(Connection, StartupReport), IntegrityError> {
        let conn = store::open_writer(&f.path)?;
        let report = startup_check(&conn, &f.params, &f.key, &f.digest, true)?;
        Ok((conn, report))
    }

    /// The table the digest check (alone, without the replay) names, if any.
    fn digest_check(f: &Fixture) -> Option<&'static str> {
        let conn = store::open_reader(&f.path).expect("reader");
        register_functions(&conn, &f.digest).expect("functions");
        let signed = load(&conn).expect("load").expect("summary");
        match check_tables(&conn, &signed.summary) {
            Ok(()) => None,
            Err(IntegrityError::Table { table, .. }) => Some(table),
            Err(other) => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn first_start_replays_then_later_starts_check_digests_only() {
        let f = fresh();
        let (conn, first) = serve_open(&f).expect("first start");
        assert!(first.replayed, "a ledger without a summary is replayed");
        // Node writes through the triggers, then seals as the sequencer does before a commit.
        store::append_audit(&conn, 7, Some(1), "freeze", "{}").expect("append");
        seal(&conn, &f.key).expect("seal");
        let running = current(&conn).expect("current").expect("summary");
        drop(conn);
        let (conn, second) = serve_open(&f).expect("second start");
        assert!(!second.replayed, "a valid summary needs no replay");
        assert_eq!(second.audit_entries, 2);
        // The incremental digests equal a recomputation from the rows.
        for (table, cols) in TABLES {
            let (n, acc) = scan_table(&conn, table, cols).expect("scan");
            let want = running.table(table).expect("digest");
            assert_eq!(
                (n, hex::encode(acc)),
                (want.rows, want.acc.clone()),
                "{table}"
            );
        }
    }

    #[test]
    fn an_edit_outside_the_node_is_named_and_changes_nothing() {
        let f = fresh();
        drop(serve_open(&f).expect("first start"));
        {
            // No triggers on this connection: the edit bypasses the running digests, as an edit
            // with the sqlite3 tool would.
            let other = Connection::open(&f.path).expect("open");
            other
                .execute(
                    "UPDATE audit_log SET detail = '{\"x\":1}' WHERE seq = 1",
                    [],
                )
                .expect("tamper");
        }
        assert_eq!(digest_check(&f), Some("audit_log"));
        // Refused; the replay that follows a digest mismatch names the record.
        assert!(matches!(
            serve_open(&f),
            Err(IntegrityError::AuditLog { seq: 1, .. })
        ));
        let conn = store::open_reader(&f.path).expect("reader");
        let signed = load(&conn).expect("load").expect("summary");
        assert!(
            signed.verify(&f.params.node_key),
            "the summary was left as it was"
        );
    }

    #[test]
    fn running_digests_updated_by_the_attacker_do_not_help() {
        let f = fresh();
        drop(serve_open(&f).expect("first start"));
        {
            // The strongest attacker without the node key: updates the running digests with a
            // key of their own (they cannot know the node's).
            let other = Connection::open(&f.path).expect("open");
            install(&other, &DigestKey([7u8; 32])).expect("install");
            other
                .execute("UPDATE audit_log SET detail = 'x' WHERE seq = 1", [])
                .expect("tamper");
        }
        assert_eq!(digest_check(&f), Some("audit_log"));
        assert!(serve_open(&f).is_err());
    }

    #[test]
    fn a_forged_summary_is_refused() {
        let f = fresh();
        drop(serve_open(&f).expect("first start"));
        {
            let other = Connection::open(&f.path).expect("open");
            let body: String = other
                .query_row("SELECT body FROM ledger_summary", [], |r| r.get(0))
                .expect("summary");
            let forged = body.replace("\"supply_units\":0", "\"supply_units\":5");
            assert_ne!(forged, body);
            other
                .execute("UPDATE ledger_summary SET body = ?1", [forged])
                .expect("tamper");
        }
        assert!(matches!(
            serve_open(&f),
            Err(IntegrityError::Table {
                table: "ledger_summary",
                ..
            })
        ));
    }

    #[test]
    fn multiset_sum_and_difference_cancel() {
        let a = [3u8; ACC_LEN];
        let b = [250u8; ACC_LEN];
        assert_eq!(acc_combine(&acc_combine(&a, &b, false), &b, true), a);
    }
}
