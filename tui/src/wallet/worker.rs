//! The wallet's background worker: one thread owning the [`Wallet`] (its SQLite store stays on
//! one thread) with its own single-threaded runtime, taking commands and reporting results. The
//! screen never waits on it.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use dfc_core::NetworkParams;
use dfc_wallet::wallet::{Balance, HistoryLine, PaymentReport, SyncReport};
use dfc_wallet::Wallet;
use tokio::sync::mpsc;

/// Work for the wallet thread.
#[derive(Clone, Debug)]
pub enum WalletCmd {
    /// Resume stored payments and download new blocks.
    Sync,
    /// Pay.
    Pay {
        /// Recipient address.
        to: String,
        /// Amount as typed, in the currency's decimals.
        amount: String,
        /// Memo.
        memo: String,
    },
}

/// What the wallet thread reports.
#[derive(Debug)]
pub enum WalletMsg {
    /// The local state after any command (and once at start).
    Local {
        /// Balance from the local database.
        balance: Box<Balance>,
        /// History, oldest first.
        history: Vec<HistoryLine>,
    },
    /// A sync finished.
    Synced(Result<SyncReport, String>),
    /// A payment finished.
    Paid(Box<Result<PaymentReport, String>>),
    /// Reading the local state failed.
    Failed(String),
}

/// The opened wallet, as the screen knows it.
pub struct Handle {
    /// Commands to the wallet thread.
    pub commands: mpsc::UnboundedSender<WalletCmd>,
    /// The wallet directory.
    pub dir: PathBuf,
    /// The wallet's address.
    pub address: String,
    /// The pinned network parameters.
    pub params: NetworkParams,
    /// The node URL given on the command line, if any.
    pub bank: Option<String>,
}

/// Opens the wallet in `dir` on its own thread; fails (before any screen is drawn) on a wrong
/// passphrase or an unregistered wallet.
pub fn open(
    dir: &Path,
    passphrase: &str,
    bank: Option<String>,
    msgs: mpsc::UnboundedSender<WalletMsg>,
) -> Result<Handle> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let pass = zeroize::Zeroizing::new(passphrase.to_string());
    let dir_owned = dir.to_path_buf();
    let bank_owned = bank.clone();
    std::thread::Builder::new()
        .name("wallet".into())
        .spawn(move || {
            let opened = Wallet::open(&dir_owned, &pass).and_then(|mut w| {
                w.set_bank_override(bank_owned);
                let params = w.params()?;
                let address = w.address()?.to_string();
                Ok((w, params, address))
            });
            drop(pass);
            let (wallet, params, address) = match opened {
                Ok(x) => x,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            let _ = ready_tx.send(Ok((params, address)));
            run(wallet, cmd_rx, msgs);
        })
        .map_err(|e| anyhow!("cannot start the wallet thread: {e}"))?;
    let (params, address) = ready_rx
        .recv()
        .map_err(|_| anyhow!("the wallet thread ended while opening the wallet"))?
        .map_err(|e| anyhow!("cannot open the wallet in {}: {e}", dir.display()))?;
    Ok(Handle {
        commands: cmd_tx,
        dir: dir.to_path_buf(),
        address,
        params,
        bank,
    })
}

fn local(wallet: &Wallet) -> WalletMsg {
    match (wallet.balance(), wallet.history()) {
        (Ok(balance), Ok(history)) => WalletMsg::Local {
            balance: Box::new(balance),
            history,
        },
        (Err(e), _) | (_, Err(e)) => WalletMsg::Failed(e.to_string()),
    }
}

fn run(
    mut wallet: Wallet,
    mut commands: mpsc::UnboundedReceiver<WalletCmd>,
    msgs: mpsc::UnboundedSender<WalletMsg>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = msgs.send(WalletMsg::Failed(format!("cannot start a runtime: {e}")));
            return;
        }
    };
    rt.block_on(async move {
        if msgs.send(local(&wallet)).is_err() {
            return;
        }
        while let Some(cmd) = commands.recv().await {
            let msg = match cmd {
                WalletCmd::Sync => {
                    WalletMsg::Synced(wallet.sync().await.map_err(|e| e.to_string()))
                }
                WalletCmd::Pay { to, amount, memo } => {
                    let r = wallet.pay(&to, &amount, &memo).await;
                    if let Err(e) = &r {
                        tracing::warn!("payment failed: {e}");
                    }
                    WalletMsg::Paid(Box::new(r.map_err(|e| e.to_string())))
                }
            };
            if msgs.send(msg).is_err() || msgs.send(local(&wallet)).is_err() {
                return;
            }
        }
    });
}
