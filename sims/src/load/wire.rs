//! How `dfc-sim load` puts transfers on the wire: every request body is encoded before the
//! clock starts, so the load generator spends its CPU on sending, not on JSON and hex.
//!
//! - `json`: `POST /v1/transactions` with `{"tx": "<hex>"}`, one transfer per request;
//! - `binary`: `POST /v1/transactions` with the canonical bytes (`application/octet-stream`);
//! - `batch`: `POST /v1/transactions/batch` with the binary framing of
//!   `dfc_core::api::batch`, `batch_size` transfers per request.

use dfc_core::api::batch::{encode_batch, BatchOutcome, SubmitBatchResponse, MAX_BATCH_SUBMIT};
use dfc_core::api::{ApiError, SubmitRequest};
use dfc_core::Transaction;

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

/// One pre-encoded request.
pub struct Request {
    /// The body.
    pub body: Vec<u8>,
    /// Transfers in it.
    pub count: usize,
}

/// Pre-encodes `txs` as requests in `wire` format.
pub fn encode(txs: &[Transaction], wire: Wire) -> Vec<Request> {
    match wire {
        Wire::Json => txs
            .iter()
            .map(|tx| Request {
                body: serde_json::to_vec(&SubmitRequest { tx: tx.clone() }).unwrap_or_default(),
                count: 1,
            })
            .collect(),
        Wire::Binary => txs
            .iter()
            .map(|tx| Request {
                body: tx.encode(),
                count: 1,
            })
            .collect(),
        Wire::Batch(n) => txs
            .chunks(n.max(1))
            .map(|chunk| {
                let encoded: Vec<Vec<u8>> = chunk.iter().map(Transaction::encode).collect();
                Request {
                    body: encode_batch(encoded.iter().map(Vec::as_slice)),
                    count: chunk.len(),
                }
            })
            .collect(),
    }
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
        Wire::Batch(_) => match serde_json::from_slice::<SubmitBatchResponse>(&bytes) {
            Ok(r) if r.outcomes.len() == req.count => r
                .outcomes
                .into_iter()
                .map(|o| match o {
                    BatchOutcome::Receipt(_) => Ok(()),
                    BatchOutcome::Error { error, .. } => Err(error.code),
                })
                .collect(),
            _ => all("decode".into()),
        },
    }
}
