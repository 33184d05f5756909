//! Offline payment packets: a valid packet is accepted with no ledger at hand, every altered or
//! out-of-policy packet is refused with its reason, and a double spend yields verifiable evidence.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use common::*;
use dfc_core::api::Checkpoint;
use dfc_core::compliance::ComplianceContext;
use dfc_core::offline::{
    make_packet, verify_packet, AcceptPolicy, CheckpointRef, DoubleSpendEvidence, OfflineError,
    PayeeBook, PaymentPacket, PurseCertificate,
};
use dfc_core::{
    build_with, Amount, BuildOptions, Hash32, MemoryLedger, PublicKey, SpendInput, TxError, TxId,
    TxKind, WalletKeys,
};

const NOW: u64 = 1_800_000_000_000;

#[derive(Default)]
struct Book {
    per: HashMap<PublicKey, Amount>,
    counters: HashMap<PublicKey, u64>,
    txs: Vec<TxId>,
}

impl PayeeBook for Book {
    fn unsettled_total(&self) -> Amount {
        Amount::sum(self.per.values().copied()).unwrap()
    }
    fn unsettled_from(&self, purse: &PublicKey) -> Amount {
        self.per.get(purse).copied().unwrap_or(Amount::ZERO)
    }
    fn last_counter(&self, purse: &PublicKey) -> Option<u64> {
        self.counters.get(purse).copied()
    }
    fn has_tx(&self, txid: &TxId) -> bool {
        self.txs.contains(txid)
    }
}

struct Off {
    n: Net,
    ledger: MemoryLedger,
    payer: WalletKeys,
    payee: WalletKeys,
    cert: PurseCertificate,
    checkpoint: Checkpoint,
    purse: Vec<SpendInput>,
}

/// The payer funds a purse of four notes of 1000 and gets a certificate with a cap of 2000.
fn setup() -> Off {
    let n = net(1);
    let mut ledger = MemoryLedger::new(n.params.clone());
    let payer = wallet("payer");
    let payee = wallet("payee");
    let notes = issue(&n, &mut ledger, &payer, &[4000], 1);
    let purse_addr = payer.purse_address(1, 0);
    let payments: Vec<_> = (0..4)
        .map(|_| dfc_core::Payment {
            to: purse_addr,
            amount: amt(1000),
            memo: Vec::new(),
        })
        .collect();
    let purse_key = payer.purse_key(0);
    // The purse key is registered to the payer's account, so funding the purse is change: the
    // purse notes are settled at once.
    ledger.register_purse(purse_key.public(), &payer.spend.public());
    let own = BuildOptions {
        compliance: Some(ComplianceContext {
            payer_tier: TOP_TIER,
            own_keys: vec![purse_key.public()],
            payee_tiers: Vec::new(),
        }),
    };
    let fund = build_with(
        &n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &notes,
        &payments,
        &own,
        &mut rng(2),
    )
    .unwrap();
    assert_eq!(fund.tx.compliance.as_ref().unwrap().parties, vec![0; 4]);
    ledger.apply(&fund.tx).unwrap();
    for id in fund.tx.output_ids() {
        assert!(!ledger.is_pending(&id));
    }
    let purse: Vec<SpendInput> = fund
        .tx
        .output_ids()
        .into_iter()
        .zip(&fund.tx.outputs)
        .map(|(id, o)| SpendInput {
            id,
            opening: o.open(&payer.view).unwrap(),
            key: purse_key.clone(),
        })
        .collect();
    let cert = PurseCertificate::issue(
        1,
        payer.spend.public(),
        purse_key.public(),
        amt(2000),
        1,
        NOW - 1000,
        NOW + 86_400_000,
        7,
        Some(CheckpointRef {
            height: 5,
            block_hash: Hash32([3; 32]),
        }),
        &n.node,
    );
    let tree = ledger.ledger_tree();
    let checkpoint = Checkpoint::sign(1, 5, Hash32([3; 32]), tree.root(), NOW - 60_000, &n.node);
    Off {
        n,
        ledger,
        payer,
        payee,
        cert,
        checkpoint,
        purse,
    }
}

