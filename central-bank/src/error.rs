//! Errors of the node: one API error type that maps caller mistakes to 4xx with a stable code and
//! hides internals behind 5xx, and a storage error type for the SQLite layer.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dfc_core::api::ApiError;
use dfc_core::TxError;
use thiserror::Error;

/// A failure of the ledger store (SQLite or PostgreSQL). Never shown to callers: it becomes a 500 `internal`.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL reported an error (the shared store, `store::pg`).
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    /// A schema migration failed.
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The ledger file cannot be written (read-only file or file system): the node refuses to
    /// start rather than fail at its first write.
    #[error("the ledger {path} cannot be opened for writing: {source}")]
    NotWritable {
        /// The ledger file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A stored record does not decode: the file was altered or written by other software.
    #[error("corrupt record in {table}: {reason}")]
    Corrupt {
        /// Table of the record.
        table: &'static str,
        /// What did not decode.
        reason: String,
    },
}

impl StoreError {
    /// A corrupt-record error.
    pub fn corrupt(table: &'static str, reason: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            table,
            reason: reason.to_string(),
        }
    }
}

/// An error returned by the API: HTTP status, stable snake_case code and a message for the caller.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{status} {code}: {message}")]
pub struct ApiErr {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
}

impl ApiErr {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiErr {
            status,
            code,
            message: message.into(),
        }
    }
    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 404 with `code`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    /// 409 with `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    /// 403 with `code`.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }
    /// 503: the node is overloaded or halted; the caller may retry later.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }
    /// 500 without internals. The cause is logged here, never sent to the caller.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the node failed to handle the request; it has been logged",
        )
    }
    /// The wire form.
    pub fn body(&self) -> ApiError {
        ApiError {
            code: self.code.to_string(),
            message: self.message.clone(),
        }
    }
}

impl From<StoreError> for ApiErr {
    fn from(e: StoreError) -> Self {
        ApiErr::internal(e)
    }
}

impl From<TxError> for ApiErr {
    fn from(e: TxError) -> Self {
        let (status, code) = tx_error_code(&e);
        ApiErr::new(status, code, e.to_string())
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.body())).into_response();
        // Every 503 (overloaded, queue full, halted) and 429 (a wallet over its rate; rates are
        // whole tokens per second, so one comes back within a second) tells a well-behaved client
        // when to retry.
        if self.status == StatusCode::SERVICE_UNAVAILABLE
            || self.status == StatusCode::TOO_MANY_REQUESTS
        {
            r.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        r
    }
}

