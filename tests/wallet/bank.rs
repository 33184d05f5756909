//! The bank side of the wallet test: a sandbox node and its operators. Operator actions (issue,
//! approve, freeze) are signed requests built with `dfc_central_bank::ops` and sent over the node's
//! HTTP API, the same requests the `dfc-bank` operator commands send.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use dfc_central_bank::client::BankClient;
use dfc_central_bank::datadir;
use dfc_central_bank::ops::Operator;
use dfc_core::api::{OperatorAction, SupplySummary};
use dfc_core::{Address, Amount, NetworkParams, TxId};

/// Operators of a sandbox data directory (their keys sit beside the ledger).
pub struct Operators {
    /// Parameters of the network.
    pub params: NetworkParams,
    ops: Vec<Operator>,
    client: BankClient,
    rt: tokio::runtime::Runtime,
}

impl Operators {
    /// Loads the operator keys of the sandbox at `data` and talks to the node at `url`.
    pub fn load(data: &Path, url: &str) -> Result<Self> {
        let params = datadir::load_params(data)?;
        let mut ops = Vec::new();
        for i in 0..params.issuers.len() {
            let key = datadir::read_key(&datadir::operator_key_path(data, i))?;
            ops.push(Operator::find(&params, key).context("operator key not in params")?);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Operators {
            params,
            ops,
            client: BankClient::new(url),
            rt,
        })
    }

    /// Issues `amount` (text in the currency's decimals) to `to`: proposed by operator 0, approved
    /// by the others until the threshold is met.
    pub fn issue(&self, to: &str, amount: &str) -> Result<TxId> {
        let to: Address = to.parse()?;
        let amount = Amount::parse(amount, self.params.decimals)?;
        let (tx, req) = self.ops[0].propose_issue(&self.params, &to, amount)?;
        let txid = tx.id();
        let resp = self.rt.block_on(self.client.operator(&req))?;
        if resp.receipt.is_none() {
            self.approve(&txid, 1)?;
        }
        Ok(txid)
    }

    /// Approves proposal `txid` with operators from `first` on until it commits.
    pub fn approve(&self, txid: &TxId, first: usize) -> Result<()> {
        for op in &self.ops[first..] {
            let resp = self
                .rt
                .block_on(self.client.operator(&op.approve(&self.params, txid)))?;
            if resp.receipt.is_some() {
                return Ok(());
            }
        }
        bail!("proposal {txid} did not commit after every operator approved")
    }

    /// Freezes (or unfreezes) the wallet with address `addr`.
    pub fn set_frozen(&self, addr: &str, frozen: bool) -> Result<()> {
        let wallet = addr.parse::<Address>()?.spend;
        let reason = "wallet test".to_string();
        let action = if frozen {
            OperatorAction::Freeze { wallet, reason }
        } else {
            OperatorAction::Unfreeze { wallet, reason }
        };
        self.rt.block_on(
            self.client
                .operator(&self.ops[0].request(&self.params, action)),
        )?;
        Ok(())
    }

    /// `GET /v1/supply`.
    pub fn supply(&self) -> Result<SupplySummary> {
        Ok(self.rt.block_on(self.client.supply())?)
    }
}

/// The directory holding the workspace's built binaries (`target/debug`), found from this test
/// executable's path (`target/debug/deps/wallet-…`).
pub fn target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let deps = exe.parent().context("test binary has a directory")?;
    let dir = deps.parent().context("deps has a parent")?;
    Ok(dir.to_path_buf())
}

/// Path of a workspace binary, with a clear message when it was not built.
pub fn binary(name: &str) -> Result<PathBuf> {
    let path = target_dir()?.join(name);
    if !path.exists() {
        bail!(
            "{} not found: build the binaries first (cargo build --workspace --bins)",
            path.display()
        );
    }
    Ok(path)
}

/// A node serving a fresh sandbox data directory on a loopback port.
///
/// Until the shared harness (`dfc_tests::Node`, which spawns the `dfc-bank serve` process) is
/// available, the node runs in this process: the same `dfc_central_bank::start` + `app` the binary
/// runs, on a real socket and a real SQLite ledger. The wallets are always the real binary.
pub struct TestNode {
    /// The data directory.
    pub data: PathBuf,
    /// Base URL.
    pub url: String,
    _rt: tokio::runtime::Runtime,
}

impl TestNode {
    /// Initialises a sandbox in `data` and serves it.
    pub fn start(data: &Path) -> Result<Self> {
        datadir::init(data, &datadir::InitOptions::default())?;
        let started = dfc_central_bank::start(data)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let url = format!("http://{}", listener.local_addr()?);
        let router = dfc_central_bank::app(started.state);
        rt.spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(TestNode {
            data: data.to_path_buf(),
            url,
            _rt: rt,
        })
    }
}
