//! Three `dfc-bank serve --store postgres://…` nodes on one PostgreSQL ledger, each on its own
//! loopback port, started from copies of one sandbox data directory: exactly one seals (the
//! lease), the others queue what they verified, and every node answers from its replica.
//!
//! - payments sent to all three nodes commit exactly once, and a resubmission to another node
//!   answers the same receipt; the real `dfc-wallet` registers through one node, syncs from
//!   another and pays through a third;
//! - the same note spent twice, the two payments sent at once to two nodes: one commits, the
//!   other gets a typed refusal, and the ledger holds one spend;
//! - the sealer killed with SIGKILL while payments are in flight: another node takes the lease
//!   and seals, every receipt the clients got is in the ledger, every payment resubmitted has one
//!   outcome, a proposal made before the kill is approved after it, and the PostgreSQL audit
//!   passes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dfc_client::{BankClient, ClientError};
use dfc_core::api::Receipt;
use dfc_core::{NetworkParams, Transaction, TxId};
use dfc_tests::pg::PgCluster;
use dfc_tests::{init_sandbox, init_tracing, issue, Node, TestWallet};

/// A shared ledger and its nodes.
struct Nodes {
    _pg: PgCluster,
    url: String,
    _tmp: tempfile::TempDir,
    dirs: Vec<PathBuf>,
    nodes: Vec<Node>,
    params: NetworkParams,
}

/// The `serve` options of a node of the shared ledger `url`.
fn serve_args(url: &str) -> Vec<String> {
    vec![
        "--store".into(),
        url.into(),
        "--cluster-poll-ms".into(),
        "5".into(),
        "--lease-try-ms".into(),
        "100".into(),
    ]
}

fn copy_dir(from: &Path, to: &Path) {
    let out = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .output()
        .expect("cp runs");
    assert!(out.status.success(), "cp -a: {out:?}");
}

/// Runs `f` on a thread of its own: the synchronous PostgreSQL client must not run inside the
/// tokio runtime that drives the nodes.
fn on_pg<T: Send + 'static>(
    url: &str,
    f: impl FnOnce(&mut postgres::Client) -> T + Send + 'static,
) -> T {
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        f(&mut c)
    })
    .join()
    .expect("PostgreSQL thread")
}

/// How many times `txid` is committed in the shared ledger.
fn committed_times(url: &str, txid: TxId) -> i64 {
    on_pg(url, move |c| {
        c.query_one("SELECT COUNT(*) FROM txs WHERE txid = $1", &[&&txid.0[..]])
            .expect("count")
            .get(0)
    })
}

/// The shared ledger's tip height.
fn pg_tip(url: &str) -> i64 {
    on_pg(url, |c| {
        c.query_one("SELECT MAX(height) FROM blocks", &[])
            .expect("tip")
            .get(0)
    })
}

impl Nodes {
    /// A PostgreSQL cluster, one sandbox `init`, its directory copied for each of `n` nodes, the
    /// first node started (it imports the ledger and takes the lease), then the others.
    fn start(n: usize) -> Nodes {
        Nodes::start_with(n, &[])
    }

