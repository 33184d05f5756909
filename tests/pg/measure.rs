//! The cost of committing blocks on each store, measured by hand (ignored in CI):
//! `cargo test -p dfc-tests --test pg -- --ignored --nocapture measure_block_commits`.
//!
//! The same blocks (shaped like payments: one input spent, two outputs created, real transaction
//! bytes) are written by the SQLite block writer (`synchronous=FULL`, WAL, with the node's table
//! digest triggers) and the PostgreSQL one (`synchronous_commit=on`), one store transaction per
//! block, at the block sizes the node seals. The figures go to `docs/scaling.md`.

use std::time::Instant;

use dfc_central_bank::store::{self, BlockEffects, LedgerStore};
use dfc_central_bank::summary::{self, DigestKey};
use dfc_core::{build, Amount, Block, Effects, NoteId, Payment, Transaction, TxKind};
use dfc_tests::pg::PgCluster;
use dfc_tests::{init_sandbox, TestWallet};

use super::PgLedger;

/// (transactions per block, blocks)
const SIZES: [(usize, usize); 4] = [(1, 100), (10, 40), (100, 10), (1000, 2)];

/// `n` transactions with fresh outputs, each spending one note of `spendable` (ids are all the
/// store checks; the bytes are real transactions).
fn payments(
    params: &dfc_core::NetworkParams,
    to: &dfc_core::Address,
    n: usize,
    spendable: &mut Vec<NoteId>,
) -> Vec<Transaction> {
    (0..n)
        .map(|_| {
            let pay = |units| Payment {
                to: *to,
                amount: Amount::from_units(units).expect("small"),
                memo: Vec::new(),
            };
            let mut tx = build(
                params,
                TxKind::Issue,
                Amount::from_units(3).expect("small"),
                &[],
                &[pay(1), pay(2)],
                &mut rand::rngs::OsRng,
            )
            .expect("builds")
            .tx;
            tx.inputs = spendable.pop().into_iter().collect();
            spendable.extend(tx.output_ids());
            tx
        })
        .collect()
}

#[test]
#[ignore = "a measurement, run by hand"]
fn measure_block_commits() {
    let cluster = PgCluster::start();
    let url = cluster.create_db("measure");
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("sandbox");
    let params = init_sandbox(&data);
    let genesis = {
        let conn = store::open_reader(&data.join("ledger.sqlite")).expect("reader");
        store::blocks_from(&conn, 0, 1)
            .expect("genesis")
            .pop()
            .expect("genesis")
    };
    let w = TestWallet::new("measure", &params);

    // Both stores start from the same genesis block.
    let lite_path = tmp.path().join("measure.sqlite");
    let lite = store::open_writer(&lite_path).expect("sqlite");
    summary::install(&lite, &DigestKey::from_seed(&[7u8; 32])).expect("digest triggers");
    summary::reseed(&lite).expect("digests");
    let mut pg = PgLedger::connect(&url).expect("postgres");
    let none = BlockEffects::none();
    {
        let t = lite.unchecked_transaction().expect("begin");
        t.write_block(&genesis, &[], &none).expect("genesis");
        t.commit().expect("commit");
        let t = pg.begin().expect("begin");
        t.write_block(&genesis, &[], &none).expect("genesis");
        t.commit().expect("commit");
    }

    let mut prev = genesis.header.clone();
    let mut spendable: Vec<NoteId> = Vec::new();
    println!("| txs/block | blocks | SQLite blocks/s | SQLite txs/s | PostgreSQL blocks/s | PostgreSQL txs/s | PostgreSQL / SQLite |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (k, count) in SIZES {
        let mut blocks = Vec::with_capacity(count);
        for _ in 0..count {
            let txs = payments(&params, &w.address, k, &mut spendable);
            let mut header = prev.clone();
            header.height += 1;
            header.prev_hash = prev.hash();
            header.tx_count = u32::try_from(k).expect("small");
            let block = Block {
                header,
                signature: genesis.signature,
                txs,
            };
            prev = block.header.clone();
            blocks.push(block);
        }
        let sigs = vec![genesis.signature; k];
        let fx: Vec<Effects> = vec![Effects::default(); k];
        let effects = BlockEffects {
            txs: &fx,
            holdings: none.holdings,
        };
        let started = Instant::now();
        for b in &blocks {
            let t = lite.unchecked_transaction().expect("begin");
            t.write_block(b, &sigs, &effects).expect("sqlite block");
            t.commit().expect("commit");
        }
        let lite_s = started.elapsed().as_secs_f64();
        let started = Instant::now();
        for b in &blocks {
            let t = pg.begin().expect("begin");
            t.write_block(b, &sigs, &effects).expect("postgres block");
            t.commit().expect("commit");
        }
        let pg_s = started.elapsed().as_secs_f64();
        let n = count as f64;
        println!(
            "| {k} | {count} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} |",
            n / lite_s,
            n * k as f64 / lite_s,
            n / pg_s,
            n * k as f64 / pg_s,
            lite_s / pg_s
        );
    }
}