fn packet(o: &Off, note: usize, units: u64, counter: u64, seed: u64) -> PaymentPacket {
    let tree = o.ledger.ledger_tree();
    let input = o.purse[note].clone();
    let proof = tree.proof(&input.id).unwrap();
    let change = 1000 - units;
    let mut payments = vec![pay(&o.payee, 1, units)];
    if change > 0 {
        payments.push(dfc_core::Payment {
            to: o.payer.purse_address(1, 0),
            amount: amt(change),
            memo: Vec::new(),
        });
    }
    make_packet(
        &o.n.params,
        &o.cert,
        &o.checkpoint,
        &[(input, proof)],
        &payments,
        counter,
        &o.payer.purse_key(0),
        &mut rng(seed),
    )
    .unwrap()
    .0
}

fn accept(
    o: &Off,
    p: &PaymentPacket,
    book: &Book,
) -> Result<dfc_core::offline::Accepted, OfflineError> {
    let decoded = PaymentPacket::decode(&p.encode())?;
    verify_packet(
        &decoded,
        &o.n.params,
        &o.payee,
        &AcceptPolicy::default(),
        book,
        NOW,
    )
}

#[test]
fn a_valid_packet_is_accepted_offline_and_fits_one_qr_code() {
    let o = setup();
    let p = packet(&o, 0, 250, 1, 10);
    let size = p.encode().len();
    assert!(
        size <= dfc_core::offline::MAX_PACKET_BYTES,
        "packet of {size} bytes"
    );
    assert_eq!(PaymentPacket::from_text(&p.to_text()).unwrap(), p);
    let a = accept(&o, &p, &Book::default()).unwrap();
    assert_eq!(a.amount, amt(250));
    assert_eq!(a.payer_wallet, o.payer.spend.public());
    // The packet's transaction is an ordinary transfer the ledger accepts at settlement.
    let mut ledger = o.ledger.clone();
    ledger.apply(&p.tx).unwrap();
    ledger.audit().unwrap();
}

#[test]
fn any_altered_field_is_refused() {
    let o = setup();
    let p = packet(&o, 0, 250, 1, 11);
    let bytes = p.encode();
    let mut refused = 0;
    for i in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0x40;
        let verdict = PaymentPacket::decode(&b)
            .map_err(OfflineError::from)
            .and_then(|q| {
                verify_packet(
                    &q,
                    &o.n.params,
                    &o.payee,
                    &AcceptPolicy::default(),
                    &Book::default(),
                    NOW,
                )
            });
        assert!(verdict.is_err(), "byte {i} altered and still accepted");
        refused += 1;
    }
    assert!(refused > 100);
}

#[test]
fn an_expired_certificate_is_refused() {
    let o = setup();
    let p = packet(&o, 0, 250, 1, 12);
    let later = o.cert.expires_ms + 1;
    let policy = AcceptPolicy {
        max_checkpoint_age_ms: u64::MAX,
        ..AcceptPolicy::default()
    };
    assert_eq!(
        verify_packet(&p, &o.n.params, &o.payee, &policy, &Book::default(), later),
        Err(OfflineError::CertificateExpired {
            expires_ms: o.cert.expires_ms,
            now_ms: later
        })
    );
}

#[test]
fn a_replayed_counter_is_refused() {
    let o = setup();
    let first = packet(&o, 0, 250, 5, 13);
    let mut book = Book::default();
    let a = accept(&o, &first, &book).unwrap();
    book.counters.insert(a.purse, a.counter);
    book.per.insert(a.purse, a.amount);
    book.txs.push(a.txid);
    assert_eq!(
        accept(&o, &first, &book),
        Err(OfflineError::AlreadyAccepted)
    );
    let stale = packet(&o, 1, 100, 5, 14);
    assert_eq!(
        accept(&o, &stale, &book),
        Err(OfflineError::ReplayedCounter {
            counter: 5,
            last: 5
        })
    );
    let next = packet(&o, 1, 100, 6, 15);
    assert!(accept(&o, &next, &book).is_ok());
}

