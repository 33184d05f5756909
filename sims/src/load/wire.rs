//! How `dfc-sim load` puts transfers on the wire: every request body is encoded before the
//! clock starts, so the load generator spends its CPU on sending, not on JSON and hex.
//!
//! - `json`: `POST /v1/transactions` with `{"tx": "<hex>"}`, one transfer per request;
//! - `binary`: `POST /v1/transactions` with the canonical bytes (`application/octet-stream`);
//! - `batch`: `POST /v1/transactions/batch` with the binary framing of
//!   `dfc_core::api::batch`, `batch_size` transfers per request.
//!
//! In closed loop requests are consecutive chunks of the transfers. In open loop every payment has
//! its own due time, and a request holds the payments due within `--linger-ms` of its first (at
//! most `batch_size`; one with `json` and `binary`) and leaves when its last one is due
//! ([`open_loop_groups`]): no payment is sent before it is due, and each one's latency counts from
//! its own due time, so the time it waited to be grouped is in its latency. (Sending a whole
//! batch when its first payment is due would make a burst of `batch_size` arrive at once, and the
//! last of the burst wait for all the others before it: at least `batch_size / peak rate` of
//! latency that comes from the load generator, not from the node.)

use std::ops::Range;
use std::time::Duration;

use dfc_core::api::batch::{encode_batch, MAX_BATCH_SUBMIT};
use dfc_core::api::{ApiError, SubmitRequest};
use dfc_core::Transaction;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// The submission format of a load run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// JSON with hex, one transfer per request.
    Json,
    /// Canonical bytes, one transfer per request.
    Binary,
    /// Binary batches of this many transfers per request.
    Batch(usize),
}

impl Wire {
    /// Parses `json`, `binary` or `batch` (with `batch_size`).
    pub fn parse(name: &str, batch_size: usize) -> Result<Wire, String> {
        match name {
            "json" => Ok(Wire::Json),
            "binary" => Ok(Wire::Binary),
            "batch" if (1..=MAX_BATCH_SUBMIT).contains(&batch_size) => Ok(Wire::Batch(batch_size)),
            "batch" => Err(format!(
                "--batch-size must be between 1 and {MAX_BATCH_SUBMIT}"
            )),
            other => Err(format!("unknown --wire '{other}' (json, binary or batch)")),
        }
    }

    /// The name used in reports.
    pub fn name(&self) -> String {
        match self {
            Wire::Json => "json".into(),
            Wire::Binary => "binary".into(),
            Wire::Batch(n) => format!("batch of {n}"),
        }
    }
}

impl Wire {
    /// Most transfers in one request.
    pub fn per_request(&self) -> usize {
        match self {
            Wire::Json | Wire::Binary => 1,
            Wire::Batch(n) => (*n).max(1),
        }
    }
}

/// One pre-encoded request.
pub struct Request {
    /// The body.
    pub body: Vec<u8>,
    /// Index of its first transfer in the run.
    pub first: usize,
    /// Transfers in it.
    pub count: usize,
}

/// Closed loop: consecutive chunks of `per_request` of `payments` transfers.
pub fn chunks(payments: usize, per_request: usize) -> Vec<Range<usize>> {
    let per = per_request.max(1);
    (0..payments)
        .step_by(per)
        .map(|first| first..(first + per).min(payments))
        .collect()
}

/// Open loop at `rate` payments per second, payment `k` due at `k / rate` s: consecutive payments
/// due within `linger` of the first of their group, at most `per_request` of them, go in one
/// request (sent when its last payment is due).
pub fn open_loop_groups(
    payments: usize,
    rate: f64,
    linger: Duration,
    per_request: usize,
) -> Vec<Range<usize>> {
    let due = |k: usize| k as f64 / rate.max(1e-9);
    let per = per_request.max(1);
    let mut groups = Vec::new();
    let mut first = 0;
    while first < payments {
        let mut end = first + 1;
        while end < payments && end - first < per && due(end) - due(first) <= linger.as_secs_f64() {
            end += 1;
        }
        groups.push(first..end);
        first = end;
    }
    groups
}

