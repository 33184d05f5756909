//! HTTP reads of governance: the parameter history (which every wallet and auditor verifies)
//! and the proposed changes (which the console shows with their diff before approval).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use dfc_core::governance::{ChangeProposal, ParamsHistory};

use crate::datadir::now_ms;
use crate::error::ApiErr;
use crate::server::AppState;

/// Most proposals listed.
pub const MAX_LISTED: u32 = 200;

/// The governance routes, merged into [`crate::server::app`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/governance/history", get(history))
        .route("/v1/governance/changes", get(changes))
}

/// `GET /v1/governance/history`: the genesis parameters and every approved change with its
/// approvals. A reader decodes it only if every change verifies.
#[utoipa::path(get, path = "/v1/governance/history", responses((status = 200, description = "ParamsHistory {genesis, changes}", body = serde_json::Value)))]
pub async fn history(State(s): State<AppState>) -> Json<ParamsHistory> {
    Json((*s.rules().history()).clone())
}

/// `GET /v1/governance/changes`: proposed changes, newest first, with their state.
#[utoipa::path(get, path = "/v1/governance/changes", responses((status = 200, description = "Vec<ChangeProposal>, newest first", body = serde_json::Value)))]
pub async fn changes(State(s): State<AppState>) -> Result<Json<Vec<ChangeProposal>>, ApiErr> {
    let history = s.rules().history();
    let latest = history.latest().clone();
    let rows = s
        .read(move |c| Ok(super::store::list(c, MAX_LISTED)?))
        .await?;
    let now = now_ms();
    Ok(Json(
        rows.iter()
            .map(|r| {
                // k of the rules each change replaces (those it was, or is to be, approved under).
                let k = if r.change.base_hash == latest.hash() {
                    latest.threshold
                } else {
                    history
                        .changes()
                        .iter()
                        .map(|c| &c.change.params)
                        .chain(std::iter::once(history.genesis()))
                        .find(|p| p.hash() == r.change.base_hash)
                        .map_or(latest.threshold, |p| p.threshold)
                };
                r.listing(&latest, k, now)
            })
            .collect(),
    ))
}
