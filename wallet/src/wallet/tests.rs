//! Unit tests of the wallet: block verification, payments stored before they are sent, resumes.
use super::*;
use dfc_core::params::default_tiers;
use dfc_core::{BlockHeader, Limits, SigningKey};

fn params(node: &SigningKey) -> NetworkParams {
    NetworkParams {
        network_id: 7,
        name: "test".into(),
        sandbox: true,
        currency: "DFC".into(),
        decimals: 2,
        issuers: vec![SigningKey::from_seed(&[1u8; 32]).public().into()],
        threshold: 1,
        node_key: node.public(),
        limits: Limits::default(),
        tiers: default_tiers(),
        turnover_period_days: dfc_core::params::DEFAULT_TURNOVER_PERIOD_DAYS,
        compliance: None,
        auditors: Vec::new(),
        tls_ca: None,
        genesis_hash: Hash32([7; 32]),
    }
}

fn block(
    params: &NetworkParams,
    height: u64,
    prev: Option<&BlockHeader>,
    key: &SigningKey,
) -> Block {
    let header = BlockHeader {
        version: dfc_core::block::HEADER_VERSION,
        history_root: Hash32([0u8; 32]),
        network: params.network_id,
        height,
        prev_hash: prev.map(BlockHeader::hash).unwrap_or(Hash32([0u8; 32])),
        time_ms: 1,
        tx_root: Hash32([0u8; 32]),
        tx_count: 0,
        supply: Amount::ZERO,
        params_hash: params.hash(),
        audit_seq: 0,
        audit_head: Hash32([0u8; 32]),
    };
    Block::seal(header, Vec::new(), key)
}

#[test]
fn sync_refuses_bad_signature_and_broken_chain() {
    let node = SigningKey::from_seed(&[2u8; 32]);
    let impostor = SigningKey::from_seed(&[3u8; 32]);
    let p = params(&node);
    let genesis = block(&p, 0, None, &node);
    assert!(verify_block(&genesis, None, &p).is_ok());
    let next = block(&p, 1, Some(&genesis.header), &node);
    assert!(verify_block(&next, Some(&genesis.header), &p).is_ok());

    let forged = block(&p, 1, Some(&genesis.header), &impostor);
    let err = verify_block(&forged, Some(&genesis.header), &p);
    assert!(
        matches!(err, Err(WalletError::BadChain { height: 1, .. })),
        "{err:?}"
    );
    assert!(err
        .err()
        .map(|e| e.to_string())
        .is_some_and(|m| m.contains("signature")));

    // Properly signed, but not linked to the header we hold.
    let mut unlinked = next.header.clone();
    unlinked.prev_hash = Hash32([9u8; 32]);
    let unlinked = Block::seal(unlinked, Vec::new(), &node);
    assert!(matches!(
        verify_block(&unlinked, Some(&genesis.header), &p),
        Err(WalletError::BadChain { height: 1, .. })
    ));

    let mut other = p.clone();
    other.decimals = 3;
    let wrong_params = block(&other, 0, None, &node);
    assert!(matches!(
        verify_block(&wrong_params, None, &p),
        Err(WalletError::BlockParamsMismatch { height: 0 })
    ));
}

fn registered_wallet(dir: &Path) -> (Wallet, NetworkParams) {
    let (mut w, _) = Wallet::create(dir, "pw", KdfCost::insecure_for_tests()).expect("create");
    let p = params(&SigningKey::from_seed(&[2u8; 32]));
    w.store
        .set_registration(&p, "http://127.0.0.1:9", 0)
        .expect("pin params");
    (w, p)
}

/// Gives the wallet notes of `amounts` as if found in block 0.
fn fund(w: &mut Wallet, amounts: &[u64]) {
    let me = w.address().expect("address");
    let p = w.params().expect("params");
    let writer = w.store.begin_block().expect("begin");
    for (i, units) in amounts.iter().enumerate() {
        let opening = dfc_core::Opening::random(
            Amount::from_units(*units).expect("small"),
            Vec::new(),
            &mut OsRng,
        );
        let out = dfc_core::Output::new(&me, &opening, &mut OsRng);
        let opened = out.open(&w.keys.view).expect("own note opens");
        let id = Hash32([u8::try_from(i).expect("few notes"); 32]);
        writer
            .add_note(&w.data, &id, &Hash32([0xee; 32]), 0, &opened, false)
            .expect("add");
    }
    writer
        .finish(&block(&p, 0, None, &SigningKey::from_seed(&[2u8; 32])).header)
        .expect("finish");
}

#[test]
fn address_and_amount_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (w, p) = registered_wallet(dir.path());
    let good = w.address().expect("address").to_string();
    assert!(w.parse_address(&good).is_ok());
    let mut typo: Vec<char> = good.chars().collect();
    let i = typo.len() - 5;
    typo[i] = if typo[i] == 'q' { 'p' } else { 'q' };
    let typo: String = typo.into_iter().collect();
    let err = w
        .parse_address(&typo)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("checksum"), "{err}");
    let foreign = w.keys.address(p.network_id + 1).to_string();
    assert!(matches!(
        w.parse_address(&foreign),
        Err(WalletError::WrongNetwork { .. })
    ));
    assert_eq!(w.parse_amount("12.50").map(|a| a.units()).ok(), Some(1250));
    let err = w
        .parse_amount("12.505")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("more than 2 decimals"), "{err}");
    assert!(matches!(
        w.parse_amount("0.00"),
        Err(WalletError::ZeroAmount)
    ));
    assert!(matches!(
        w.parse_amount("1,5"),
        Err(WalletError::BadAmount(_))
    ));
}

