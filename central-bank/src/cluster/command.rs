//! The sequencer's commands other than transfers as they travel between nodes: forwarded to the
//! sealer (`cluster_requests`) and recorded in the replication log (`cluster_log`), as JSON.

use std::collections::HashSet;
use std::sync::Mutex;

use axum::http::StatusCode;
use dfc_core::api::{OperatorRequest, WalletInfo};
use dfc_core::offline_api::EvidenceRecord;
use dfc_core::{PublicKey, Transaction};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::error::ApiErr;
use crate::sequencer::Command;
use crate::store::pg::cluster::StoredRefusal;

/// A command without its reply channel.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClusterCommand {
    /// [`Command::Register`].
    Register {
        /// The record.
        info: WalletInfo,
    },
    /// [`Command::Redemption`].
    Redemption {
        /// The redeem transaction.
        tx: Transaction,
        /// The wallet.
        wallet: PublicKey,
    },
    /// [`Command::Operator`].
    Operator {
        /// The request.
        req: OperatorRequest,
    },
    /// [`Command::IssuePurse`].
    IssuePurse {
        /// The wallet.
        wallet: PublicKey,
        /// The purse key.
        purse: PublicKey,
        /// Validity, ms.
        ttl_ms: u64,
    },
    /// [`Command::Cosign`].
    Cosign {
        /// The signature.
        sig: dfc_core::cosign::CheckpointSignature,
    },
    /// [`Command::Evidence`].
    Evidence {
        /// The record.
        record: Box<EvidenceRecord>,
    },
}

impl ClusterCommand {
    /// The command's content; `None` for a transfer (which travels through `handoff`).
    pub fn of(cmd: &Command) -> Option<ClusterCommand> {
        Some(match cmd {
            Command::Submit { .. } => return None,
            Command::Register { info, .. } => ClusterCommand::Register { info: info.clone() },
            Command::Redemption { tx, wallet, .. } => ClusterCommand::Redemption {
                tx: tx.clone(),
                wallet: *wallet,
            },
            Command::Operator { req, .. } => ClusterCommand::Operator { req: req.clone() },
            Command::IssuePurse {
                wallet,
                purse,
                ttl_ms,
                ..
            } => ClusterCommand::IssuePurse {
                wallet: *wallet,
                purse: *purse,
                ttl_ms: *ttl_ms,
            },
            Command::Cosign { sig, .. } => ClusterCommand::Cosign { sig: *sig },
            Command::Evidence { record, .. } => ClusterCommand::Evidence {
                record: record.clone(),
            },
        })
    }

    /// The registry records this command may write, which the sealer copies to PostgreSQL in
    /// the same transaction: the wallets (registered, frozen, re-tiered) and a purse key
    /// (certified).
    pub fn registry_keys(&self) -> (Vec<PublicKey>, Option<PublicKey>) {
        use dfc_core::api::OperatorAction as A;
        match self {
            ClusterCommand::Register { info } => (vec![info.address.spend], None),
            ClusterCommand::Operator { req } => match &req.action {
                A::Freeze { wallet, .. }
                | A::Unfreeze { wallet, .. }
                | A::SetTier { wallet, .. } => (vec![*wallet], None),
                _ => (Vec::new(), None),
            },
            ClusterCommand::IssuePurse { wallet, purse, .. } => (vec![*wallet], Some(*purse)),
            _ => (Vec::new(), None),
        }
    }

    /// JSON, as stored.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// From stored JSON.
    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }

    /// The command with a reply channel whose answer [`Probe::outcome`] reads.
    pub fn into_command(self) -> (Command, Probe) {
        match self {
            ClusterCommand::Register { info } => {
                let (reply, rx) = oneshot::channel();
                (Command::Register { info, reply }, Probe::Register(rx))
            }
            ClusterCommand::Redemption { tx, wallet } => {
                let (reply, rx) = oneshot::channel();
                (
                    Command::Redemption { tx, wallet, reply },
                    Probe::other(move || rx_err(rx)),
                )
            }
            ClusterCommand::Operator { req } => {
                let (reply, rx) = oneshot::channel();
                (
                    Command::Operator { req, reply },
                    Probe::other(move || rx_err(rx)),
                )
            }
            ClusterCommand::IssuePurse {
                wallet,
                purse,
                ttl_ms,
            } => {
                let (reply, rx) = oneshot::channel();
                (
                    Command::IssuePurse {
                        wallet,
                        purse,
                        ttl_ms,
                        reply,
                    },
                    Probe::other(move || rx_err(rx)),
                )
            }
            ClusterCommand::Cosign { sig } => {
                let (reply, rx) = oneshot::channel();
                (
                    Command::Cosign { sig, reply },
                    Probe::other(move || rx_err(rx)),
                )
            }
            ClusterCommand::Evidence { record } => {
                let (reply, rx) = oneshot::channel();
                (
                    Command::Evidence { record, reply },
                    Probe::other(move || rx_err(rx)),
                )
            }
        }
    }
}

