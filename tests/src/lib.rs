//! Shared harness of the end-to-end tests: real binaries, real sockets, real SQLite files.
//!
//! - [`bin_path`] finds a workspace binary next to the test executable.
//! - [`Node`] runs `dfc-bank serve` on `127.0.0.1:0`, reads its port from stdout, and kills it on
//!   drop; [`Node::kill_hard`] sends SIGKILL and [`Node::restart`] serves the same data again.
//! - [`dfc_bank`] runs a `dfc-bank` command; [`init_sandbox`] makes a sandbox data directory.
//! - [`TestWallet`] is a minimal in-test wallet over `dfc_core` (keys, sync by scanning blocks,
//!   payments and redemptions built with `dfc_core::build`), independent of the wallet crate.
//! - [`pg::PgCluster`] starts a throw-away PostgreSQL cluster (the shared-store tests).

pub mod pg;
pub mod tmux;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use dfc_client::BankClient;
use dfc_client::Operator;
use dfc_core::api::RegisterRequest;
use dfc_core::builder::build_claim;
use dfc_core::claim::{sum_openings, ClaimRequest, MAX_CLAIM_NOTES};
use dfc_core::compliance::ComplianceContext;
use dfc_core::{
    build_with, Address, Amount, BuildError, BuildOptions, NetworkParams, NoteId, Opening, Payment,
    PublicKey, SpendInput, Transaction, TxKind, WalletKeys,
};

/// Installs a test log subscriber once (`RUST_LOG` overrides the `info` default).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_test_writer()
        .try_init();
}

/// The target directory holding the binaries: the parent of the `deps` directory the test
/// executable runs from.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    let mut dir = exe
        .parent()
        .expect("the test executable is in a directory")
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// Path of the workspace binary `name`. When it is missing (a fresh checkout where only
/// `cargo test` ran), builds the workspace's binaries once, with the profile and target directory
/// of the running test, so every documented test command works as written.
pub fn bin_path(name: &str) -> PathBuf {
    let path = target_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        build_bins();
    }
    assert!(
        path.exists(),
        "{} not found even after cargo build --workspace --bins",
        path.display()
    );
    path
}

/// Runs `cargo build --workspace --bins` (with the node's fail points) once per test process. Cargo releases the target
/// directory's lock before it runs tests, so this does not wait on the `cargo test` that started
/// us.
fn build_bins() {
    static BUILT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let profile_dir = target_dir();
        let release = profile_dir.ends_with("release");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        // With the fail points, as `cargo test --workspace` builds the node for these tests
        // (`faults.rs` switches them on through `FAIL_POINTS`).
        cmd.args([
            "build",
            "--workspace",
            "--bins",
            "--features",
            "dfc-central-bank/failpoints",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
        if release {
            cmd.arg("--release");
        }
        if let Some(target) = profile_dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        eprintln!("workspace binaries missing: running {cmd:?}");
        cmd.status().map(|s| s.success()).unwrap_or(false)
    });
}