/// The HTTP status and stable code of each transaction rejection. Exhaustive on purpose: a new
/// rule in `dfc_core` must get its own code here before the node builds.
pub fn tx_error_code(e: &TxError) -> (StatusCode, &'static str) {
    use StatusCode as S;
    match e {
        TxError::Decode(_) => (S::BAD_REQUEST, "malformed_tx"),
        TxError::WrongNetwork { .. } => (S::BAD_REQUEST, "wrong_network"),
        TxError::NoOutputs => (S::BAD_REQUEST, "no_outputs"),
        TxError::NoInputs { .. } => (S::BAD_REQUEST, "no_inputs"),
        TxError::InputsNotAllowed => (S::BAD_REQUEST, "inputs_not_allowed"),
        TxError::TooManyInputs { .. } => (S::BAD_REQUEST, "too_many_inputs"),
        TxError::TooManyOutputs { .. } => (S::BAD_REQUEST, "too_many_outputs"),
        TxError::TooLarge { .. } => (S::BAD_REQUEST, "tx_too_large"),
        TxError::OpeningTooLarge { .. } => (S::BAD_REQUEST, "opening_too_large"),
        TxError::DuplicateInput { .. } => (S::BAD_REQUEST, "duplicate_input"),
        TxError::DuplicateOutputCommitment { .. } => {
            (S::BAD_REQUEST, "duplicate_output_commitment")
        }
        TxError::ZeroPublicAmount => (S::BAD_REQUEST, "zero_public_amount"),
        TxError::Amount(_) => (S::BAD_REQUEST, "bad_amount"),
        TxError::NotEnoughIssuerSignatures { .. } => {
            (S::BAD_REQUEST, "not_enough_issuer_signatures")
        }
        TxError::UnknownIssuer { .. } => (S::BAD_REQUEST, "unknown_issuer"),
        TxError::IssuerSignaturesUnordered { .. } => {
            (S::BAD_REQUEST, "issuer_signatures_unordered")
        }
        TxError::BadIssuerSignature { .. } => (S::BAD_REQUEST, "bad_issuer_signature"),
        TxError::IssuerSignaturesNotAllowed => (S::BAD_REQUEST, "issuer_signatures_not_allowed"),
        TxError::OwnerSignatureCount { .. } => (S::BAD_REQUEST, "owner_signature_count"),
        TxError::BadOwnerSignature { .. } => (S::BAD_REQUEST, "bad_owner_signature"),
        TxError::UnknownInput { .. } => (S::NOT_FOUND, "unknown_input"),
        TxError::InputSpent { .. } => (S::CONFLICT, "input_spent"),
        TxError::InputSpentInBatch { .. } => (S::CONFLICT, "input_spent"),
        TxError::CommitmentExists { .. } => (S::CONFLICT, "commitment_exists"),
        TxError::Unbalanced => (S::BAD_REQUEST, "unbalanced"),
        TxError::BadRangeProof => (S::BAD_REQUEST, "bad_range_proof"),
        TxError::SupplyOverflow { .. } => (S::CONFLICT, "supply_overflow"),
        TxError::SupplyUnderflow { .. } => (S::CONFLICT, "supply_underflow"),
        TxError::ComplianceMissing => (S::BAD_REQUEST, "compliance_missing"),
        TxError::ComplianceNotAllowed => (S::BAD_REQUEST, "compliance_not_allowed"),
        TxError::MissingDisclosure { .. } => (S::BAD_REQUEST, "missing_disclosure"),
        TxError::BadDisclosure { .. } => (S::BAD_REQUEST, "bad_disclosure"),
        TxError::OverCap { .. } => (S::BAD_REQUEST, "over_cap"),
        TxError::WrongGenesis { .. } => (S::BAD_REQUEST, "wrong_genesis"),
        TxError::MultiplePayers { .. } => (S::BAD_REQUEST, "multiple_payers"),
        TxError::WrongParties { .. } => (S::BAD_REQUEST, "wrong_parties"),
        TxError::WrongTier { .. } => (S::FORBIDDEN, "wrong_tier"),
        TxError::UnknownTier { .. } => (S::BAD_REQUEST, "unknown_tier"),
        TxError::UnregisteredParty { .. } => (S::FORBIDDEN, "unknown_wallet"),
        TxError::InputPending { .. } => (S::CONFLICT, "input_pending"),
        TxError::RedeemToOther { .. } => (S::BAD_REQUEST, "redeem_to_other"),
        TxError::NoteNotPending { .. } => (S::CONFLICT, "note_not_pending"),
        TxError::ClaimNotOwner { .. } => (S::FORBIDDEN, "claim_not_owner"),
        TxError::ClaimantNotAccount => (S::FORBIDDEN, "claimant_not_account"),
        TxError::StaleBalance => (S::CONFLICT, "stale_balance"),
        TxError::StaleInflow => (S::CONFLICT, "stale_inflow"),
        TxError::WrongPeriod { .. } => (S::CONFLICT, "wrong_period"),
        TxError::BadClaimProof => (S::BAD_REQUEST, "over_holding_or_turnover_limit"),
        TxError::OverHoldingLimit { .. } => (S::BAD_REQUEST, "over_holding_limit"),
        TxError::OverTurnoverLimit { .. } => (S::BAD_REQUEST, "over_turnover_limit"),
    }
}

/// A stable code for an HTTP status produced by a layer rather than a handler (timeouts, limits,
/// unknown routes).
pub fn status_code_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        413 => "body_too_large",
        415 => "unsupported_media_type",
        422 => "malformed_json",
        429 => "too_many_requests",
        503 => "unavailable",
        s if s >= 500 => "internal",
        _ => "error",
    }
}