fn rx_err<T>(mut rx: oneshot::Receiver<Result<T, ApiErr>>) -> Option<ApiErr> {
    match rx.try_recv() {
        Ok(Err(e)) => Some(e),
        _ => None,
    }
}

/// Reads the answer of a command the sealer applied for another node.
pub enum Probe {
    /// A registration (the one command that may succeed without a write: an already registered
    /// wallet answers its stored record).
    Register(oneshot::Receiver<Result<WalletInfo, ApiErr>>),
    /// Any other: only its refusal matters (a success is a write, replayed by the asking node).
    Other(Box<dyn FnOnce() -> Option<ApiErr> + Send>),
}

/// What the sealer tells the asking node when a command wrote nothing.
pub enum Unwritten {
    /// Refused.
    Refused(ApiErr),
    /// Answered from the ledger as it stands (a registration already done): the record.
    Answered(Box<WalletInfo>),
}

impl Probe {
    fn other(f: impl FnOnce() -> Option<ApiErr> + Send + 'static) -> Self {
        Probe::Other(Box::new(f))
    }

    /// The answer of a command that wrote nothing (`None` if it was never answered).
    pub fn outcome(self) -> Option<Unwritten> {
        match self {
            Probe::Register(mut rx) => match rx.try_recv() {
                Ok(Ok(info)) => Some(Unwritten::Answered(Box::new(info))),
                Ok(Err(e)) => Some(Unwritten::Refused(e)),
                Err(_) => None,
            },
            Probe::Other(f) => f().map(Unwritten::Refused),
        }
    }
}

/// Code under which an answered registration travels in `cluster_requests` (status 200, the
/// record as the message).
pub const ANSWERED: &str = "answered";

/// The stored form of an unwritten outcome.
pub fn store_unwritten(u: &Unwritten) -> Result<StoredRefusal, serde_json::Error> {
    Ok(match u {
        Unwritten::Refused(e) => refusal_of(e),
        Unwritten::Answered(info) => StoredRefusal {
            status: 200,
            code: ANSWERED.into(),
            message: serde_json::to_string(info)?,
        },
    })
}

/// The stored form of a refusal.
pub fn refusal_of(e: &ApiErr) -> StoredRefusal {
    StoredRefusal {
        status: e.status.as_u16(),
        code: e.code.to_string(),
        message: e.message.clone(),
    }
}

/// The refusal a stored one stands for. Codes are interned: they come from the sealer's own
/// refusals, a small fixed set.
pub fn api_err_of(r: &StoredRefusal) -> ApiErr {
    static CODES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let code: &'static str = {
        let mut guard = match CODES.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let set = guard.get_or_insert_with(HashSet::new);
        match set.get(r.code.as_str()) {
            Some(c) => c,
            None => {
                let leaked: &'static str = Box::leak(r.code.clone().into_boxed_str());
                set.insert(leaked);
                leaked
            }
        }
    };
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    ApiErr::new(status, code, r.message.clone())
}

/// Answers a command with a refusal.
pub fn refuse(cmd: Command, e: ApiErr) {
    cmd.refuse(e);
}

/// Answers a registration with the record the sealer answered; any other command with a
/// refusal (the sealer answers only registrations without a write).
pub fn answer_unwritten(cmd: Command, u: Unwritten) {
    match (cmd, u) {
        (Command::Register { reply, .. }, Unwritten::Answered(info)) => {
            let _ = reply.send(Ok(*info));
        }
        (cmd, Unwritten::Refused(e)) => refuse(cmd, e),
        (cmd, Unwritten::Answered(_)) => refuse(
            cmd,
            ApiErr::internal("the sealer answered another command as a registration"),
        ),
    }
}

/// Decodes a stored unwritten outcome.
pub fn unwritten_of(r: &StoredRefusal) -> Unwritten {
    if r.status == 200 && r.code == ANSWERED {
        match serde_json::from_str(&r.message) {
            Ok(info) => Unwritten::Answered(Box::new(info)),
            Err(e) => Unwritten::Refused(ApiErr::internal(format!(
                "the sealer's answer does not decode: {e}"
            ))),
        }
    } else {
        Unwritten::Refused(api_err_of(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_travels_with_its_status_code_and_message() {
        let e = ApiErr::conflict("input_spent", "input 0 is already spent");
        let stored = refusal_of(&e);
        assert_eq!(api_err_of(&stored), e);
        // The same code twice is one interned string.
        assert!(std::ptr::eq(
            api_err_of(&stored).code,
            api_err_of(&stored).code
        ));
        let Unwritten::Refused(back) = unwritten_of(&stored) else {
            panic!("a refusal is not an answer");
        };
        assert_eq!(back, e);
    }

    #[test]
    fn an_answer_that_does_not_decode_is_an_internal_error_not_a_record() {
        let stored = StoredRefusal {
            status: 200,
            code: ANSWERED.into(),
            message: "{not json".into(),
        };
        let Unwritten::Refused(e) = unwritten_of(&stored) else {
            panic!("garbage decoded as a wallet record");
        };
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
