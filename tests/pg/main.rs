//! The PostgreSQL ledger store against a real, throw-away PostgreSQL cluster
//! ([`dfc_tests::pg::PgCluster`]):
//!
//! - a ledger made by a real node on SQLite (registrations, an issuance, payments built by the
//!   wallet) is imported into PostgreSQL by replaying every block through the sequencer's
//!   admission and the PostgreSQL block writer, and then every read of the store trait answers
//!   exactly as SQLite does;
//! - the database itself refuses what must never be written: a double spend written past
//!   admission, a second block at one height written by a second sealer, a fork, an import into
//!   a ledger that is not empty; each refusal leaves the ledger as it was.
//!
//! - three `dfc-bank serve --store postgres://…` nodes on one ledger: one sealer, payments and a
//!   double spend across nodes, the sealer killed under load (`nodes.rs`).
//!
//! PostgreSQL must be installed (`.ci/run` installs it); without it these tests fail saying so.
//! The `postgres` client is synchronous: the PostgreSQL phases run outside the tokio runtime that
//! drives the node.

#[allow(dead_code)] // the helpers the PostgreSQL suite does not use
#[path = "../wallet/cli.rs"]
mod cli;
mod measure;
mod nodes;
mod standby;

use std::path::Path;

use dfc_central_bank::store::pg::import::{import_sqlite, ImportError};
use dfc_central_bank::store::pg::{self, lease, PgLedger};
use dfc_central_bank::store::{self, BlockEffects, LedgerRead, LedgerStore};
use dfc_core::{
    build, Amount, BatchState, Block, Effects, NetworkParams, Payment, Transaction, TxKind,
};
use dfc_tests::pg::PgCluster;
use dfc_tests::{dfc_bank, dfc_bank_ok, init_sandbox, init_tracing, Node, TestWallet};

use dfc_tests::issue;

/// What the node made: the sandbox, a payment that committed, and a second payment of the same
/// note (valid on its own, a double spend once the first committed).
struct Made {
    params: NetworkParams,
    spent_twice: Transaction,
    wallets: Vec<dfc_core::PublicKey>,
}

/// Runs a real node on SQLite: two wallets, an issuance of two notes, two payments.
fn make_sqlite_ledger(data: &Path) -> Made {
    let params = init_sandbox(data);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let mut node = Node::start(data);
        let client = node.client();
        let mut alice = TestWallet::new("pg-alice", &params);
        let bob = TestWallet::new("pg-bob", &params);
        let carol = TestWallet::new("pg-carol", &params);
        for w in [&alice, &bob, &carol] {
            client
                .register(&w.register_request())
                .await
                .expect("registration");
        }
        issue(&client, data, &params, &alice, 300, 2).await;
        alice.sync(&client).await;
        let first = alice.pay_note(&params, 0, &bob.address).expect("builds");
        let again = alice.pay_note(&params, 0, &carol.address).expect("builds");
        assert_ne!(first.id(), again.id());
        client.submit(&first).await.expect("first payment commits");
        let other = alice.pay_note(&params, 1, &carol.address).expect("builds");
        client.submit(&other).await.expect("second payment commits");
        node.kill_hard();
        Made {
            params: params.clone(),
            spent_twice: again,
            wallets: vec![alice.address.spend, bob.address.spend, carol.address.spend],
        }
    })
}