#[test]
fn a_payment_over_the_cap_or_the_payee_policy_is_refused() {
    let mut o = setup();
    o.cert = PurseCertificate::issue(
        1,
        o.payer.spend.public(),
        o.payer.purse_key(0).public(),
        amt(500),
        1,
        NOW - 1000,
        NOW + 1000,
        8,
        None,
        &o.n.node,
    );
    let p = packet(&o, 0, 900, 1, 16);
    assert_eq!(
        accept(&o, &p, &Book::default()),
        Err(OfflineError::OverCap {
            amount: 900,
            cap: 500
        })
    );

    let p = packet(&o, 0, 400, 1, 17);
    let mut book = Book::default();
    book.per.insert(o.cert.purse, amt(9_800));
    assert_eq!(
        accept(&o, &p, &book),
        Err(OfflineError::OverPerPayer {
            amount: 400,
            would_hold: 10_200,
            limit: 10_000
        })
    );
}

#[test]
fn a_checkpoint_or_certificate_signed_by_the_wrong_key_is_refused() {
    let o = setup();
    let mallory = dfc_core::SigningKey::from_seed(&[99; 32]);
    let mut p = packet(&o, 0, 250, 1, 18);
    p.checkpoint = Checkpoint::sign(
        1,
        5,
        Hash32([3; 32]),
        p.checkpoint.ledger_root,
        p.checkpoint.time_ms,
        &mallory,
    );
    assert_eq!(
        accept(&o, &p, &Book::default()),
        Err(OfflineError::BadCheckpoint)
    );

    let mut p = packet(&o, 0, 250, 1, 19);
    let c = &o.cert;
    p.cert = PurseCertificate::issue(
        1,
        c.wallet,
        c.purse,
        amt(1_000_000),
        c.tier,
        c.issued_ms,
        c.expires_ms,
        c.serial,
        c.checkpoint,
        &mallory,
    );
    assert_eq!(
        accept(&o, &p, &Book::default()),
        Err(OfflineError::BadCertificate)
    );

    // A note not in the checkpoint's tree cannot be proven.
    let mut p = packet(&o, 0, 250, 1, 20);
    p.inputs[0].proof.index = (p.inputs[0].proof.index + 1) % p.inputs[0].proof.leaf_count;
    assert_eq!(
        accept(&o, &p, &Book::default()),
        Err(OfflineError::BadInclusionProof {
            index: 0,
            height: 5
        })
    );
}

#[test]
fn a_double_spend_is_accepted_offline_refused_at_settlement_with_evidence() {
    let o = setup();
    let first = packet(&o, 2, 300, 1, 21);
    let second = packet(&o, 2, 600, 2, 22);
    // Offline, a payee cannot know the note was spent before: both are accepted by fresh payees.
    assert!(accept(&o, &first, &Book::default()).is_ok());
    assert!(accept(&o, &second, &Book::default()).is_ok());
    let mut ledger = o.ledger.clone();
    ledger.apply(&first.tx).unwrap();
    let note = o.purse[2].id;
    assert_eq!(
        ledger.apply(&second.tx),
        Err(TxError::InputSpent {
            index: 0,
            note: note.to_hex()
        })
    );
    let evidence = DoubleSpendEvidence {
        note,
        committed: first.tx.clone(),
        conflicting: second.tx.clone(),
        cert: second.cert.clone(),
    };
    evidence.verify(&o.n.params.node_key).unwrap();
    assert_eq!(evidence.cert.wallet, o.payer.spend.public());
    let bogus = DoubleSpendEvidence {
        conflicting: first.tx.clone(),
        ..evidence
    };
    assert!(bogus.verify(&o.n.params.node_key).is_err());
}

