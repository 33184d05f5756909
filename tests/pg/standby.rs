//! The database is not the single point of failure: with a streaming standby named in
//! `synchronous_standby_names`, a block whose commit returned is on the standby too, and is there
//! after the primary is lost and the standby promoted (`docs/scaling.md`).

use dfc_central_bank::store::{self, BlockEffects, LedgerRead, LedgerStore};
use dfc_tests::pg::PgCluster;
use dfc_tests::{init_sandbox, init_tracing};

use super::PgLedger;

#[test]
fn a_block_committed_with_a_synchronous_standby_survives_the_loss_of_the_primary() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("sandbox");
    init_sandbox(&data);
    let genesis = {
        let conn = store::open_reader(&data.join("ledger.sqlite")).expect("reader");
        store::blocks_from(&conn, 0, 1)
            .expect("genesis")
            .pop()
            .expect("genesis")
    };

    tracing::info!("--- a primary, and a standby it must wait for on every commit");
    let primary = PgCluster::start();
    let url = primary.create_db("ledger");
    let mut ledger = PgLedger::connect(&url).expect("connect");
    let standby = primary.standby("standby1");
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    admin
        .batch_execute("ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby1)'")
        .expect("require the standby");
    admin
        .batch_execute("SELECT pg_reload_conf()")
        .expect("reload");
    let mut waited = 0;
    loop {
        let sync: Option<String> = admin
            .query_opt(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'",
                &[],
            )
            .expect("pg_stat_replication")
            .map(|r| r.get(0));
        if sync.as_deref() == Some("sync") {
            break;
        }
        waited += 1;
        assert!(
            waited < 1200,
            "the standby never became synchronous: {sync:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(ledger.synchronous_commit().expect("show"), "on");

    tracing::info!("--- a block commits on the primary");
    let tx = ledger.begin().expect("begin");
    tx.write_block(&genesis, &[], &BlockEffects::none())
        .expect("write");
    tx.commit().expect("commit");
    drop(ledger);
    drop(admin);

    tracing::info!("--- the primary is lost; the standby is promoted and has the block");
    primary.stop_now();
    standby.promote();
    let promoted = PgLedger::connect(&standby.url("ledger")).expect("connect to the new primary");
    let tip = promoted.tip().expect("tip").expect("the committed block");
    assert_eq!(tip.hash, genesis.header.hash());
    assert_eq!(tip.header.height, 0);
}