/// Pre-encodes `txs` as requests in `wire` format, one per group of indices.
pub fn encode(txs: &[Transaction], wire: Wire, groups: &[Range<usize>]) -> Vec<Request> {
    groups
        .iter()
        .filter_map(|g| {
            let chunk = txs.get(g.clone())?;
            let body = match wire {
                Wire::Json => chunk
                    .first()
                    .map(|tx| serde_json::to_vec(&SubmitRequest { tx: tx.clone() }))?
                    .unwrap_or_default(),
                Wire::Binary => chunk.first()?.encode(),
                Wire::Batch(_) => {
                    let encoded: Vec<Vec<u8>> = chunk.iter().map(Transaction::encode).collect();
                    encode_batch(encoded.iter().map(Vec::as_slice))
                }
            };
            Some(Request {
                body,
                first: g.start,
                count: chunk.len(),
            })
        })
        .collect()
}

/// A batch answer read only as far as the load generator needs: receipt or error code (the
/// receipts themselves are not decoded, to keep the generator's CPU off the node's cores).
#[derive(Deserialize)]
struct Outcomes {
    outcomes: Vec<Outcome>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Receipt(IgnoredAny),
    Error { error: Code },
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

/// Sends one request; one result per transfer in it (the error code on refusal).
pub async fn send(
    http: &reqwest::Client,
    base: &str,
    wire: Wire,
    req: &Request,
) -> Vec<Result<(), String>> {
    let (path, content_type) = match wire {
        Wire::Json => ("/v1/transactions", "application/json"),
        Wire::Binary => ("/v1/transactions", "application/octet-stream"),
        Wire::Batch(_) => ("/v1/transactions/batch", "application/octet-stream"),
    };
    let all = |e: String| vec![Err(e); req.count];
    let resp = match http
        .post(format!("{base}{path}"))
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(req.body.clone())
        .send()
        .await
    {
        Ok(r) => r,
        Err(_) => return all("unreachable".into()),
    };
    let status = resp.status();
    let Ok(bytes) = resp.bytes().await else {
        return all("unreachable".into());
    };
    if !status.is_success() {
        return all(match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(e) => e.code,
            Err(_) => format!("server_{}", status.as_u16()),
        });
    }
    match wire {
        Wire::Json | Wire::Binary => vec![Ok(())],
        Wire::Batch(_) => match serde_json::from_slice::<Outcomes>(&bytes) {
            Ok(r) if r.outcomes.len() == req.count => r
                .outcomes
                .into_iter()
                .map(|o| match o {
                    Outcome::Receipt(_) => Ok(()),
                    Outcome::Error { error } => Err(error.code),
                })
                .collect(),
            _ => all("decode".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Groups cover every payment once, in order, never hold more than allowed, and never span
    /// more than the linger.
    #[test]
    fn open_loop_groups_respect_linger_and_size() {
        // 1,000/s: one due every 1 ms; a 5 ms linger groups 6 (0..=5 ms), capped at 4 here.
        let g = open_loop_groups(10, 1000.0, Duration::from_millis(5), 4);
        assert_eq!(g, vec![0..4, 4..8, 8..10]);
        let g = open_loop_groups(10, 1000.0, Duration::from_millis(5), 32);
        assert_eq!(g, vec![0..6, 6..10]);
        // 100/s with a 5 ms linger: every payment alone.
        let g = open_loop_groups(3, 100.0, Duration::from_millis(5), 32);
        assert_eq!(g, vec![0..1, 1..2, 2..3]);
        assert_eq!(chunks(5, 2), vec![0..2, 2..4, 4..5]);
        assert_eq!(Wire::Json.per_request(), 1);
    }

    /// The light reading of a batch answer finds receipts and error codes where they are.
    #[test]
    fn batch_answers_are_read_for_outcomes() {
        let body = br#"{"outcomes":[{"receipt":{"txid":"00","height":3}},{"error":{"status":409,"error":{"code":"input_spent","message":"m"}}}]}"#;
        let r: Outcomes = serde_json::from_slice(body).expect("parses");
        assert!(matches!(r.outcomes[0], Outcome::Receipt(_)));
        assert!(matches!(&r.outcomes[1], Outcome::Error { error } if error.code == "input_spent"));
    }
}