/// Asserts that every read of the store trait answers alike on `a` and `b`.
fn same_reads(a: &dyn LedgerRead, b: &dyn LedgerRead, made: &Made) {
    let tip = a.tip().expect("tip").expect("a genesis block");
    let tip_b = b.tip().expect("tip").expect("a genesis block");
    assert_eq!(
        (tip.header.clone(), tip.hash, tip.signature.to_bytes()),
        (tip_b.header.clone(), tip_b.hash, tip_b.signature.to_bytes())
    );
    let blocks = a.blocks_from(0, 10_000).expect("blocks");
    assert_eq!(blocks, b.blocks_from(0, 10_000).expect("blocks"));
    assert_eq!(blocks.len() as u64, tip.header.height + 1);
    assert_eq!(
        a.blocks_from(1, 2).expect("blocks"),
        b.blocks_from(1, 2).expect("blocks")
    );
    for block in &blocks {
        let h = block.header.height;
        let (x, y) = (
            a.header_at(h).expect("header").expect("stored"),
            b.header_at(h).expect("header").expect("stored"),
        );
        assert_eq!((x.header, x.hash), (y.header, y.hash));
        for tx in &block.txs {
            assert_eq!(
                a.receipt_of(&tx.id()).expect("receipt"),
                b.receipt_of(&tx.id()).expect("receipt")
            );
            for (id, o) in tx.output_ids().iter().zip(&tx.outputs) {
                assert_eq!(a.note_status(id).expect("s"), b.note_status(id).expect("s"));
                assert_eq!(a.ledger_note(id).expect("n"), b.ledger_note(id).expect("n"));
                assert_eq!(
                    a.spender(id).expect("spender").map(|t| t.id()),
                    b.spender(id).expect("spender").map(|t| t.id())
                );
                assert!(b.commitment_exists(&o.commitment).expect("exists"));
            }
        }
    }
    assert!(a
        .header_at(tip.header.height + 1)
        .expect("header")
        .is_none());
    assert!(b
        .header_at(tip.header.height + 1)
        .expect("header")
        .is_none());
    let absent = dfc_core::Hash32([0xab; 32]);
    assert_eq!(
        a.note_status(&absent).expect("s"),
        b.note_status(&absent).expect("s")
    );
    assert!(b.ledger_note(&absent).expect("n").is_none());
    assert!(b.receipt_of(&absent).expect("r").is_none());
    assert_eq!(a.unspent_notes().expect("u"), b.unspent_notes().expect("u"));
    assert_eq!(a.spent_records().expect("s"), b.spent_records().expect("s"));
    assert_eq!(a.counts().expect("c"), b.counts().expect("c"));
    assert_eq!(
        a.audit_log_head().expect("audit"),
        b.audit_log_head().expect("audit")
    );
    assert_ne!(a.audit_log_head().expect("audit").0, 0);
    for w in &made.wallets {
        assert_eq!(
            a.owner_wallet(w).expect("wallet"),
            b.owner_wallet(w).expect("wallet")
        );
        assert!(b.owner_wallet(w).expect("wallet").is_some());
        assert_eq!(a.holding_of(w).expect("h"), b.holding_of(w).expect("h"));
    }
}

/// A block at `height` on `prev` holding `txs`, signed with any stored signature (the store does
/// not check signatures: these blocks test the database's own refusals).
fn crafted(on: &Block, height: u64, prev: dfc_core::Hash32, txs: Vec<Transaction>) -> Block {
    let mut header = on.header.clone();
    header.height = height;
    header.prev_hash = prev;
    header.time_ms += height;
    Block {
        header,
        signature: on.signature,
        txs,
    }
}

fn constraint(e: &store::StoreResult<()>) -> Option<String> {
    match e {
        Err(e) => pg::violated_constraint(e),
        Ok(()) => None,
    }
}

