//! How `dfc-sim` reports a failure: one line on stderr (`error: …`, the cause chain without
//! repeats, as `dfc-bank` and `dfc-wallet` print it through [`dfc_core::error::error_line`]) and,
//! under `--json`, an object `{"error": code, "code": code, "message": line}` on stdout with a
//! stable `code`. Never a backtrace, whatever `RUST_BACKTRACE` says: the error is printed by
//! hand, not returned from `main`.

use dfc_client::ClientError;
use serde_json::{json, Value};

use crate::experiment::ExperimentError;
use crate::load::LoadError;
use crate::output::OutputError;
use crate::scenario::ScenarioError;

/// A stable machine-readable code for `e`: the kind of failure, or the node's own code.
pub fn error_code(e: &anyhow::Error) -> String {
    if let Some(l) = e.downcast_ref::<LoadError>() {
        return match l {
            LoadError::Options(_) => "bad_option".into(),
            LoadError::Node { source, .. } => client_code(source),
            LoadError::Keys(_) => "bad_keys".into(),
            LoadError::Build(_) => "build_failed".into(),
        };
    }
    if e.downcast_ref::<ScenarioError>().is_some() {
        return "bad_scenario".into();
    }
    if e.downcast_ref::<ExperimentError>().is_some() {
        return "bad_experiment".into();
    }
    if e.downcast_ref::<OutputError>().is_some() {
        return "output".into();
    }
    if let Some(c) = e.downcast_ref::<ClientError>() {
        return client_code(c);
    }
    if e.chain()
        .any(|c| c.downcast_ref::<std::io::Error>().is_some())
    {
        return "io".into();
    }
    "error".into()
}

fn client_code(c: &ClientError) -> String {
    match c {
        ClientError::Rejected { code, .. } => code.clone(),
        ClientError::Unreachable { .. } => "node_unreachable".into(),
        ClientError::Server { .. } => "node_error".into(),
        ClientError::Decode(_) => "bad_answer".into(),
        ClientError::WrongNetwork { .. } => "wrong_network".into(),
        ClientError::UntrustedCertificate { .. } => "untrusted_certificate".into(),
        ClientError::PlainHttpToPinnedNode { .. } => "plain_http_to_pinned_node".into(),
        ClientError::Pin(_) => "bad_tls_pin".into(),
        ClientError::Signer { code, .. } => (*code).into(),
    }
}

/// The one line printed for `e`.
pub fn error_line(e: &anyhow::Error) -> String {
    dfc_core::error::error_line(e.as_ref())
}

/// The `--json` object printed for `e`.
pub fn error_json(e: &anyhow::Error) -> Value {
    let code = error_code(e);
    json!({"error": code, "code": code, "message": error_line(e)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_the_line_is_one_line() {
        let e = anyhow::Error::new(LoadError::Options("--payments must be positive".into()))
            .context("dfc-sim load");
        assert_eq!(error_code(&e), "bad_option");
        let io = anyhow::Error::new(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "No such file or directory (os error 2)",
        ))
        .context("reading x.toml");
        assert_eq!(error_code(&io), "io");
        let line = error_line(&io);
        assert!(!line.contains('\n'), "{line}");
        assert_eq!(line.matches("os error 2").count(), 1, "{line}");
        assert_eq!(
            error_json(&anyhow::anyhow!("plain"))["code"],
            "error",
            "an unknown failure still has a code"
        );
    }
}