    /// [`Nodes::start`] with extra `serve` options for every node; a copy of the data directory
    /// as `init` left it is kept in `pristine` (for a node started later).
    fn start_with(n: usize, extra: &[&str]) -> Nodes {
        let pg = PgCluster::start();
        let url = pg.create_db("ledger");
        let tmp = tempfile::tempdir().expect("tempdir");
        let first = tmp.path().join("node0");
        let params = init_sandbox(&first);
        copy_dir(&first, &tmp.path().join("pristine"));
        let mut dirs = vec![first.clone()];
        for i in 1..n {
            let d = tmp.path().join(format!("node{i}"));
            copy_dir(&first, &d);
            dirs.push(d);
        }
        let mut args = serve_args(&url);
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut nodes = vec![Node::start_with(&first, &args)];
        // The first node imports the ledger and takes the lease before the others start, so
        // that the tests know which node seals (a guard against a hang, not a timing assert).
        let deadline = Instant::now() + Duration::from_secs(60);
        while !nodes[0].log().contains("took the sealer lease") {
            assert!(
                Instant::now() < deadline,
                "the first node never sealed: {}",
                nodes[0].log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        for d in &dirs[1..] {
            nodes.push(Node::start_with(d, &args));
        }
        Nodes {
            _pg: pg,
            url,
            _tmp: tmp,
            dirs,
            nodes,
            params,
        }
    }

    fn client(&self, i: usize) -> BankClient {
        self.nodes[i].client()
    }

    /// Waits until every running node's replica reached the shared ledger's tip (a guard against
    /// a hang, not a performance assertion).
    async fn converge(&mut self) {
        let tip = u64::try_from(pg_tip(&self.url)).expect("tip");
        let deadline = Instant::now() + Duration::from_secs(60);
        for i in 0..self.nodes.len() {
            if !self.nodes[i].is_running() {
                continue;
            }
            let client = self.client(i);
            loop {
                let h = client.checkpoint().await.map(|c| c.height).unwrap_or(0);
                if h >= tip {
                    break;
                }
                assert!(Instant::now() < deadline, "node {i} stays at {h} < {tip}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// The index of the node holding the lease, from the nodes' logs.
    fn sealers(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].log().contains("took the sealer lease"))
            .collect()
    }
}

impl Drop for Nodes {
    /// On a failed test, the nodes' warnings and errors, to say why.
    fn drop(&mut self) {
        if std::thread::panicking() {
            for (i, n) in self.nodes.iter().enumerate() {
                let log = n.log();
                let lines: Vec<&str> = log.lines().filter(|l| !l.contains("plain-hex")).collect();
                for line in &lines[lines.len().saturating_sub(12)..] {
                    eprintln!("node {i}: {line}");
                }
            }
        }
    }
}

/// Registers the wallets through node `via` and issues `notes` notes of 100 units to `payer`
/// through node `issue_via` (both forwarded to the sealer when they do not seal).
async fn fund(
    nodes: &Nodes,
    via: usize,
    issue_via: usize,
    payer: &mut TestWallet,
    others: &[&TestWallet],
    notes: usize,
) {
    let client = nodes.client(via);
    for w in std::iter::once(&*payer).chain(others.iter().copied()) {
        client
            .register(&w.register_request())
            .await
            .expect("registration through a node");
    }
    issue(
        &nodes.client(issue_via),
        &nodes.dirs[0],
        &nodes.params,
        payer,
        100,
        notes,
    )
    .await;
    // The node that answered the issuance has it in its replica (the others within a poll).
    payer.sync(&nodes.client(issue_via)).await;
    assert_eq!(payer.notes.len(), notes, "the issuance reached the replica");
}

/// `dfc-bank ARGS --data DATA --operator N --bank URL --json` (sandbox operator `n`'s key in
/// `data`), its JSON answer.
fn operator_cli(data: &str, n: &str, url: &str, args: &[&str]) -> serde_json::Value {
    let mut all: Vec<&str> = args.to_vec();
    all.extend_from_slice(&["--data", data, "--operator", n, "--bank", url, "--json"]);
    serde_json::from_str(&dfc_tests::dfc_bank_ok(&all)).expect("JSON")
}

fn rejected_code(e: &ClientError) -> Option<&str> {
    match e {
        ClientError::Rejected { code, .. } => Some(code.as_str()),
        _ => None,
    }
}

#[test]
fn payments_to_three_nodes_commit_once_and_a_double_spend_once() {
    init_tracing();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // Proposals expire after 2 s: a node started later replays approvals past that time.
    let mut nodes = Nodes::start_with(3, &["--proposal-ttl", "2s"]);
    rt.block_on(async {
        tracing::info!("--- one node seals; wallets and money go through the others");
        let params = nodes.params.clone();
        let mut alice = TestWallet::new("n-alice", &params);
        let bob = TestWallet::new("n-bob", &params);
        let carol = TestWallet::new("n-carol", &params);
        fund(&nodes, 1, 2, &mut alice, &[&bob, &carol], 8).await;
        assert_eq!(nodes.sealers(), vec![0], "exactly the first node seals");

        tracing::info!("--- six payments, two to each node: each commits exactly once");
        let mut paid: Vec<(Transaction, Receipt)> = Vec::new();
        for i in 0..6 {
            let tx = alice.pay_note(&params, i, &bob.address).expect("builds");
            let r = nodes
                .client(i % 3)
                .submit(&tx)
                .await
                .unwrap_or_else(|e| panic!("payment {i} to node {} commits: {e}", i % 3));
            assert_eq!(r.txid, tx.id());
            paid.push((tx, r));
        }
        for (i, (tx, r)) in paid.iter().enumerate() {
            assert_eq!(committed_times(&nodes.url, tx.id()), 1);
            // Resubmitted to the next node: the same receipt, no second commit.
            let again = nodes
                .client((i + 1) % 3)
                .submit(tx)
                .await
                .expect("a resubmission answers the receipt");
            assert_eq!(&again, r);
            assert_eq!(committed_times(&nodes.url, tx.id()), 1);
        }

        tracing::info!("--- the same note to two payees, sent at once to two nodes");
        let to_bob = alice.pay_note(&params, 6, &bob.address).expect("builds");
        let to_carol = alice.pay_note(&params, 6, &carol.address).expect("builds");
        let (c1, c2) = (nodes.client(1), nodes.client(2));
        let (a, b) = tokio::join!(c1.submit(&to_bob), c2.submit(&to_carol));
        let outcomes = [&a, &b];
        let won: Vec<_> = outcomes.iter().filter(|r| r.is_ok()).collect();
        assert_eq!(won.len(), 1, "exactly one spend commits: {a:?} / {b:?}");
        let lost = outcomes
            .iter()
            .find_map(|r| r.as_ref().err())
            .expect("one refused");
        let code = rejected_code(lost).expect("a typed refusal (4xx with a code)");
        assert!(
            ["input_spent", "double_spend", "note_spent"].contains(&code),
            "refused as a spent input: {lost}"
        );
        let (winner, loser) = if a.is_ok() {
            (&to_bob, &to_carol)
        } else {
            (&to_carol, &to_bob)
        };
        assert_eq!(committed_times(&nodes.url, winner.id()), 1);
        assert_eq!(committed_times(&nodes.url, loser.id()), 0);
        let spends: i64 = {
            let note = to_bob.inputs[0];
            on_pg(&nodes.url, move |c| {
                c.query_one(
                    "SELECT COUNT(*) FROM spent WHERE note_id = $1",
                    &[&&note.0[..]],
                )
                .expect("count")
                .get(0)
            })
        };
        assert_eq!(spends, 1, "one spend of the note in the ledger");
        // The refused payment sent again, to the third node: refused again, nothing written.
        let again = nodes.client(0).submit(loser).await.expect_err("refused");
        assert_eq!(rejected_code(&again), Some(code));
        assert_eq!(committed_times(&nodes.url, loser.id()), 0);

        tracing::info!("--- the real wallet: registered through one node, paid, synced and paying through others");
        let dave = crate::cli::WalletCli::registered("dave", nodes._tmp.path(), nodes.nodes[2].url())
            .expect("dave registers through node 2");
        let dave_address: dfc_core::Address = dave
            .address()
            .expect("address")
            .parse()
            .expect("a dfc address");
        let to_dave = alice.pay_note(&params, 7, &dave_address).expect("builds");
        nodes.client(0).submit(&to_dave).await.expect("alice pays dave");
        let synced = dave
            .ok(&["--bank", nodes.nodes[1].url(), "sync"])
            .expect("dave syncs from node 1");
        assert_eq!(dave.total().expect("balance"), 100, "dave's note: {synced}");
        let paid = dave
            .ok(&["--bank", nodes.nodes[0].url(), "pay", "--to", &bob.address.to_string(), "--amount", "0.40"])
            .expect("dave pays bob through node 0");
        let txid: TxId = serde_json::from_value(paid["txid"].clone()).expect("a txid");
        assert_eq!(committed_times(&nodes.url, txid), 1);

        tracing::info!("--- every replica reaches the same tip");
        nodes.converge().await;
        let mut tips = Vec::new();
        for i in 0..3 {
            let c = nodes.client(i).checkpoint().await.expect("checkpoint");
            // The same block and the same unspent set (the checkpoint's time and signature are
            // the answering node's own).
            tips.push((c.height, c.block_hash, c.ledger_root));
        }
        assert!(tips.windows(2).all(|w| w[0] == w[1]), "{tips:?}");
    });
    let (ok, report) = super::pg_audit(&nodes.dirs[1], &nodes.url);
    assert!(ok, "the PostgreSQL audit passes: {report}");

    tracing::info!("--- a node started late, from the directory init made, replays the whole log");
    // Past the proposals' lifetime: the replay judges them at the time the sealer applied them.
    std::thread::sleep(Duration::from_millis(2500));
    let late_dir = nodes._tmp.path().join("late");
    copy_dir(&nodes._tmp.path().join("pristine"), &late_dir);
    let mut args = serve_args(&nodes.url);
    args.extend(["--proposal-ttl".to_string(), "2s".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    nodes.nodes.push(Node::start_with(&late_dir, &args));
    nodes.dirs.push(late_dir);
    rt.block_on(async {
        nodes.converge().await;
        let a = nodes.client(0).checkpoint().await.expect("checkpoint");
        let b = nodes.client(3).checkpoint().await.expect("checkpoint");
        assert_eq!(
            (a.height, a.block_hash, a.ledger_root),
            (b.height, b.block_hash, b.ledger_root)
        );
        assert_eq!(
            nodes.client(3).proposals().await.expect("proposals").len(),
            nodes.client(0).proposals().await.expect("proposals").len()
        );
    });

    tracing::info!("--- a node of another ledger is refused by the shared one, which is unchanged");
    let tip = pg_tip(&nodes.url);
    let other = nodes._tmp.path().join("other");
    init_sandbox(&other);
    let args = serve_args(&nodes.url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut stranger = Node::start_with(&other, &args);
    let deadline = Instant::now() + Duration::from_secs(60);
    while stranger.is_running() {
        assert!(Instant::now() < deadline, "the stranger kept running");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        stranger
            .log()
            .contains("is not the one the shared ledger starts from"),
        "{}",
        stranger.log()
    );
    assert_eq!(pg_tip(&nodes.url), tip);
}

#[test]
fn the_sealer_killed_under_load_is_replaced_and_no_receipt_is_lost() {
    init_tracing();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut nodes = Nodes::start(3);
    let params = nodes.params.clone();
    let payments = 10;
    rt.block_on(async {
        let mut alice = TestWallet::new("f-alice", &params);
        let bob = TestWallet::new("f-bob", &params);
        let carol = TestWallet::new("f-carol", &params);
        fund(&nodes, 2, 1, &mut alice, &[&bob, &carol], payments).await;
        assert_eq!(nodes.sealers(), vec![0]);

        tracing::info!("--- an issuance proposed through node 1 before the sealer dies");
        let built = dfc_core::build(
            &params,
            dfc_core::TxKind::Issue,
            dfc_core::Amount::from_units(50).expect("small"),
            &[],
            &[dfc_core::Payment {
                to: carol.address,
                amount: dfc_core::Amount::from_units(50).expect("small"),
                memo: Vec::new(),
            }],
            &mut rand::rngs::OsRng,
        )
        .expect("issue builds");
        let op0 = dfc_tests::sandbox_operator(&nodes.dirs[0], &params, 0);
        let op1 = dfc_tests::sandbox_operator(&nodes.dirs[0], &params, 1);
        let proposal = built.tx;
        let proposed = nodes
            .client(1)
            .operator(&op0.request(
                &params,
                dfc_core::api::OperatorAction::Propose {
                    tx: proposal.clone(),
                    approval: op0.approval(&proposal.id()),
                    openings: dfc_core::proposal::disclose(&built.openings),
                },
            ))
            .await
            .expect("proposal through a node that does not seal");
        assert!(proposed.receipt.is_none());

        tracing::info!("--- payments in flight to nodes 1 and 2; the sealer killed with SIGKILL");
        let txs: Vec<Transaction> = (0..payments)
            .map(|i| alice.pay_note(&params, i, &bob.address).expect("builds"))
            .collect();
        let mut tasks = Vec::new();
        for (i, tx) in txs.iter().enumerate() {
            let client = nodes.client(1 + i % 2);
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                // Spread over a short while so that some commit before the kill and some after.
                tokio::time::sleep(Duration::from_millis(30 * i as u64)).await;
                client.submit(&tx).await
            }));
        }
        tokio::time::sleep(Duration::from_millis(120)).await;
        nodes.nodes[0].kill_hard();
        let mut acknowledged: Vec<Receipt> = Vec::new();
        let mut unanswered: Vec<usize> = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.expect("task") {
                Ok(r) => acknowledged.push(r),
                Err(e) => {
                    tracing::info!(payment = i, error = %e, "no receipt before the failover");
                    unanswered.push(i);
                }
            }
        }

        tracing::info!("--- another node took the lease and seals");
        let deadline = Instant::now() + Duration::from_secs(60);
        let new_sealer = loop {
            let s: Vec<usize> = nodes.sealers().into_iter().filter(|&i| i != 0).collect();
            if let Some(&i) = s.first() {
                assert_eq!(s.len(), 1, "one new sealer: {s:?}");
                break i;
            }
            assert!(Instant::now() < deadline, "no node took the lease");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        tracing::info!(
            new_sealer,
            acknowledged = acknowledged.len(),
            "failover done"
        );

        tracing::info!("--- every receipt given is in the ledger, once");
        for r in &acknowledged {
            assert_eq!(committed_times(&nodes.url, r.txid), 1, "{}", r.txid);
        }

        tracing::info!("--- every payment resubmitted has exactly one outcome: its receipt");
        for (i, tx) in txs.iter().enumerate() {
            let r = nodes
                .client(1 + i % 2)
                .submit(tx)
                .await
                .expect("a resubmission after the failover commits or answers its receipt");
            if let Some(first) = acknowledged.iter().find(|a| a.txid == tx.id()) {
                assert_eq!(&r, first, "the receipt given before the kill stands");
            }
            assert_eq!(committed_times(&nodes.url, tx.id()), 1);
        }

        tracing::info!("--- the proposal made before the kill is approved after it");
        let approved = nodes
            .client(2)
            .operator(&op1.approve(&params, &proposal.id()))
            .await
            .expect("approval through a surviving node")
            .receipt
            .expect("the second approval commits");
        assert_eq!(approved.txid, proposal.id());
        assert_eq!(committed_times(&nodes.url, proposal.id()), 1);
        nodes.converge().await;

        tracing::info!("--- blocks after the kill were sealed by the new sealer");
        let name = nodes.nodes[new_sealer]
            .url()
            .trim_start_matches("http://")
            .to_string();
        let sealed_by_new: i64 = on_pg(&nodes.url, move |c| {
            c.query_one("SELECT COUNT(*) FROM cluster_log WHERE node = $1", &[&name])
                .expect("count")
                .get(0)
        });
        assert!(sealed_by_new >= 1, "the new sealer wrote the log");
    });
    stale_sealer_is_refused(&nodes.url);
    let (ok, report) = super::pg_audit(&nodes.dirs[1], &nodes.url);
    assert!(
        ok,
        "the PostgreSQL audit passes after the failover: {report}"
    );
}

/// What a sealer that lost its lease without knowing would write, against the ledger the nodes
/// made: the log position after the one it last saw (taken) and a block at the height after the
/// tip it last saw (taken). PostgreSQL refuses both, naming the constraint; nothing changes.
fn stale_sealer_is_refused(url: &str) {
    let url = url.to_string();
    std::thread::spawn(move || {
        use dfc_central_bank::store::pg::cluster::{self as log, LogEntry, LogKind};
        use dfc_central_bank::store::pg::{self, PgLedger};
        use dfc_central_bank::store::{BlockEffects, LedgerRead, LedgerStore};
        let mut ledger = PgLedger::connect(&url).expect("connect");
        let tail = log::log_tail(&ledger).expect("tail");
        let tip = ledger.tip().expect("tip").expect("a tip");
        let last = ledger
            .blocks_from(tip.header.height, 1)
            .expect("block")
            .remove(0);
        {
            let tx = ledger.begin().expect("begin");
            let e = log::append(
                &tx,
                &LogEntry {
                    pos: tail,
                    kind: LogKind::Command {
                        body: "{}".into(),
                        request: None,
                    },
                    time_ms: 0,
                    node: "stale".into(),
                },
            )
            .expect_err("a taken log position is refused");
            assert_eq!(
                pg::violated_constraint(&e).as_deref(),
                Some("cluster_log_pkey")
            );
        }
        {
            let tx = ledger.begin().expect("begin");
            let stale = super::crafted(&last, tip.header.height, last.header.prev_hash, Vec::new());
            let e = tx
                .write_block(&stale, &[], &BlockEffects::none())
                .expect_err("a second block at the tip's height is refused");
            assert_eq!(pg::violated_constraint(&e).as_deref(), Some("blocks_pkey"));
        }
        assert_eq!(log::log_tail(&ledger).expect("tail"), tail);
        assert_eq!(ledger.tip().expect("tip").expect("a tip").hash, tip.hash);
    })
    .join()
    .expect("the stale sealer's writes are refused");
}

#[test]
fn a_rule_change_approved_across_nodes_is_audited_on_postgres() {
    init_tracing();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let nodes = Nodes::start(2);
    let data = nodes.dirs[0].to_str().expect("utf-8").to_string();
    let (url0, url1) = (
        nodes.nodes[0].url().to_string(),
        nodes.nodes[1].url().to_string(),
    );

    tracing::info!("--- operator 0 proposes a rule change through one node, operator 1 approves through the other");
    let mut new = nodes.params.clone();
    new.tiers[0].max_payment = dfc_core::Amount::from_units(8_000).expect("amount in range");
    let tip = u64::try_from(pg_tip(&nodes.url)).expect("tip");
    let effective = tip + 3;
    let params_file = nodes.dirs[0].join("new-params.json");
    std::fs::write(
        &params_file,
        serde_json::to_string_pretty(&new).expect("params JSON"),
    )
    .expect("write");
    let op = |n: &str, url: &str, args: &[&str]| operator_cli(&data, n, url, args);
    let proposed = op(
        "0",
        &url0,
        &[
            "governance",
            "propose",
            "--params",
            params_file.to_str().expect("utf-8"),
            "--height",
            &effective.to_string(),
        ],
    );
    let digest = proposed["digest"].as_str().expect("digest").to_string();
    let approved = op("1", &url1, &["governance", "approve", &digest, "--yes"]);
    assert!(
        approved["message"]
            .as_str()
            .is_some_and(|m| m.contains("in force from height")),
        "approved by 2 of 3: {approved}"
    );
    let stored: i64 = on_pg(&nodes.url, |c| {
        c.query_one("SELECT COUNT(*) FROM param_changes", &[])
            .expect("count")
            .get(0)
    });
    assert_eq!(
        stored, 1,
        "the sealer copied the scheduled change to the shared ledger"
    );

    tracing::info!("--- the chain moves past the change's height");
    rt.block_on(async {
        let w = TestWallet::new("alice", &nodes.params);
        nodes
            .client(1)
            .register(&w.register_request())
            .await
            .expect("registration");
        while u64::try_from(pg_tip(&nodes.url)).expect("tip") < effective {
            issue(&nodes.client(1), &nodes.dirs[0], &nodes.params, &w, 100, 1).await;
        }
    });
    let (ok, report) = super::pg_audit(&nodes.dirs[1], &nodes.url);
    assert!(ok, "the audit judges blocks under the new rules: {report}");
    assert!(
        report["height"].as_u64().is_some_and(|h| h >= effective),
        "audited past the change: {report}"
    );

    tracing::info!("--- one approval removed from the stored change: the audit names it");
    on_pg(&nodes.url, |c| {
        let text: String = c
            .query_one("SELECT approved FROM param_changes", &[])
            .expect("row")
            .get(0);
        let mut v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        if let Some(a) = v["approvals"].as_array_mut() {
            a.truncate(1);
        }
        c.execute("UPDATE param_changes SET approved = $1", &[&v.to_string()])
            .expect("tamper");
    });
    let (ok, report) = super::pg_audit(&nodes.dirs[1], &nodes.url);
    assert!(
        !ok,
        "a change one operator signed fails the audit: {report}"
    );
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains("does not verify")),
        "{report}"
    );

    tracing::info!("--- the change removed: the blocks after its height fail the audit");
    on_pg(&nodes.url, |c| {
        c.execute("DELETE FROM param_changes", &[]).expect("tamper");
    });
    let (ok, report) = super::pg_audit(&nodes.dirs[1], &nodes.url);
    assert!(!ok, "{report}");
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains("other network parameters")),
        "{report}"
    );
}

