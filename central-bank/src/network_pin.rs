//! The network pin: a request that names a genesis ([`GENESIS_HEADER`]) other than this node's is
//! refused with 409 `wrong_network` before any handler runs.
//!
//! Why: a wallet registered on one network and then pointed at another node (a second sandbox,
//! an old URL now served by another network) must not act on that node's answers: sync would
//! report its height, and settling an offline packet there would mark a settled packet as failed.
//! The wallet sends its pinned genesis on every call; the node checks it here, the wallet checks
//! what it receives. A request without the header (a browser, `curl`, a wallet registering for
//! the first time) is served as before.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dfc_core::api::GENESIS_HEADER;
use dfc_core::Hash32;

use crate::error::ApiErr;

/// Refuses a request whose [`GENESIS_HEADER`] is not `genesis` (or not a 32-byte hex hash).
pub async fn check(State(genesis): State<Hash32>, req: Request, next: Next) -> Response {
    if let Some(v) = req.headers().get(GENESIS_HEADER) {
        let named = v.to_str().ok().map(str::trim).unwrap_or_default();
        if !named.eq_ignore_ascii_case(&genesis.to_hex()) {
            let shown: String = named.chars().take(64).collect();
            return ApiErr::conflict(
                "wrong_network",
                format!(
                    "this node's network has genesis {genesis}; the request expects genesis \
                     {shown:?}: the caller is pinned to another network (wrong node URL?)"
                ),
            )
            .into_response();
        }
    }
    next.run(req).await
}
