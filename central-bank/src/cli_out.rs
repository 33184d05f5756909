//! What `dfc-bank`'s operator commands print for scripts: proposals with their amounts formatted
//! and their times in UTC next to the raw numbers, and errors as a JSON object with a stable code.
//!
//! Kept out of `main.rs` so the command wiring there stays short.

use dfc_central_bank::client::ClientError;
use dfc_core::api::{OperatorResponse, Proposal};
use dfc_core::time::utc_text;
use dfc_core::NetworkParams;
use serde_json::{json, Value};

/// A refusal decided by the CLI itself, before or instead of a node call.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// This operator's approval of the proposal is already counted: a second one would change
    /// nothing, so it is an error for a script rather than a silent success.
    #[error(
        "operator {operator} has already approved proposal {txid} ({approvals} of {threshold} approvals): another operator must approve it"
    )]
    AlreadyApproved {
        /// The operator.
        operator: u8,
        /// The proposal.
        txid: String,
        /// Approvals so far.
        approvals: usize,
        /// Approvals needed.
        threshold: usize,
    },
    /// The operator answered no at the confirmation prompt.
    #[error("not approved: nothing was signed")]
    NotConfirmed,
}

/// A proposal as JSON: its wire fields unchanged, plus `amount_text` (the amount formatted in the
/// network's currency), `output_amounts_text` (each output's, in output order; null when
/// hidden), `created` and `expires` (UTC), so a script or a person reading `"amount": 1000` is not
/// left to guess that it means 10.00.
pub fn proposal_json(p: &Proposal, params: &NetworkParams) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("amount_text".into(), json!(params.format(p.amount)));
        obj.insert("created".into(), json!(utc_text(p.created_ms)));
        if p.expires_ms > 0 {
            obj.insert("expires".into(), json!(utc_text(p.expires_ms)));
        }
        // Beside `outputs`, not inside: `ProposalOutput` refuses unknown fields, and scripts
        // read this JSON back into the wire types.
        let texts: Vec<Option<String>> = p
            .outputs
            .iter()
            .map(|o| o.amount.map(|a| params.format(a)))
            .collect();
        obj.insert("output_amounts_text".into(), json!(texts));
    }
    v
}

/// An operator response as JSON, its proposal shown by [`proposal_json`].
pub fn response_json(r: &OperatorResponse, params: &NetworkParams) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let (Some(obj), Some(p)) = (v.as_object_mut(), &r.proposal) {
        obj.insert("proposal".into(), proposal_json(p, params));
    }
    v
}

/// A stable machine-readable code for an error: the node's own code for a rejection, else the
/// kind of failure.
pub fn error_code(e: &anyhow::Error) -> String {
    if let Some(c) = e.downcast_ref::<CliError>() {
        return match c {
            CliError::AlreadyApproved { .. } => "already_approved",
            CliError::NotConfirmed => "not_confirmed",
        }
        .into();
    }
    if let Some(c) = e.downcast_ref::<ClientError>() {
        return match c {
            ClientError::Rejected { code, .. } => code.clone(),
            ClientError::Unreachable { .. } => "node_unreachable".into(),
            ClientError::Server { .. } => "node_error".into(),
            ClientError::Decode(_) => "bad_answer".into(),
            ClientError::WrongNetwork { .. } => "wrong_network".into(),
            ClientError::UntrustedCertificate { .. } => "untrusted_certificate".into(),
            ClientError::PlainHttpToPinnedNode { .. } => "plain_http_to_pinned_node".into(),
            ClientError::Pin(_) => "bad_tls_pin".into(),
            ClientError::Signer { code, .. } => (*code).into(),
        };
    }
    // A signer that could not be opened or could not sign (`--signer`): its own code, such as
    // `wrong_pin` or `pkcs11_token_not_found`.
    if let Some(s) = e.downcast_ref::<dfc_keys::SignerError>() {
        return s.code().into();
    }
    if let Some(k) = e.downcast_ref::<dfc_keys::KeyFileError>() {
        return k.code().into();
    }
    "error".into()
}

/// The JSON object printed for an error under `--json`: `code` and `message`, with `error`
/// repeating the code as `dfc-wallet` prints it.
pub fn error_json(e: &anyhow::Error) -> Value {
    let code = error_code(e);
    json!({"error": code, "code": code, "message": dfc_core::error::error_line(e.as_ref())})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_stable_codes() {
        let e = anyhow::Error::new(ClientError::Rejected {
            status: 409,
            code: "proposal_not_pending".into(),
            message: "proposal x is committed".into(),
        });
        let v = error_json(&e);
        assert_eq!(v["code"], "proposal_not_pending");
        assert_eq!(v["error"], "proposal_not_pending");
        let e = anyhow::Error::new(CliError::AlreadyApproved {
            operator: 0,
            txid: "ab".into(),
            approvals: 1,
            threshold: 2,
        });
        assert_eq!(error_json(&e)["code"], "already_approved");
        assert_eq!(error_json(&anyhow::anyhow!("plain"))["code"], "error");
    }
}