/// Runs `dfc-bank` with `args` and returns its output.
pub fn dfc_bank(args: &[&str]) -> Output {
    Command::new(bin_path("dfc-bank"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("dfc-bank runs")
}

/// Runs `dfc-bank` with `args`, asserts success and returns stdout.
pub fn dfc_bank_ok(args: &[&str]) -> String {
    let out = dfc_bank(args);
    assert!(
        out.status.success(),
        "dfc-bank {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Creates a sandbox data directory `dir` with `dfc-bank init` (2-of-3 operators).
pub fn init_sandbox(dir: &Path) -> NetworkParams {
    let dir_s = dir.to_str().expect("test paths are UTF-8");
    let out = dfc_bank_ok(&["init", "--data", dir_s, "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out).expect("init --json prints JSON");
    serde_json::from_value(report["params"].clone()).expect("init reports the parameters")
}

/// A running `dfc-bank serve`, killed on drop.
pub struct Node {
    child: Option<Child>,
    url: String,
    data: PathBuf,
    log: PathBuf,
    args: Vec<String>,
}

impl Node {
    /// Serves the data directory `data` on a free loopback port; returns once the node printed
    /// `listening on http://...`.
    pub fn start(data: &Path) -> Node {
        Self::start_with(data, &[])
    }

    /// [`Node::start`] with extra `dfc-bank serve` options (e.g. `--proposal-ttl 1s`).
    pub fn start_with(data: &Path, args: &[&str]) -> Node {
        let log = data.join("node.log");
        let mut node = Node {
            child: None,
            url: String::new(),
            data: data.to_path_buf(),
            log,
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        node.spawn();
        node
    }

    fn spawn(&mut self) {
        let stderr = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("node log file opens");
        let mut child = Command::new(bin_path("dfc-bank"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(&self.data)
            .args(&self.args)
            .env(
                "RUST_LOG",
                std::env::var("DFC_NODE_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("dfc-bank serve starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keeps draining stdout so the node never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        // A guard against a hung start, not a performance assertion.
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(url) => self.url = url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "dfc-bank serve did not report its address; log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
        }
        self.child = Some(child);
    }

    /// A node process started by the caller (with its own environment), so that it can be
    /// stopped like the others ([`Node::terminate`]); its URL is not known here.
    pub fn adopt(child: Child, data: &Path, log: &Path) -> Node {
        Node {
            child: Some(child),
            url: String::new(),
            data: data.to_path_buf(),
            log: log.to_path_buf(),
            args: Vec::new(),
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The node's log (stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A client of this node that signs its reads with the sandbox's auditor key
    /// (`auditor-0.key`), so it may read blocks, the registry and the audit log.
    pub fn client(&self) -> BankClient {
        let client = self.public_client();
        let (Ok(params), Ok(key)) = (
            dfc_central_bank::datadir::load_params(&self.data),
            dfc_central_bank::datadir::read_key(&dfc_central_bank::datadir::auditor_key_path(
                &self.data, 0,
            )),
        ) else {
            return client;
        };
        client.with_reader(&params, key)
    }

    /// A client of this node that signs nothing: what anyone on the network can read.
    pub fn public_client(&self) -> BankClient {
        BankClient::new(&self.url)
    }

    /// Kills the node with SIGKILL (no shutdown of any kind) and waits for it to die.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the node as a service manager does: SIGTERM, then waits for the process to end.
    /// Returns its exit status, or `None` if it was not running or had not ended after a minute
    /// (a guard against a hang, not a timing assertion; it is then killed with SIGKILL).
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let pid = i32::try_from(child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(_) => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Starts the node again on the same data directory (on a new port: see [`Node::url`]).
    pub fn restart(&mut self) {
        self.kill_hard();
        self.spawn();
    }

    /// Restarts the node with other extra `serve` options (on a new port).
    pub fn restart_with(&mut self, args: &[&str]) {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self.restart();
    }

    /// The process id of the running node.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// The key of sandbox operator `n` in `data`.
pub fn sandbox_operator(data: &Path, params: &NetworkParams, n: usize) -> Operator {
    let key =
        dfc_central_bank::datadir::read_key(&dfc_central_bank::datadir::operator_key_path(data, n))
            .expect("sandbox operator key reads");
    Operator::find(params, key).expect("the sandbox key is an issuer key")
}

/// Issues `outputs` notes of `each` units to `w` with sandbox operators 0 and 1 (their keys in
/// `data`): operator 0 proposes (the proposal alone commits nothing), operator 1's approval
/// commits; returns the receipt.
pub async fn issue(
    client: &BankClient,
    data: &Path,
    params: &NetworkParams,
    w: &TestWallet,
    each: u64,
    outputs: usize,
) -> dfc_core::api::Receipt {
    let payments: Vec<Payment> = (0..outputs)
        .map(|_| Payment {
            to: w.address,
            amount: Amount::from_units(each).expect("small"),
            memo: Vec::new(),
        })
        .collect();
    let total = Amount::from_units(each * outputs as u64).expect("small");
    let built = dfc_core::build(
        params,
        TxKind::Issue,
        total,
        &[],
        &payments,
        &mut rand::rngs::OsRng,
    )
    .expect("issue builds");
    let openings = dfc_core::proposal::disclose(&built.openings);
    let tx = built.tx;
    let op0 = sandbox_operator(data, params, 0);
    let op1 = sandbox_operator(data, params, 1);
    let approval = op0.approval(&tx.id());
    let proposed = client
        .operator(&op0.request(
            params,
            dfc_core::api::OperatorAction::Propose {
                tx: tx.clone(),
                approval,
                openings,
            },
        ))
        .await
        .expect("proposal");
    assert!(
        proposed.receipt.is_none(),
        "one operator's proposal committed an issuance"
    );
    client
        .operator(&op1.approve(params, &tx.id()))
        .await
        .expect("approval")
        .receipt
        .expect("the second approval commits")
}

/// A minimal wallet for tests: keys, the notes it owns and their openings.
#[derive(Clone)]
pub struct TestWallet {
    /// Name for messages.
    pub name: String,
    /// Keys.
    pub keys: WalletKeys,
    /// Address on the test network.
    pub address: Address,
    /// Unspent settled notes the wallet can open (spendable).
    pub notes: Vec<(NoteId, Opening)>,
    /// Unspent pending notes: received, not yet claimed within the limits.
    pub held: Vec<(NoteId, Opening)>,
    /// Notes claimed, with the turnover period they counted in.
    pub claimed: Vec<(u64, Opening)>,
    /// Next block height to scan.
    pub synced_to: u64,
    /// The tier the wallet is registered at (0 unless a test sets it).
    pub tier: u8,
    /// Tiers of payees, where not 0.
    pub peer_tiers: Vec<(PublicKey, u8)>,
    /// The network's parameters.
    pub params: NetworkParams,
}

impl TestWallet {
    /// A wallet derived from `name`.
    pub fn new(name: &str, params: &NetworkParams) -> Self {
        let keys = WalletKeys::from_seed(format!("test wallet {name}").as_bytes());
        let address = keys.address(params.network_id);
        TestWallet {
            name: name.to_string(),
            keys,
            address,
            notes: Vec::new(),
            held: Vec::new(),
            claimed: Vec::new(),
            synced_to: 0,
            tier: 0,
            peer_tiers: Vec::new(),
            params: params.clone(),
        }
    }

    /// The registration request.
    pub fn register_request(&self) -> RegisterRequest {
        RegisterRequest::new(self.address, self.name.clone(), &self.keys.spend)
    }

    /// Scans new blocks (adds notes paid to this wallet, pending or settled as the ledger's rule
    /// says, drops notes spent), then claims what it holds pending within its limits, as the real
    /// wallet does, and scans again.
    pub async fn sync(&mut self, client: &BankClient) {
        self.scan(client).await;
        // A claim takes at most 16 notes: claim until nothing more fits.
        while self.claim(client).await {
            self.scan(client).await;
        }
    }

    /// Scans new blocks only.
    pub async fn scan(&mut self, client: &BankClient) {
        loop {
            let page = client
                .blocks(self.synced_to, 500)
                .await
                .expect("blocks are served");
            for block in &page.blocks {
                let period = self.params.turnover_period(block.header.time_ms);
                for tx in &block.txs {
                    self.apply(tx, period);
                }
                self.synced_to = block.header.height + 1;
            }
            if page.blocks.is_empty() || self.synced_to > page.tip_height {
                break;
            }
        }
    }

    /// Applies a committed transaction of turnover period `period` to the wallet: its claims
    /// settle held notes, spent notes leave, notes paid to it arrive pending or settled as the
    /// ledger's rule says (`dfc_core::holdings`).
    pub fn apply(&mut self, tx: &Transaction, period: u64) {
        if let Some(c) = tx
            .claim
            .as_ref()
            .filter(|c| c.claimant == self.address.spend)
        {
            let (now, still): (Vec<_>, Vec<_>) = self
                .held
                .drain(..)
                .partition(|(id, _)| c.notes.contains(id));
            self.held = still;
            for n in now {
                self.claimed.push((period, n.1.clone()));
                self.notes.push(n);
            }
        }
        let ours_spent = tx
            .inputs
            .iter()
            .any(|i| self.notes.iter().chain(&self.held).any(|(id, _)| id == i));
        let held_spent = tx
            .inputs
            .iter()
            .any(|i| self.held.iter().any(|(id, _)| id == i));
        self.notes.retain(|(id, _)| !tx.inputs.contains(id));
        self.held.retain(|(id, _)| !tx.inputs.contains(id));
        let pending = match tx.kind {
            TxKind::Issue => true,
            TxKind::Transfer => !ours_spent,
            TxKind::Redeem => held_spent,
            TxKind::Claim => false,
        };
        for (o, id) in tx.outputs.iter().zip(tx.output_ids()) {
            if o.owner == self.address.spend {
                if let Ok(opening) = o.open(&self.keys.view) {
                    if pending {
                        self.held.push((id, opening));
                    } else {
                        self.notes.push((id, opening));
                    }
                }
            }
        }
    }

    /// Builds a claim of the pending notes that fit the limits in `period`, or `None` if none
    /// fits.
    pub fn build_claim(&self, period: u64) -> Option<Transaction> {
        let limits = self.params.tier(self.tier)?;
        let balance = sum_openings(self.notes.iter().map(|(_, o)| o)).ok()?;
        let inflow = sum_openings(
            self.claimed
                .iter()
                .filter(|(p, _)| *p == period)
                .map(|(_, o)| o),
        )
        .ok()?;
        let (mut hold, mut inn) = (balance.amount, inflow.amount);
        let mut take = Vec::new();
        for (id, o) in &self.held {
            let (Ok(h), Ok(i)) = (hold.checked_add(o.amount), inn.checked_add(o.amount)) else {
                continue;
            };
            if h <= limits.max_balance && i <= limits.max_inflow && take.len() < MAX_CLAIM_NOTES {
                hold = h;
                inn = i;
                take.push((*id, o.clone()));
            }
        }
        if take.is_empty() {
            return None;
        }
        let req = ClaimRequest {
            key: &self.keys.spend,
            tier: self.tier,
            period,
            notes: &take,
            balance,
            inflow,
        };
        build_claim(&self.params, &req, &mut rand::rngs::OsRng).ok()
    }

    /// Claims what fits; returns whether a claim committed.
    pub async fn claim(&mut self, client: &BankClient) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let Some(tx) = self.build_claim(self.params.turnover_period(now)) else {
            return false;
        };
        client.submit(&tx).await.is_ok()
    }

    /// Balance of the pending notes.
    pub fn held_balance(&self) -> Amount {
        Amount::sum(self.held.iter().map(|(_, o)| o.amount)).expect("balances are below the supply")
    }

    /// Balance of the notes held.
    pub fn balance(&self) -> Amount {
        Amount::sum(self.notes.iter().map(|(_, o)| o.amount))
            .expect("balances are below the supply")
    }

    fn spend(&self, chosen: &[(NoteId, Opening)]) -> Vec<SpendInput> {
        chosen
            .iter()
            .map(|(id, opening)| SpendInput {
                id: *id,
                opening: opening.clone(),
                key: self.keys.spend.clone(),
            })
            .collect()
    }

    fn select(&self, amount: Amount) -> (Vec<(NoteId, Opening)>, Amount) {
        let mut chosen = Vec::new();
        let mut total = Amount::ZERO;
        for n in &self.notes {
            if total >= amount {
                break;
            }
            total = total.checked_add(n.1.amount).expect("below the supply");
            chosen.push(n.clone());
        }
        (chosen, total)
    }

    /// Builds a transfer of `amount` to `to` from the notes held (change back to self). Does not
    /// mark notes spent: [`TestWallet::sync`] does once it commits.
    pub fn pay(
        &self,
        params: &NetworkParams,
        to: &Address,
        amount: Amount,
    ) -> Result<Transaction, BuildError> {
        let (chosen, total) = self.select(amount);
        let mut payments = vec![Payment {
            to: *to,
            amount,
            memo: Vec::new(),
        }];
        let change = total.checked_sub(amount)?;
        if change > Amount::ZERO {
            payments.push(Payment {
                to: self.address,
                amount: change,
                memo: Vec::new(),
            });
        }
        Ok(build_with(
            params,
            TxKind::Transfer,
            Amount::ZERO,
            &self.spend(&chosen),
            &payments,
            &self.options(to),
            &mut rand::rngs::OsRng,
        )?
        .tx)
    }

    /// The flow context of a payment to `to`: this wallet's tier and the payee's.
    pub fn options(&self, to: &Address) -> BuildOptions {
        let payee_tier = self
            .peer_tiers
            .iter()
            .find(|(k, _)| *k == to.spend)
            .map_or(0, |(_, t)| *t);
        BuildOptions {
            compliance: Some(ComplianceContext {
                payer_tier: self.tier,
                // The wallet's purse key is its own account: funding the purse is change.
                own_keys: vec![self.address.spend, self.keys.purse_key(0).public()],
                payee_tiers: vec![(to.spend, payee_tier)],
            }),
        }
    }

    /// Builds a transfer spending exactly the note `index` to `to` (no change).
    pub fn pay_note(
        &self,
        params: &NetworkParams,
        index: usize,
        to: &Address,
    ) -> Result<Transaction, BuildError> {
        let note = self.notes[index].clone();
        let payments = [Payment {
            to: *to,
            amount: note.1.amount,
            memo: Vec::new(),
        }];
        Ok(build_with(
            params,
            TxKind::Transfer,
            Amount::ZERO,
            &self.spend(&[note]),
            &payments,
            &self.options(to),
            &mut rand::rngs::OsRng,
        )?
        .tx)
    }

    /// Builds a redemption of `amount` (change back to self), signed by the owner only.
    pub fn redeem(
        &self,
        params: &NetworkParams,
        amount: Amount,
    ) -> Result<Transaction, BuildError> {
        let (chosen, total) = self.select(amount);
        let change = total.checked_sub(amount)?;
        let payments = [Payment {
            to: self.address,
            amount: change,
            memo: Vec::new(),
        }];
        Ok(dfc_core::build(
            params,
            TxKind::Redeem,
            amount,
            &self.spend(&chosen),
            &payments,
            &mut rand::rngs::OsRng,
        )?
        .tx)
    }
}

/// Parses an amount in the test network's currency.
pub fn amount(text: &str, params: &NetworkParams) -> Amount {
    Amount::parse(text, params.decimals).expect("test amounts parse")
}