#[test]
fn prepare_reserves_and_rejection_releases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut w, _) = registered_wallet(dir.path());
    let err = w.prepare(
        TxKind::Transfer,
        None,
        Amount::from_units(100).expect("small"),
        "",
    );
    let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        msg,
        "insufficient funds: 0.00 DFC available, 1.00 DFC asked"
    );

    fund(&mut w, &[1_000, 500, 250]);
    let to = WalletKeys::from_seed(b"bob").address(7);
    let before = w.balance().expect("balance");
    assert_eq!(before.spendable_units, 1_750);
    let prepared = w
        .prepare(
            TxKind::Transfer,
            Some(&to),
            Amount::from_units(400).expect("small"),
            "hi",
        )
        .expect("prepare");
    assert_eq!(prepared.tx.inputs.len(), 1, "smallest sufficient note");
    let b = w.balance().expect("balance");
    assert_eq!(
        (b.spendable_units, b.reserved_units, b.total_units),
        (1_250, 500, 1_750)
    );
    assert_eq!(b.pending, vec![prepared.txid.to_hex()]);
    // The reserved note is not offered again; asking for more than the rest is refused and
    // names the reserved amount.
    let msg = w
        .prepare(
            TxKind::Transfer,
            Some(&to),
            Amount::from_units(1_300).expect("small"),
            "",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains(
            "12.50 DFC available, 13.00 DFC asked (5.00 DFC more is held by pending payments)"
        ),
        "{msg}"
    );
    // The stored transaction is exactly what will be resubmitted.
    let stored = w.store.outgoing(&w.data, true).expect("outgoing");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        Transaction::from_hex(&stored[0].tx_hex).ok(),
        Some(prepared.tx.clone())
    );
    // A definitive rejection releases the notes.
    w.store
        .set_outgoing_state(&prepared.txid, OutgoingState::Rejected, None, Some("test"))
        .expect("reject");
    let after = w.balance().expect("balance");
    assert_eq!((after.spendable_units, after.reserved_units), (1_750, 0));
    assert!(after.pending.is_empty());
}

#[test]
fn reopening_needs_the_right_passphrase() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (w, _) = registered_wallet(dir.path());
    let addr = w.address().expect("address");
    drop(w);
    assert!(matches!(
        Wallet::open(dir.path(), "nope"),
        Err(WalletError::WrongPassphrase { .. })
    ));
    let again = Wallet::open(dir.path(), "pw").expect("open");
    assert_eq!(again.address().ok(), Some(addr));
    assert_eq!(address_of(dir.path()).ok().map(|(a, _)| a), Some(addr));
    assert!(matches!(
        Wallet::create(dir.path(), "pw", KdfCost::insecure_for_tests()),
        Err(WalletError::AlreadyExists { .. })
    ));
}

/// Blocks `0..n` of an empty chain, each carrying the history root of the blocks before it.
fn chain(params: &NetworkParams, n: u64, key: &SigningKey) -> Vec<Block> {
    let mut history = HistoryPeaks::new();
    let mut out: Vec<Block> = Vec::new();
    for height in 0..n {
        let mut b = block(params, height, out.last().map(|b| &b.header), key);
        b.header.history_root = history.root();
        let b = Block::seal(b.header, Vec::new(), key);
        history.push(&b.header.hash());
        out.push(b);
    }
    out
}

/// A full sync holds the node to the history it verified: a block signed by the pinned node key
/// whose history root is not the root of the blocks before it is refused, with nothing applied,
/// and the right block applies after it.
#[test]
fn full_sync_refuses_a_block_with_another_history_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut w, p) = registered_wallet(dir.path());
    let node = SigningKey::from_seed(&[2u8; 32]);
    let blocks = chain(&p, 4, &node);
    let mut report = SyncReport::default();
    for b in &blocks[..2] {
        w.apply_block(b, &p, &mut report)
            .expect("linked, signed, right history");
    }
    // Block 2 with the history root of block 1 (a node that left block 1 out of the history).
    let mut bad = blocks[2].header.clone();
    bad.history_root = blocks[1].header.history_root;
    let bad = Block::seal(bad, Vec::new(), &node);
    let err = w.apply_block(&bad, &p, &mut report);
    assert!(
        matches!(err, Err(WalletError::BadHistoryRoot { height: 2 })),
        "{err:?}"
    );
    assert_eq!(w.store.sync_height().expect("height"), 2, "nothing applied");
    for b in &blocks[2..] {
        w.apply_block(b, &p, &mut report)
            .expect("the right blocks apply");
    }
    assert_eq!(w.store.sync_height().expect("height"), 4);
    let kept = w.store.block_history().expect("read").expect("kept");
    assert_eq!(kept.leaf_count(), 4);
    let mut expected = HistoryPeaks::new();
    for b in &blocks {
        expected.push(&b.header.hash());
    }
    assert_eq!(kept.root(), expected.root(), "kept across blocks");
}