#[test]
fn postgres_answers_as_sqlite_and_refuses_what_it_must() {
    init_tracing();
    let cluster = PgCluster::start();
    let url = cluster.create_db("ledger");
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("node");

    tracing::info!("--- a real node on SQLite: registrations, an issuance, two payments");
    let made = make_sqlite_ledger(&data);
    let sqlite = store::open_reader(&data.join("ledger.sqlite")).expect("sqlite reader");

    tracing::info!("--- import: every block replayed through admission onto PostgreSQL");
    let mut ledger = PgLedger::connect(&url).expect("connect");
    assert_eq!(ledger.synchronous_commit().expect("show"), "on");
    let done = import_sqlite(&sqlite, &mut ledger, &made.params).expect("import");
    assert_eq!(done.wallets, 3);
    // Genesis, the issuance, the wallet's claim of its pending notes, the two payments.
    let sqlite_tip = store::tip(&sqlite).expect("tip").expect("genesis");
    assert_eq!(done.blocks, sqlite_tip.header.height + 1, "{done:?}");
    assert_eq!(done.txs, store::counts(&sqlite).expect("counts").1);
    assert!(done.txs >= 3, "{done:?}");

    tracing::info!("--- every read of the store trait answers as SQLite does");
    same_reads(&sqlite, &ledger, &made);

    tracing::info!("--- a second import into a ledger that has blocks is refused");
    let again = import_sqlite(&sqlite, &mut ledger, &made.params);
    assert!(matches!(again, Err(ImportError::NotEmpty(_))), "{again:?}");

    let before = (
        ledger.tip().expect("tip").expect("tip"),
        ledger.counts().expect("counts"),
        ledger.spent_records().expect("spent"),
    );
    let tip = before.0.clone();
    let tip_block = ledger
        .blocks_from(tip.header.height, 1)
        .expect("blocks")
        .pop()
        .expect("tip block");
    let next = tip.header.height + 1;

    tracing::info!(
        "--- a double spend: admission on PostgreSQL refuses it, and so does the schema"
    );
    {
        let tx = ledger.begin().expect("begin");
        let view = store::DbView::over(&tx);
        let mut batch = BatchState::new(made.params.turnover_period(tip.header.time_ms));
        let verdict = batch.admit(&made.spent_twice, &made.params, &view);
        view.finish().expect("no storage error");
        assert!(verdict.is_err(), "admission let a spent note through");
        let block = crafted(&tip_block, next, tip.hash, vec![made.spent_twice.clone()]);
        let sigs = [tip_block.signature];
        let fx = [Effects::default()];
        let fx = BlockEffects {
            txs: &fx,
            holdings: &Default::default(),
        };
        let written = tx.write_block(&block, &sigs, &fx);
        assert_eq!(
            constraint(&written).as_deref(),
            Some("spent_note_id_key"),
            "{written:?}"
        );
        // Dropped without commit: rolled back.
    }

    tracing::info!("--- two sealers at one height: the second commit is refused by the database");
    let mut other = PgLedger::connect(&url).expect("second node's connection");
    let mine = crafted(&tip_block, next, tip.hash, Vec::new());
    let mut theirs = crafted(&tip_block, next, tip.hash, Vec::new());
    theirs.header.time_ms += 1;
    assert_ne!(mine.header.hash(), theirs.header.hash());
    let empty = BlockEffects::none();
    let first = ledger.begin().expect("begin");
    first
        .write_block(&mine, &[], &empty)
        .expect("first sealer writes");
    let second = std::thread::spawn(move || {
        let tx = other.begin().expect("begin");
        // Waits on the first sealer's uncommitted row, then fails once it commits.
        let r = tx.write_block(&theirs, &[], &BlockEffects::none());
        (constraint(&r), r.is_ok())
    });
    first.commit().expect("first sealer commits");
    let (refused, ok) = second.join().expect("second sealer's thread");
    assert!(!ok, "two blocks committed at height {next}");
    assert!(
        matches!(
            refused.as_deref(),
            Some("blocks_pkey") | Some("blocks_prev_hash_key")
        ),
        "{refused:?}"
    );
    assert_eq!(
        ledger.tip().expect("tip").expect("tip").hash,
        mine.header.hash()
    );

    tracing::info!(
        "--- a fork (a second child of a stored block) and an unknown parent are refused"
    );
    let sibling = crafted(&tip_block, next + 1, tip.hash, Vec::new());
    let tx = ledger.begin().expect("begin");
    let forked = tx.write_block(&sibling, &[], &BlockEffects::none());
    assert_eq!(
        constraint(&forked).as_deref(),
        Some("blocks_prev_hash_key"),
        "{forked:?}"
    );
    drop(tx);
    let orphan = crafted(&tip_block, next + 1, dfc_core::Hash32([7; 32]), Vec::new());
    let tx = ledger.begin().expect("begin");
    let orphaned = tx.write_block(&orphan, &[], &BlockEffects::none());
    assert_eq!(
        constraint(&orphaned).as_deref(),
        Some("blocks_prev_hash_fkey"),
        "{orphaned:?}"
    );
    drop(tx);

    tracing::info!("--- nothing refused changed the ledger");
    assert_eq!(ledger.counts().expect("counts"), before.1);
    assert_eq!(ledger.spent_records().expect("spent"), before.2);
    assert_eq!(ledger.tip().expect("tip").expect("tip").header.height, next);

    tracing::info!("--- migrations run once: a node connecting later finds the schema in place");
    let mut late = PgLedger::connect(&url).expect("connect again");
    assert_eq!(
        late.schema_version().expect("version"),
        i32::try_from(pg::schema::MIGRATIONS.len()).expect("few migrations")
    );
}

