//! The bank side of the wallet test: the shared harness's `dfc-bank serve` process and the
//! operators, driven through the `dfc-bank` operator commands (`issue propose/approve`,
//! `redeem approve`, `wallet freeze/unfreeze`) with the sandbox operator keys.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use dfc_core::api::SupplySummary;
use dfc_tests::{dfc_bank_ok, init_sandbox, Node};
use serde_json::Value;

/// A sandbox node and its operators.
pub struct Bank {
    /// The running node.
    pub node: Node,
    data: PathBuf,
    rt: tokio::runtime::Runtime,
}

impl Bank {
    /// `dfc-bank init` a 2-of-3 sandbox in `data` and serve it.
    pub fn start(data: &Path) -> Result<Self> {
        init_sandbox(data);
        let node = Node::start(data);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Bank {
            node,
            data: data.to_path_buf(),
            rt,
        })
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// Runs `f` on the bank's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Serves an existing data directory again (after a restart; used by `tests/checkpoints`).
    #[allow(dead_code)]
    pub fn open(data: &Path) -> Result<Self> {
        let node = Node::start(data);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Bank {
            node,
            data: data.to_path_buf(),
            rt,
        })
    }

    /// The node's URL.
    pub fn url(&self) -> String {
        self.node.url().to_string()
    }

    /// Runs an operator command as sandbox operator `op` and returns its JSON.
    pub fn operator(&self, op: usize, args: &[&str]) -> Result<Value> {
        let all = self.operator_args(op, args)?;
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = dfc_bank_ok(&all);
        serde_json::from_str(&out).with_context(|| format!("dfc-bank {args:?} printed {out}"))
    }

    /// Sandbox operator `op` proposes `params` from block `height` on (`governance propose`, the
    /// parameters written as JSON in `dir`); returns the change's digest, which the others approve.
    #[allow(dead_code)]
    pub fn propose_params(
        &self,
        op: usize,
        params: &dfc_core::NetworkParams,
        height: u64,
        dir: &Path,
    ) -> Result<String> {
        let file = dir.join(format!("params-at-{height}.json"));
        std::fs::write(&file, serde_json::to_string_pretty(params)?)?;
        let height = height.to_string();
        let args = [
            "governance",
            "propose",
            "--params",
            file.to_str().context("test paths are UTF-8")?,
            "--height",
            &height,
        ];
        let proposed = self.operator(op, &args)?;
        Ok(proposed["digest"]
            .as_str()
            .context("governance propose prints the digest")?
            .to_string())
    }

    /// Runs an operator command as sandbox operator `op` that may fail; returns what it did.
    pub fn operator_raw(&self, op: usize, args: &[&str]) -> Result<std::process::Output> {
        let all = self.operator_args(op, args)?;
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        Ok(dfc_tests::dfc_bank(&all))
    }

    fn operator_args(&self, op: usize, args: &[&str]) -> Result<Vec<String>> {
        let data = self.data.to_str().context("test paths are UTF-8")?;
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let op = op.to_string();
        let url = self.url();
        for a in ["--data", data, "--operator", &op, "--bank", &url, "--json"] {
            all.push(a.to_string());
        }
        Ok(all)
    }

    /// Issues `amount` to `to`: proposed by operator 0, approved by operator 1 (2 of 3).
    pub fn issue(&self, to: &str, amount: &str) -> Result<String> {
        let proposed = self.operator(0, &["issue", "propose", "--to", to, "--amount", amount])?;
        let txid = proposed["proposal"]["txid"]
            .as_str()
            .with_context(|| format!("propose reports the txid: {proposed}"))?
            .to_string();
        let approved = self.operator(1, &["issue", "approve", &txid])?;
        anyhow::ensure!(
            !approved["receipt"].is_null(),
            "issuance committed: {approved}"
        );
        Ok(txid)
    }

    /// Approves redemption `txid` with operators 0 and 1.
    pub fn approve_redemption(&self, txid: &str) -> Result<()> {
        self.operator(0, &["redeem", "approve", txid])?;
        let approved = self.operator(1, &["redeem", "approve", txid])?;
        anyhow::ensure!(
            !approved["receipt"].is_null(),
            "redemption committed: {approved}"
        );
        Ok(())
    }

    /// Freezes (or unfreezes) the wallet with address `addr`.
    pub fn set_frozen(&self, addr: &str, frozen: bool) -> Result<()> {
        let cmd = if frozen { "freeze" } else { "unfreeze" };
        self.operator(0, &["wallet", cmd, addr, "--reason", "wallet test"])?;
        Ok(())
    }

    /// `GET /v1/supply`.
    pub fn supply(&self) -> Result<SupplySummary> {
        Ok(self.rt.block_on(self.node.client().supply())?)
    }

    /// `dfc-bank audit --data DIR`: re-verifies the whole ledger from genesis.
    pub fn audit(&self) -> Result<String> {
        let data = self.data.to_str().context("test paths are UTF-8")?;
        Ok(dfc_bank_ok(&["audit", "--data", data]))
    }
}
