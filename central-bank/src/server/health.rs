//! The node's health for monitors and load balancers: `GET /healthz` (up, or halted) and
//! `GET /readyz` (ready to commit writes). After a restart the node answers before the background
//! check of its stored tables has passed (`crate::table_check`), and writes wait for that check:
//! on a large ledger for minutes. A load balancer that routes payments by `/healthz` alone would
//! send them to a node that cannot commit them yet; `/readyz` says when it can.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::AppState;
use crate::error::ApiErr;

/// Body of `GET /healthz`.
#[derive(Serialize, Deserialize, Debug, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `halted`.
    pub status: String,
    /// Tip height.
    pub height: u64,
    /// Whether writes commit: `open`, `checking` (the stored tables are being checked against
    /// the signed summary after a start; writes wait) or `halted`.
    #[serde(default)]
    pub writes: String,
}

/// Where the node's writes stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Writes {
    /// Writes commit.
    Open,
    /// The background table check has not passed yet: writes wait.
    Checking,
    /// The node stopped writing (storage failure or a failed table check).
    Halted,
}

impl Writes {
    /// From the node's halted flag and its write gate.
    pub(crate) fn of(halted: bool, gate_open: bool) -> Writes {
        match (halted, gate_open) {
            (true, _) => Writes::Halted,
            (false, false) => Writes::Checking,
            (false, true) => Writes::Open,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Writes::Open => "open",
            Writes::Checking => "checking",
            Writes::Halted => "halted",
        }
    }
}

fn writes(s: &AppState) -> (Writes, u64) {
    let st = s.status();
    let gate = s.inner.shared.write_gate.is_open();
    (Writes::of(st.halted, gate), st.tip.height)
}

#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "node",
    responses((status = 200, description = "The node is up: `writes` says whether writes commit yet (`open`) or wait for the start-up table check (`checking`)", body = Health),
              (status = 503, description = "The node halted (its sequencer stopped on a storage failure, or a table check failed): `status` and `writes` are `halted`", body = Health)))]
pub(super) async fn healthz(State(s): State<AppState>) -> Response {
    let (w, height) = writes(&s);
    let halted = w == Writes::Halted;
    let body = Health {
        status: if halted { "halted" } else { "ok" }.into(),
        height,
        writes: w.name().into(),
    };
    let status = if halted {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, Json(body)).into_response()
}

#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "node",
    responses((status = 200, description = "Ready: writes commit (`writes` is `open`)", body = Health),
              (status = 503, description = "`starting`: the stored tables are being checked against the signed summary after a start, writes wait (retry after `Retry-After` seconds); or `node_halted`", body = dfc_core::api::ApiError)))]
pub(super) async fn readyz(State(s): State<AppState>) -> Result<Json<Health>, ApiErr> {
    let (w, height) = writes(&s);
    match w {
        Writes::Open => Ok(Json(Health {
            status: "ok".into(),
            height,
            writes: w.name().into(),
        })),
        Writes::Checking => Err(ApiErr::unavailable(
            "starting",
            "the node is checking its stored tables against its signed summary after a start; \
             writes wait until the check passes",
        )),
        Writes::Halted => Err(ApiErr::unavailable(
            "node_halted",
            "the node stopped writing (storage failure or a failed table check)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::Writes;

    #[test]
    fn writes_follow_the_halted_flag_then_the_gate() {
        assert_eq!(Writes::of(false, true), Writes::Open);
        assert_eq!(Writes::of(false, false), Writes::Checking);
        assert_eq!(Writes::of(true, false), Writes::Halted);
        assert_eq!(Writes::of(true, true), Writes::Halted);
    }
}