/// `dfc-bank audit --data DIR --store URL --json`: its exit status and report.
fn pg_audit(data: &Path, url: &str) -> (bool, serde_json::Value) {
    let out = dfc_bank(&[
        "audit",
        "--data",
        data.to_str().expect("utf-8"),
        "--store",
        url,
        "--json",
    ]);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("audit --json prints JSON");
    (out.status.success(), report)
}

#[test]
fn audit_on_postgres_passes_and_names_tampered_records() {
    init_tracing();
    let cluster = PgCluster::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("node");
    let data_s = data.to_str().expect("utf-8").to_string();
    make_sqlite_ledger(&data);

    tracing::info!("--- pg-import moves the ledger, genesis included, onto PostgreSQL");
    let import = |db: &str| {
        let url = cluster.create_db(db);
        let out = dfc_bank_ok(&["pg-import", "--data", &data_s, "--store", &url, "--json"]);
        let done: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        assert!(done["blocks"].as_u64().expect("blocks") >= 4, "{done}");
        url
    };
    let url = import("clean");

    tracing::info!("--- the audit on PostgreSQL passes and agrees with the audit on SQLite");
    let (ok, report) = pg_audit(&data, &url);
    assert!(ok, "{report}");
    assert_eq!(report["pass"], true, "{report}");
    assert!(!report.to_string().contains("password"));
    let out = dfc_bank(&["audit", "--data", &data_s, "--json"]);
    let sqlite: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(sqlite["pass"], true, "{sqlite}");
    for key in ["height", "supply_units", "notes_outstanding", "tx_count"] {
        assert_eq!(report[key], sqlite[key], "{key}: {report} vs {sqlite}");
    }

    // (what, edit, what the failure names)
    let cases = [
        (
            "the node signature of block 1 (block 2's put there)",
            "UPDATE blocks SET signature = (SELECT signature FROM blocks WHERE height = 2) WHERE height = 1",
            "block 1",
        ),
        (
            "a spent note made unspent",
            "DELETE FROM spent WHERE note_id = (SELECT note_id FROM spent ORDER BY note_id LIMIT 1)",
            "spent",
        ),
        (
            "a note's pending flag",
            "UPDATE notes SET pending = NOT pending WHERE id = (SELECT id FROM notes ORDER BY id LIMIT 1)",
            "notes",
        ),
        (
            "a header's recorded supply",
            "UPDATE blocks SET header = regexp_replace(header, '\"supply\":[0-9]+', '\"supply\":1') WHERE height = 1",
            "block 1",
        ),
    ];
    for (i, (what, edit, named)) in cases.iter().enumerate() {
        tracing::info!("--- tampered on PostgreSQL: {what}");
        let url = import(&format!("tamper{i}"));
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        let changed = admin.execute(*edit, &[]).expect("the edit applies");
        assert_eq!(changed, 1, "{what}: the edit changed no row");
        let (ok, report) = pg_audit(&data, &url);
        assert!(!ok, "{what}: the audit passed: {report}");
        assert_eq!(report["pass"], false, "{report}");
        let error = report["error"].as_str().expect("an error").to_string();
        assert!(error.contains(named), "{what}: {error}");
    }
}

