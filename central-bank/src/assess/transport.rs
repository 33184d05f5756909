//! The transport between wallets, operators and the node: the node URL's scheme.

use std::net::IpAddr;

use super::threats::*;
use super::{Check, Facts, Outcome, Status, Threat};

/// `https` passes; plain `http` on loopback is a warning (a local node or a sandbox), anywhere
/// else a failure: requests, blocks and receipts are signed, but who asks for what, the payment
/// graph and the connection itself are open to anyone on the path.
pub struct Transport;

/// Whether `host` (from a URL) names this machine.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Check for Transport {
    fn id(&self) -> &'static str {
        "transport"
    }
    fn title(&self) -> &'static str {
        "transport security of the node URL"
    }
    fn threats(&self) -> &'static [Threat] {
        &[ON_PATH]
    }
    fn run(&self, f: &Facts) -> Outcome {
        let Some(url) = &f.node_url else {
            return Outcome::new(
                Status::Skip,
                "no node URL given or kept in the data directory",
            );
        };
        let parsed = match reqwest::Url::parse(url) {
            Ok(u) => u,
            Err(e) => return Outcome::new(Status::Fail, format!("{url}: not a URL: {e}")),
        };
        let host = parsed.host_str().unwrap_or("");
        match parsed.scheme() {
            "https" => Outcome::new(Status::Pass, format!("{url}: TLS")),
            "http" if is_loopback(host) => Outcome::new(
                Status::Warn,
                format!("{url}: plain HTTP on loopback (local only; use https for a served node)"),
            ),
            "http" => Outcome::new(
                Status::Fail,
                format!("{url}: plain HTTP to {host}: readable and alterable on the path"),
            ),
            other => Outcome::new(Status::Fail, format!("{url}: unknown scheme {other}")),
        }
    }
}
