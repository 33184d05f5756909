//! The wallet's stored payments with the node: resuming every open one after a restart, bringing
//! one to a known state, sending it, and keeping its receipt once it verifies.

use super::*;

impl Wallet {
    /// Resumes every open stored transaction: confirms it if the node committed it, resubmits the
    /// same transaction if the node does not know it, releases its notes if the node refuses it
    /// for good. Unreachable nodes leave everything as it was.
    pub(super) async fn resume(&mut self, client: &BankClient) -> Result<Vec<Resumed>> {
        let mut out = Vec::new();
        for o in self.store.outgoing(&self.data, true)? {
            let tx =
                Transaction::from_hex(&o.tx_hex).map_err(|e| WalletError::CorruptedDatabase {
                    path: self.store.path().to_path_buf(),
                    reason: format!("stored transaction {}: {e}", o.txid),
                })?;
            let (state, detail) = match self.settle(client, &o, &tx).await {
                Ok(state) => (state, String::new()),
                Err(WalletError::Frozen { message, .. }) => {
                    (OutgoingState::Rejected, format!("frozen_wallet: {message}"))
                }
                Err(WalletError::Rejected { code, message, .. }) => {
                    (OutgoingState::Rejected, format!("{code}: {message}"))
                }
                Err(WalletError::NotConfirmed { reason, .. }) => (OutgoingState::Pending, reason),
                Err(e) => return Err(e),
            };
            out.push(Resumed {
                txid: o.txid.to_hex(),
                state: state.as_str(),
                detail,
            });
        }
        Ok(out)
    }

    /// Brings one stored transaction to a known state with the node.
    pub(super) async fn settle(
        &mut self,
        client: &BankClient,
        o: &Outgoing,
        tx: &Transaction,
    ) -> Result<OutgoingState> {
        match client.tx_status(&o.txid).await? {
            TxStatus::Committed { receipt } => {
                self.accept_receipt(&o.txid, &receipt)?;
                return Ok(OutgoingState::Committed);
            }
            TxStatus::AwaitingApproval { .. } => {
                self.store.set_outgoing_state(
                    &o.txid,
                    OutgoingState::AwaitingApproval,
                    None,
                    None,
                )?;
                return Ok(OutgoingState::AwaitingApproval);
            }
            TxStatus::Unknown => {}
        }
        self.send(client, &o.txid, tx).await
    }

    /// Sends a stored transaction (first time or again) and records the outcome.
    pub(super) async fn send(
        &mut self,
        client: &BankClient,
        txid: &TxId,
        tx: &Transaction,
    ) -> Result<OutgoingState> {
        let result = if tx.kind == TxKind::Redeem {
            client.request_redemption(tx).await.map(|_| None)
        } else {
            client.submit(tx).await.map(Some)
        };
        match result {
            Ok(Some(receipt)) => {
                if self.fault == Some(FaultPoint::AfterSubmit) {
                    return Err(WalletError::InjectedFault("submit"));
                }
                self.accept_receipt(txid, &receipt)?;
                Ok(OutgoingState::Committed)
            }
            Ok(None) => {
                self.store
                    .set_outgoing_state(txid, OutgoingState::AwaitingApproval, None, None)?;
                Ok(OutgoingState::AwaitingApproval)
            }
            Err(e) if is_definitive(&e) => {
                // Before releasing the notes, make sure the node did not commit it after all (an
                // earlier attempt may have gone through): releasing a spent note would let the
                // wallet build a double spend and count money it no longer has.
                if let Ok(TxStatus::Committed { receipt }) = client.tx_status(txid).await {
                    self.accept_receipt(txid, &receipt)?;
                    return Ok(OutgoingState::Committed);
                }
                let (code, message) = match &e {
                    ClientError::Rejected { code, message, .. } => (code.clone(), message.clone()),
                    other => ("rejected".to_string(), other.to_string()),
                };
                self.store.set_outgoing_state(
                    txid,
                    OutgoingState::Rejected,
                    None,
                    Some(&format!("{code}: {message}")),
                )?;
                if code == "frozen_wallet" {
                    Err(WalletError::Frozen {
                        txid: txid.to_hex(),
                        message,
                    })
                } else {
                    Err(WalletError::Rejected {
                        txid: txid.to_hex(),
                        code,
                        message,
                    })
                }
            }
            Err(e) => Err(WalletError::NotConfirmed {
                txid: txid.to_hex(),
                reason: e.to_string(),
            }),
        }
    }

    /// Stores a receipt once it verifies under the node key in force at its height.
    pub(super) fn accept_receipt(&mut self, txid: &TxId, receipt: &Receipt) -> Result<()> {
        if receipt.txid != *txid || !receipt.verify(&self.node_key_at(receipt.height)?) {
            return Err(WalletError::BadReceipt {
                txid: txid.to_hex(),
            });
        }
        self.store
            .set_outgoing_state(txid, OutgoingState::Committed, Some(receipt), None)
    }
}