#[test]
fn packet_size_is_reported() {
    let o = setup();
    let p = packet(&o, 0, 250, 1, 30);
    let bytes = p.encode().len();
    let text = p.to_text().len();
    eprintln!(
        "offline packet (1 input, 2 outputs, tree of {} notes): {bytes} bytes, text {text} chars",
        o.ledger.unspent_count()
    );
    assert!(text > bytes);
}

#[test]
fn settlement_runs_the_payees_checks_and_judges_expiry_by_the_checkpoint() {
    use dfc_core::offline::verify_settlement;
    let o = setup();
    let p = packet(&o, 0, 250, 1, 20);
    assert_eq!(verify_settlement(&p, &o.n.params), Ok(()));
    // The certificate expiring after the packet was made does not matter: the checkpoint is
    // dated before the expiry, so an honest payee accepted it in time.
    let mut forged = p.clone();
    forged.checkpoint.ledger_root.0[0] ^= 1;
    assert_eq!(
        verify_settlement(&forged, &o.n.params),
        Err(OfflineError::BadCheckpoint)
    );
    let mut bad_proof = p.clone();
    match bad_proof.inputs[0].proof.siblings.first_mut() {
        Some(s) => s[0] ^= 1,
        None => bad_proof.inputs[0].proof.index += 1,
    }
    assert!(matches!(
        verify_settlement(&bad_proof, &o.n.params),
        Err(OfflineError::BadInclusionProof { index: 0, .. })
    ));
    let mut missing = p.clone();
    missing.inputs.clear();
    assert!(matches!(
        verify_settlement(&missing, &o.n.params),
        Err(OfflineError::ProofCount { have: 0, need: 1 })
    ));
    // A packet on a checkpoint the node signed after the certificate expired was made with an
    // expired certificate.
    let mut late = p.clone();
    let tree = o.ledger.ledger_tree();
    late.checkpoint = Checkpoint::sign(
        1,
        6,
        Hash32([4; 32]),
        tree.root(),
        o.cert.expires_ms + 1,
        &o.n.node,
    );
    assert_eq!(
        verify_settlement(&late, &o.n.params),
        Err(OfflineError::CheckpointAfterExpiry {
            checkpoint_ms: o.cert.expires_ms + 1,
            expires_ms: o.cert.expires_ms,
        })
    );
}

#[test]
fn the_certificate_names_its_checkpoint_under_the_node_signature() {
    let o = setup();
    let p = packet(&o, 0, 10, 1, 31);
    assert_eq!(
        p.cert.checkpoint,
        Some(CheckpointRef {
            height: 5,
            block_hash: Hash32([3; 32]),
        })
    );
    assert!(p.cert.verify(&o.n.node.public()));
    let back = PaymentPacket::from_text(&p.to_text()).unwrap();
    assert_eq!(
        back.cert.checkpoint, p.cert.checkpoint,
        "the text form carries it"
    );
    // Naming another checkpoint, or none, breaks the node's signature.
    for other in [
        None,
        Some(CheckpointRef {
            height: 6,
            block_hash: Hash32([3; 32]),
        }),
        Some(CheckpointRef {
            height: 5,
            block_hash: Hash32([4; 32]),
        }),
    ] {
        let mut cert = p.cert.clone();
        cert.checkpoint = other;
        assert!(!cert.verify(&o.n.node.public()), "{other:?}");
    }
}

#[test]
fn retired_version_1_packets_are_refused_with_a_clear_message() {
    // A packet made by the previous version (its certificate names no checkpoint).
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/vectors/offline-v1/packet.txt"),
    )
    .unwrap();
    let e = PaymentPacket::from_text(&text).unwrap_err();
    let message = e.to_string();
    assert!(
        message.contains("offline packet version 1 is retired")
            && message.contains("ask the payer for a new packet"),
        "{message}"
    );
}