/// SIGTERM, as a service manager stops a node, stops a follower and then the sealer gracefully
/// (exit status 0, nothing written by the stops); the sealer's node started again takes the lease
/// and seals.
#[test]
fn sigterm_stops_a_follower_and_the_sealer_gracefully() {
    init_tracing();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut nodes = Nodes::start(2);
    let mut w = TestWallet::new("alice", &nodes.params);
    rt.block_on(fund(&nodes, 1, 1, &mut w, &[], 2));
    let tip = pg_tip(&nodes.url);

    tracing::info!("--- SIGTERM to the follower, then to the sealer");
    for i in [1, 0] {
        let status = nodes.nodes[i].terminate();
        assert!(
            status.is_some_and(|s| s.success()),
            "node {i} stops gracefully on SIGTERM: {status:?}\n{}",
            nodes.nodes[i].log()
        );
        assert!(
            nodes.nodes[i].log().contains("SIGTERM"),
            "node {i} says why it stopped"
        );
    }
    assert_eq!(pg_tip(&nodes.url), tip, "the stops wrote no block");

    tracing::info!("--- the sealer's node started again takes the lease and seals");
    nodes.nodes[0].restart();
    rt.block_on(async {
        issue(&nodes.client(0), &nodes.dirs[0], &nodes.params, &w, 100, 1).await;
    });
    assert!(pg_tip(&nodes.url) > tip, "a block sealed after the restart");
}

