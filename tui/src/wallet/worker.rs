//! The wallet's background worker: one thread owning the [`Wallet`] (its SQLite store stays on
//! one thread) with its own single-threaded runtime, taking commands and reporting results. The
//! screen never waits on it.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use dfc_core::offline::PACKET_TEXT_PREFIX;
use dfc_core::NetworkParams;
use dfc_wallet::wallet::offline::{
    AcceptReport, FundReport, OfflinePayment, PacketLine, PolicyOverrides, PurseStatus,
    DEFAULT_PURSE_NOTES,
};
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
    /// No network: pay from the offline purse and write the packet to a file in the wallet
    /// directory.
    OfflinePay {
        /// Recipient address.
        to: String,
        /// Amount as typed.
        amount: String,
        /// Memo.
        memo: String,
    },
    /// No network: accept a packet, from a file path or its pasted `DFCPAY2:` text.
    OfflineAccept {
        /// A path, or the text form.
        source: String,
    },
    /// Online: move money into the offline purse.
    OfflineFund {
        /// Amount as typed.
        amount: String,
    },
}

/// The offline purse and packets, read from the local database.
#[derive(Clone, Debug, Default)]
pub struct OfflineView {
    /// The purse, if ever funded.
    pub purse: Option<PurseStatus>,
    /// Packets paid and accepted.
    pub packets: Vec<PacketLine>,
}

/// A packet made by [`WalletCmd::OfflinePay`].
#[derive(Clone, Debug)]
pub struct PacketOut {
    /// The payment and its packet.
    pub payment: OfflinePayment,
    /// Where the packet was written, or why it could not be (the payment is recorded anyway:
    /// the text form on screen still carries it).
    pub file: Result<PathBuf, String>,
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
    /// The offline purse and packets (after any command, and once at start).
    Offline(Box<OfflineView>),
    /// An offline payment finished.
    OfflinePaid(Box<Result<PacketOut, String>>),
    /// A packet was accepted or refused.
    OfflineAccepted(Box<Result<AcceptReport, String>>),
    /// A purse funding finished.
    Funded(Box<Result<FundReport, String>>),
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
    tls: Option<dfc_client::TlsPin>,
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
                w.set_tls_pin(tls);
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
            run(wallet, &dir_owned, cmd_rx, msgs);
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

fn offline_view(wallet: &Wallet) -> WalletMsg {
    match (wallet.purse_status(), wallet.offline_list()) {
        (Ok(purse), Ok(packets)) => WalletMsg::Offline(Box::new(OfflineView { purse, packets })),
        (Err(e), _) | (_, Err(e)) => WalletMsg::Failed(e.to_string()),
    }
}

/// The file a packet is written to: `packet-COUNTER-TXID.dfcpay` in the wallet directory (the
/// binary encoding, as `dfc-wallet offline pay --out` writes it).
pub fn packet_path(dir: &Path, p: &OfflinePayment) -> PathBuf {
    dir.join(format!(
        "packet-{:04}-{}.dfcpay",
        p.counter,
        p.txid.get(..12).unwrap_or(&p.txid)
    ))
}

fn write_packet(dir: &Path, p: &OfflinePayment) -> Result<PathBuf, String> {
    use std::io::Write;
    let path = packet_path(dir, p);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| {
            f.write_all(&p.bytes)?;
            f.sync_all()
        })
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    // The text form beside it, whole, to copy or paste (the screen may be too small for it).
    let text_path = text_path_of(&path);
    std::fs::write(&text_path, format!("{}\n", p.text))
        .map_err(|e| format!("cannot write {}: {e}", text_path.display()))?;
    Ok(path)
}

/// Where the text form of the packet file `path` is written: the same name with `.txt` added.
pub fn text_path_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".txt");
    PathBuf::from(name)
}

/// The bytes of a packet given as its text form, or as the path of a file holding either form.
pub fn packet_source(source: &str) -> Result<Vec<u8>, String> {
    let t = source.trim();
    if t.starts_with(PACKET_TEXT_PREFIX) {
        return Ok(t.as_bytes().to_vec());
    }
    if t.is_empty() {
        return Err(format!(
            "give the path of a packet file or paste its {PACKET_TEXT_PREFIX} text"
        ));
    }
    std::fs::read(t).map_err(|e| format!("cannot read {t}: {e}"))
}

fn run(
    mut wallet: Wallet,
    dir: &Path,
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
        if msgs.send(local(&wallet)).is_err() || msgs.send(offline_view(&wallet)).is_err() {
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
                WalletCmd::OfflinePay { to, amount, memo } => {
                    // The wallet records the counter and the spend before returning the packet.
                    let r = wallet
                        .offline_pay(&to, &amount, &memo, false)
                        .map(|payment| PacketOut {
                            file: write_packet(dir, &payment),
                            payment,
                        });
                    WalletMsg::OfflinePaid(Box::new(r.map_err(|e| e.to_string())))
                }
                WalletCmd::OfflineAccept { source } => {
                    let r = packet_source(&source).and_then(|bytes| {
                        wallet
                            .offline_accept(&bytes, &PolicyOverrides::default())
                            .map_err(|e| e.to_string())
                    });
                    WalletMsg::OfflineAccepted(Box::new(r))
                }
                WalletCmd::OfflineFund { amount } => {
                    let r = wallet
                        .offline_fund(&amount, DEFAULT_PURSE_NOTES, None, false)
                        .await;
                    WalletMsg::Funded(Box::new(r.map_err(|e| e.to_string())))
                }
            };
            if msgs.send(msg).is_err()
                || msgs.send(local(&wallet)).is_err()
                || msgs.send(offline_view(&wallet)).is_err()
            {
                return;
            }
        }
    });
}
