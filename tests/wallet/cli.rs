//! Driving the real `dfc-wallet` binary as a process, with `--json` output and the passphrase from
//! the environment, as a script would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// One wallet directory driven through the CLI.
pub struct WalletCli {
    /// Name in logs.
    pub name: String,
    /// Wallet directory.
    pub dir: PathBuf,
    /// Path of the `dfc-wallet` binary.
    pub bin: PathBuf,
    /// Passphrase given through `DFC_WALLET_PASSPHRASE`.
    pub passphrase: String,
}

/// What a failing command printed.
#[derive(Debug)]
pub struct CliError {
    /// The machine-readable code.
    pub code: String,
    /// The message.
    pub message: String,
}

/// What must not change when a command is refused.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    balance: Value,
    history: Value,
    keys: Vec<u8>,
}

impl WalletCli {
    /// A wallet at `dir` (not created yet).
    pub fn new(name: &str, dir: PathBuf, bin: &Path) -> Self {
        WalletCli {
            name: name.to_string(),
            dir,
            bin: bin.to_path_buf(),
            passphrase: format!("passphrase of {name}"),
        }
    }

    /// A wallet named `name` in `parent/name`, created and registered with the node at `url`
    /// (labelled with its name), using the built `dfc-wallet`.
    #[allow(dead_code)] // used by the suites that include this file (governance, checkpoints)
    pub fn registered(name: &str, parent: &Path, url: &str) -> Result<Self> {
        let w = WalletCli::new(name, parent.join(name), &dfc_tests::bin_path("dfc-wallet"));
        w.ok(&["create"])?;
        w.ok(&["--bank", url, "register", "--label", name])?;
        Ok(w)
    }

    /// Runs `dfc-wallet --wallet DIR --json ARGS` with extra environment.
    pub fn raw(&self, args: &[&str], env: &[(&str, &str)]) -> Result<Output> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--wallet").arg(&self.dir).arg("--json").args(args);
        cmd.env("DFC_WALLET_PASSPHRASE", &self.passphrase);
        cmd.env_remove("DFC_WALLET_TEST_CRASH_AFTER");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output()
            .with_context(|| format!("running {}", self.bin.display()))
    }

    /// Runs a command that must succeed; returns its JSON.
    pub fn ok(&self, args: &[&str]) -> Result<Value> {
        self.ok_env(args, &[])
    }

    /// Runs a command with extra environment that must succeed; returns its JSON.
    pub fn ok_env(&self, args: &[&str], env: &[(&str, &str)]) -> Result<Value> {
        let out = self.raw(args, env)?;
        if !out.status.success() {
            bail!(
                "{}: dfc-wallet {:?} failed ({}): {}{}",
                self.name,
                args,
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "{}: output of {args:?} is not JSON: {}",
                self.name,
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Runs a command that must fail; returns its error code and message.
    pub fn err(&self, args: &[&str]) -> Result<CliError> {
        self.err_env(args, &[])
    }

    /// Runs a command with extra environment that must fail.
    pub fn err_env(&self, args: &[&str], env: &[(&str, &str)]) -> Result<CliError> {
        let out = self.raw(args, env)?;
        if out.status.success() {
            bail!(
                "{}: dfc-wallet {:?} succeeded but should have failed",
                self.name,
                args
            );
        }
        let v: Value = serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "{}: error output of {args:?} is not JSON: {} / {}",
                self.name,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        Ok(CliError {
            code: v["error"].as_str().unwrap_or_default().to_string(),
            message: v["message"].as_str().unwrap_or_default().to_string(),
        })
    }

    /// The wallet's address.
    pub fn address(&self) -> Result<String> {
        Ok(self.ok(&["address"])?["address"]
            .as_str()
            .context("address")?
            .to_string())
    }

    /// Syncs and returns the total balance in minor units.
    pub fn synced_total(&self) -> Result<u64> {
        self.ok(&["sync"])?;
        self.total()
    }

    /// Total balance (spendable + reserved) in minor units, from the last sync.
    pub fn total(&self) -> Result<u64> {
        self.ok(&["balance"])?["total_units"]
            .as_u64()
            .context("total_units")
    }

    /// Spendable balance in minor units.
    pub fn spendable(&self) -> Result<u64> {
        self.ok(&["balance"])?["spendable_units"]
            .as_u64()
            .context("spendable_units")
    }

    /// Balance, history and key file bytes: what a refused command must leave as it was.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let mut balance = self.ok(&["balance"])?;
        // Blocks of other wallets' claims arrive at any sync: the height synced to is not the
        // wallet's state.
        if let Some(b) = balance.as_object_mut() {
            b.remove("synced_height");
            b.remove("at_height");
        }
        Ok(Snapshot {
            balance,
            history: self.ok(&["history"])?,
            keys: std::fs::read(self.dir.join(dfc_wallet::KEY_FILE))?,
        })
    }
}
