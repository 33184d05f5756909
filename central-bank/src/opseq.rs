//! Ordered operator commands: the last sequence number the node accepted from each operator.
//!
//! A signed operator request already carries a nonce (no replay) and a time (no replay after
//! the window); neither orders two requests. An on-path party could hold back a signed
//! `unfreeze`, let a later `freeze` through, then deliver the `unfreeze` and leave the wallet
//! unfrozen against the operators' last decision. Each request therefore carries a sequence
//! number ([`dfc_core::api::OperatorRequest::sequence`]) and the sequencer, which applies
//! operator requests one at a time, refuses any that is not above the last it accepted from
//! that operator ([`advance`]). The row is written in the same SQLite transaction as the
//! request's effect, so a refused request consumes nothing.

use dfc_core::api::MAX_OPERATOR_SEQUENCE;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{ApiErr, StoreError};

/// Schema of the per-operator sequence (a migration of [`crate::store::migrations`]).
pub const SCHEMA: &str = "
CREATE TABLE operator_sequences (
    operator INTEGER PRIMARY KEY,
    sequence INTEGER NOT NULL
);
";

/// The last sequence accepted from `operator`, if any.
pub fn last(conn: &Connection, operator: u8) -> Result<Option<u64>, StoreError> {
    let v: Option<i64> = conn
        .prepare_cached("SELECT sequence FROM operator_sequences WHERE operator = ?1")?
        .query_row([operator], |r| r.get(0))
        .optional()?;
    v.map(|s| {
        u64::try_from(s).map_err(|_| {
            StoreError::corrupt(
                "operator_sequences",
                format!("operator {operator} has negative sequence {s}"),
            )
        })
    })
    .transpose()
}

/// Records `sequence` as `operator`'s last, or refuses it (`stale_sequence`, 409) if it is not
/// above the last accepted one, or (`bad_sequence`, 400) if it is out of range.
pub fn advance(
    conn: &Connection,
    operator: u8,
    sequence: u64,
) -> Result<Result<(), ApiErr>, StoreError> {
    let Ok(stored) = i64::try_from(sequence) else {
        return Ok(Err(ApiErr::bad_request(
            "bad_sequence",
            format!("sequence {sequence} is above the largest allowed, {MAX_OPERATOR_SEQUENCE}"),
        )));
    };
    if let Some(last) = last(conn, operator)? {
        if sequence <= last {
            return Ok(Err(ApiErr::conflict(
                "stale_sequence",
                format!(
                    "operator {operator}'s request has sequence {sequence}, not above {last}, the \
                     last one the node accepted from this operator: it was held back or sent out \
                     of order (or the signer's clock is behind); sign it again if it still stands"
                ),
            )));
        }
    }
    conn.prepare_cached(
        "INSERT INTO operator_sequences (operator, sequence) VALUES (?1, ?2)
         ON CONFLICT (operator) DO UPDATE SET sequence = excluded.sequence",
    )?
    .execute(params![operator, stored])?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_must_rise_per_operator() {
        let conn = Connection::open_in_memory().expect("memory db");
        conn.execute_batch(SCHEMA).expect("schema");
        assert!(advance(&conn, 0, 10).expect("db").is_ok());
        let stale = advance(&conn, 0, 10)
            .expect("db")
            .expect_err("equal is refused");
        assert_eq!(stale.code, "stale_sequence");
        assert!(
            advance(&conn, 0, 9).expect("db").is_err(),
            "lower is refused"
        );
        assert!(
            advance(&conn, 1, 5).expect("db").is_ok(),
            "operators are separate"
        );
        assert!(advance(&conn, 0, 11).expect("db").is_ok());
        assert_eq!(last(&conn, 0).expect("db"), Some(11));
        let big = advance(&conn, 0, u64::MAX)
            .expect("db")
            .expect_err("out of range");
        assert_eq!(big.code, "bad_sequence");
        assert_eq!(
            last(&conn, 0).expect("db"),
            Some(11),
            "refusals change nothing"
        );
    }
}