/// Co-signed checkpoints on a shared ledger: each operator signs through another node (forwarded
/// to the sealer, replayed from the log on every node); every node lists the checkpoint with the
/// same signatures, also after the sealer is SIGKILLed and another takes the lease, and a node
/// started late replays them from the log; an operator's signature through the new sealer is on
/// every node too.
#[test]
fn checkpoints_cosigned_through_different_nodes_reach_every_node() {
    init_tracing();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut nodes = Nodes::start(3);
    let data = nodes.dirs[0].to_str().expect("utf-8").to_string();
    let mut w = TestWallet::new("alice", &nodes.params);
    rt.block_on(async {
        fund(&nodes, 2, 1, &mut w, &[], 2).await;
        nodes.converge().await;
    });
    let tip = u64::try_from(pg_tip(&nodes.url)).expect("tip");
    let height = tip.to_string();

    tracing::info!("--- operator 0 signs through node 1, operator 1 through node 2");
    let one = operator_cli(
        &data,
        "0",
        nodes.nodes[1].url(),
        &["checkpoint", "sign", "--height", &height],
    );
    assert!(
        one["anchored"] == false && one["signers"] == serde_json::json!([0]),
        "{one}"
    );
    let two = operator_cli(
        &data,
        "1",
        nodes.nodes[2].url(),
        &["checkpoint", "sign", "--height", &height],
    );
    assert!(
        two["anchored"] == true && two["signers"] == serde_json::json!([0, 1]),
        "2 of 3 through two other nodes co-sign it: {two}"
    );

    // Every running node lists the checkpoint at `tip` signed by `signers` (waiting for a
    // follower's replica to apply the log: a guard against a hang, not a timing assertion).
    let on_every_node = |nodes: &mut Nodes, signers: &[u8]| {
        rt.block_on(async {
            nodes.converge().await;
            for i in 0..nodes.nodes.len() {
                if !nodes.nodes[i].is_running() {
                    continue;
                }
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    let list = nodes.client(i).cosigned(0).await.expect("cosigned list");
                    let got: Vec<u8> = list
                        .checkpoints
                        .iter()
                        .find(|c| c.point.height == tip)
                        .map(|c| c.signatures.iter().map(|s| s.index).collect())
                        .unwrap_or_default();
                    if got == signers {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "node {i} lists signers {got:?} at height {tip}, not {signers:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        })
    };
    on_every_node(&mut nodes, &[0, 1]);

    tracing::info!("--- the sealer SIGKILLed: another node takes the lease, the checkpoint stays");
    nodes.nodes[0].kill_hard();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !nodes.sealers().iter().any(|&i| i != 0) {
        assert!(Instant::now() < deadline, "no node took the lease");
        std::thread::sleep(Duration::from_millis(20));
    }
    on_every_node(&mut nodes, &[0, 1]);

    tracing::info!("--- a node started late replays the signatures from the log");
    let late_dir = nodes._tmp.path().join("late");
    copy_dir(&nodes._tmp.path().join("pristine"), &late_dir);
    let args = serve_args(&nodes.url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    nodes.nodes.push(Node::start_with(&late_dir, &args));
    nodes.dirs.push(late_dir);
    on_every_node(&mut nodes, &[0, 1]);

    tracing::info!("--- operator 2 signs through the late node: on every node");
    let three = operator_cli(
        &data,
        "2",
        nodes.nodes[3].url(),
        &["checkpoint", "sign", "--height", &height],
    );
    assert!(three["signers"] == serde_json::json!([0, 1, 2]), "{three}");
    on_every_node(&mut nodes, &[0, 1, 2]);

    tracing::info!("--- the PostgreSQL audit checks checkpoints kept outside the nodes");
    let listed = operator_cli(&data, "2", nodes.nodes[3].url(), &["checkpoint", "list"]);
    let kept = nodes._tmp.path().join("cosigned.json");
    std::fs::write(&kept, listed.to_string()).expect("write");
    let audit = |file: &Path| -> (bool, serde_json::Value) {
        let out = dfc_tests::dfc_bank(&[
            "audit",
            "--data",
            &data,
            "--store",
            &nodes.url,
            "--cosigned",
            file.to_str().expect("utf-8"),
            "--json",
        ]);
        let report = serde_json::from_slice(&out.stdout).expect("audit --json prints JSON");
        (out.status.success(), report)
    };
    let (ok, report) = audit(&kept);
    assert!(ok, "{report}");
    assert_eq!(report["anchored_height"], tip, "{report}");

    tracing::info!("--- two operators co-signing another block at that height: the audit names it");
    let genesis = nodes.params.clone();
    let point = dfc_core::cosign::ChainPoint {
        network: genesis.network_id,
        genesis: genesis.genesis_hash,
        height: tip,
        block_hash: dfc_core::Hash32([7; 32]),
    };
    let signatures: Vec<dfc_core::IssuerSignature> = (0..2)
        .map(|n| {
            let op = dfc_tests::sandbox_operator(&nodes.dirs[0], &genesis, n);
            dfc_core::IssuerSignature {
                index: op.index,
                signature: op.key.sign(&point.digest().0),
            }
        })
        .collect();
    let other = dfc_core::cosign::CosignedCheckpoint { point, signatures };
    let forged = nodes._tmp.path().join("other-chain.json");
    std::fs::write(
        &forged,
        serde_json::json!({ "checkpoints": [other] }).to_string(),
    )
    .expect("write");
    let (ok, report) = audit(&forged);
    assert!(!ok, "{report}");
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains("rewritten")),
        "{report}"
    );

    tracing::info!(
        "--- a checkpoint file for the PostgreSQL audit is the only trust input it takes"
    );
    let out = dfc_tests::dfc_bank(&[
        "audit",
        "--data",
        &data,
        "--store",
        &nodes.url,
        "--save-checkpoint",
        kept.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot be used with"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