/// Whether any session holds the sealer lease (seen from `c`).
fn lease_held(c: &mut postgres::Client) -> bool {
    c.query_one(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND ((classid::BIGINT << 32) | objid::BIGINT) = $1)",
        &[&lease::SEALER_LOCK],
    )
    .expect("pg_locks")
    .get(0)
}

#[test]
fn the_sealer_lease_passes_on_from_a_killed_holder_and_the_handoff_is_durable() {
    init_tracing();
    let cluster = PgCluster::start();
    let url = cluster.create_db("lease");
    let mut ledger = PgLedger::connect(&url).expect("connect (migrations)");
    let mut watcher = postgres::Client::connect(&url, postgres::NoTls).expect("connect");

    tracing::info!("--- the lease is exclusive, and passes on when its holder ends");
    let mut a = lease::SealerLease::try_acquire(&url)
        .expect("query")
        .expect("a free lease is taken");
    assert!(a.still_held());
    assert!(lease::SealerLease::try_acquire(&url)
        .expect("query")
        .is_none());
    drop(a);
    let b = lease::SealerLease::try_acquire(&url)
        .expect("query")
        .expect("taken over after the holder ended");
    drop(b);

    tracing::info!("--- a holder killed with SIGKILL loses the lease; another node takes it");
    let mut holder = cluster
        .psql("lease")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql runs");
    {
        use std::io::Write;
        let stdin = holder.stdin.as_mut().expect("stdin");
        writeln!(stdin, "SELECT pg_advisory_lock({});", lease::SEALER_LOCK).expect("write");
        stdin.flush().expect("flush");
    }
    let mut waited = 0;
    while !lease_held(&mut watcher) {
        waited += 1;
        assert!(waited < 600, "psql never took the lease");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(lease::SealerLease::try_acquire(&url)
        .expect("query")
        .is_none());
    holder.kill().expect("SIGKILL");
    let _ = holder.wait();
    let mut tries = 0;
    let taken = loop {
        if let Some(l) = lease::SealerLease::try_acquire(&url).expect("query") {
            break l;
        }
        tries += 1;
        assert!(tries < 600, "the lease stayed with a killed holder");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    drop(taken);

    tracing::info!("--- the hand-off queue: one row per transaction, whichever node queued it");
    let tmp = tempfile::tempdir().expect("tempdir");
    let params = init_sandbox(&tmp.path().join("sandbox"));
    let w = TestWallet::new("pg-handoff", &params);
    let tx = build(
        &params,
        TxKind::Issue,
        Amount::from_units(5).expect("small"),
        &[],
        &[Payment {
            to: w.address,
            amount: Amount::from_units(5).expect("small"),
            memo: Vec::new(),
        }],
        &mut rand::rngs::OsRng,
    )
    .expect("builds")
    .tx;
    let other = PgLedger::connect(&url).expect("second node");
    assert!(lease::enqueue(&ledger, &tx, "node-a", 1).expect("enqueue"));
    assert!(!lease::enqueue(&other, &tx, "node-b", 2).expect("enqueue"));
    assert_eq!(lease::queued(&ledger).expect("queued"), 1);

    tracing::info!("--- a sealer that dies before its commit leaves the batch queued");
    {
        let block_tx = ledger.begin().expect("begin");
        let taken = lease::take_batch(&block_tx, 10).expect("take");
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].id(), tx.id());
        // Another sealer does not wait on, nor take, rows in flight.
        let mut other = PgLedger::connect(&url).expect("third session");
        let their_tx = other.begin().expect("begin");
        assert!(lease::take_batch(&their_tx, 10).expect("take").is_empty());
        drop(their_tx);
        // No commit: the block's transaction is rolled back.
    }
    assert_eq!(lease::queued(&other).expect("queued"), 1);
    let block_tx = ledger.begin().expect("begin");
    assert_eq!(lease::take_batch(&block_tx, 10).expect("take").len(), 1);
    block_tx.commit().expect("commit");
    assert_eq!(lease::queued(&other).expect("queued"), 0);
}
