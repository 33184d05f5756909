//! Submission paths of issue 16 and the per-wallet limit of issue 15: binary and batch
//! submission give exactly the single JSON submission's outcomes, a wallet over its rate gets
//! 429 while another wallet keeps paying, and forged submissions cannot spend a victim's budget.

use dfc_core::api::batch::{encode_batch, BatchOutcome, SubmitBatchResponse};
use dfc_core::api::{NoteStatus, TxStatus};
use dfc_tests::{init_sandbox, init_tracing, Node, TestWallet};

use crate::{audit_passes, issue, register};

/// POSTs `body` to `path` with `content_type`; status, whether `Retry-After` is set, body.
async fn post(
    url: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, bool, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("the node answers");
    let status = r.status().as_u16();
    let retry = r.headers().contains_key("retry-after");
    let json = r.json().await.unwrap_or(serde_json::Value::Null);
    (status, retry, json)
}

/// A binary submission commits like a JSON one; a batch answers one outcome per transaction in
/// order (receipts for the valid ones, the single submission's error for a forged one and for
/// bytes that do not decode), commits only the valid ones, and a body with bad framing is refused
/// as a whole with nothing changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_and_batch_submissions_answer_like_single_ones() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let params = init_sandbox(&data);
    let node = Node::start(&data);
    let client = node.client();
    let mut alice = TestWallet::new("batch-alice", &params);
    let bob = TestWallet::new("batch-bob", &params);
    register(&client, &alice).await;
    register(&client, &bob).await;
    issue(&client, &data, &params, &alice, 100, 5).await;
    alice.sync(&client).await;

    tracing::info!("--- one transfer as canonical bytes");
    let single = alice.pay_note(&params, 0, &bob.address).expect("builds");
    let (status, _, body) = post(
        node.url(),
        "/v1/transactions",
        "application/octet-stream",
        single.encode(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["txid"], serde_json::json!(single.id()));
    let (status, _, body) = post(
        node.url(),
        "/v1/transactions",
        "application/octet-stream",
        vec![3, 1, 2],
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("malformed_tx")));

    tracing::info!("--- a batch: two valid, one forged, one undecodable");
    let ok1 = alice.pay_note(&params, 1, &bob.address).expect("builds");
    let ok2 = alice.pay_note(&params, 2, &bob.address).expect("builds");
    let mut forged = alice.pay_note(&params, 3, &bob.address).expect("builds");
    forged.owner_signatures[0] = dfc_core::SigningKey::from_seed(&[9; 32]).sign(&forged.id().0);
    let parts = [ok1.encode(), forged.encode(), vec![0xff; 10], ok2.encode()];
    let before_bad_framing = crate::ledger_rows(&data, &[]);
    for bad in [
        vec![2u8, 1, 0],
        encode_batch(parts.iter().map(Vec::as_slice))[..50].to_vec(),
    ] {
        let (status, _, body) = post(
            node.url(),
            "/v1/transactions/batch",
            "application/octet-stream",
            bad,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("malformed_batch"))
        );
    }
    assert_eq!(
        crate::ledger_rows(&data, &[]),
        before_bad_framing,
        "nothing written"
    );
    let (status, _, body) = post(
        node.url(),
        "/v1/transactions/batch",
        "application/octet-stream",
        encode_batch(parts.iter().map(Vec::as_slice)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: SubmitBatchResponse = serde_json::from_value(body).expect("batch response");
    assert_eq!(answer.outcomes.len(), 4);
    assert!(matches!(&answer.outcomes[0], BatchOutcome::Receipt(r) if r.txid == ok1.id()));
    assert!(matches!(&answer.outcomes[3], BatchOutcome::Receipt(r) if r.txid == ok2.id()));
    match &answer.outcomes[1] {
        BatchOutcome::Error { status, error } => {
            assert_eq!((*status, error.code.as_str()), (400, "bad_owner_signature"));
        }
        other => panic!("forged transfer: {other:?}"),
    }
    match &answer.outcomes[2] {
        BatchOutcome::Error { status, error } => {
            assert_eq!((*status, error.code.as_str()), (400, "malformed_tx"));
        }
        other => panic!("undecodable transfer: {other:?}"),
    }
    assert!(!matches!(
        client.tx_status(&forged.id()).await.expect("status"),
        TxStatus::Committed { .. }
    ));
    assert!(
        matches!(
            client.note_status(&forged.inputs[0]).await.expect("status"),
            NoteStatus {
                spent_height: None,
                ..
            }
        ),
        "the forged transfer's input is still unspent"
    );

    tracing::info!("--- the same batch as JSON: retries answer the same receipts");
    let json = serde_json::json!({ "txs": [ok1, ok2] });
    let (status, _, body) = post(
        node.url(),
        "/v1/transactions/batch",
        "application/json",
        serde_json::to_vec(&json).expect("json"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: SubmitBatchResponse = serde_json::from_value(body).expect("batch response");
    assert!(answer
        .outcomes
        .iter()
        .all(|o| matches!(o, BatchOutcome::Receipt(_))));

    tracing::info!(
        "--- one batch (its state checks on one snapshot): a note spent twice in it and a \
         note already spent; one twin commits, the other two get 409 input_spent"
    );
    let twins = [
        alice.pay_note(&params, 4, &bob.address).expect("builds"),
        alice.pay_note(&params, 4, &bob.address).expect("builds"),
    ];
    let respend = alice.pay_note(&params, 0, &bob.address).expect("builds");
    let before = client.supply().await.expect("supply");
    let parts = [twins[0].encode(), twins[1].encode(), respend.encode()];
    let (status, _, body) = post(
        node.url(),
        "/v1/transactions/batch",
        "application/octet-stream",
        encode_batch(parts.iter().map(Vec::as_slice)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: SubmitBatchResponse = serde_json::from_value(body).expect("batch response");
    let refused = |o: &BatchOutcome| matches!(o, BatchOutcome::Error { status: 409, error } if error.code == "input_spent");
    assert!(refused(&answer.outcomes[2]), "{:?}", answer.outcomes[2]);
    let won: Vec<usize> = (0..2)
        .filter(
            |&i| matches!(&answer.outcomes[i], BatchOutcome::Receipt(r) if r.txid == twins[i].id()),
        )
        .collect();
    assert_eq!(
        won.len(),
        1,
        "exactly one twin commits: {:?}",
        answer.outcomes
    );
    let lost = 1 - won[0];
    assert!(
        refused(&answer.outcomes[lost]),
        "{:?}",
        answer.outcomes[lost]
    );
    for tx in [&twins[lost], &respend] {
        assert!(!matches!(
            client.tx_status(&tx.id()).await.expect("status"),
            TxStatus::Committed { .. }
        ));
    }
    let after = client.supply().await.expect("supply");
    assert_eq!(after.tx_count, before.tx_count + 1, "only the winning twin");
    assert_eq!(after.supply, before.supply, "no value created or destroyed");
    audit_passes(&data);
}

/// With a per-wallet limit of 1 per second (burst 2): forged transfers spending alice's notes are
/// refused for their signature without touching her budget; of eight of her own transfers sent
/// at once, some commit and the rest get 429 `rate_limited` with `Retry-After`, their notes
/// unspent; bob, another wallet from the same address, still pays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_over_its_rate_gets_429_and_forgeries_cannot_spend_its_budget() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let params = init_sandbox(&data);
    let node = Node::start_with(
        &data,
        &["--wallet-rate-limit", "1", "--wallet-rate-burst", "2"],
    );
    let client = node.client();
    let mut alice = TestWallet::new("wrate-alice", &params);
    let mut bob = TestWallet::new("wrate-bob", &params);
    register(&client, &alice).await;
    register(&client, &bob).await;
    issue(&client, &data, &params, &alice, 100, 8).await;
    issue(&client, &data, &params, &bob, 100, 1).await;
    alice.sync(&client).await;
    bob.sync(&client).await;

    tracing::info!("--- 20 forged transfers of alice's notes: refused, not charged to her");
    let mut forged = alice.pay_note(&params, 0, &bob.address).expect("builds");
    forged.owner_signatures[0] = dfc_core::SigningKey::from_seed(&[7; 32]).sign(&forged.id().0);
    for _ in 0..20 {
        let (status, _, body) = post(
            node.url(),
            "/v1/transactions",
            "application/octet-stream",
            forged.encode(),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_owner_signature"))
        );
    }

    tracing::info!("--- eight of alice's transfers at once");
    let txs: Vec<_> = (0..8)
        .map(|i| alice.pay_note(&params, i, &bob.address).expect("builds"))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for tx in &txs {
        let (url, body) = (node.url().to_string(), tx.encode());
        tasks.spawn(async move {
            post(&url, "/v1/transactions", "application/octet-stream", body).await
        });
    }
    let mut answers = Vec::new();
    while let Some(r) = tasks.join_next().await {
        answers.push(r.expect("task"));
    }
    let committed = answers.iter().filter(|(s, _, _)| *s == 200).count();
    let limited: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 429).collect();
    tracing::info!(committed, limited = limited.len(), "alice's burst answered");
    assert!(
        committed >= 1,
        "her budget was not spent by the forgeries: {answers:?}"
    );
    assert!(
        !limited.is_empty(),
        "past her burst she is limited: {answers:?}"
    );
    assert_eq!(committed + limited.len(), 8, "{answers:?}");
    for (_, retry, body) in &limited {
        assert!(*retry, "429 carries Retry-After");
        assert_eq!(body["code"], "rate_limited");
    }
    let mut unspent = 0;
    for tx in &txs {
        let s = client.note_status(&tx.inputs[0]).await.expect("status");
        if s.spent_height.is_none() {
            unspent += 1;
        }
    }
    assert_eq!(
        unspent,
        limited.len(),
        "every limited transfer left its note unspent"
    );

    tracing::info!("--- bob, from the same address, is not limited by alice's rate");
    let tx = bob.pay_note(&params, 0, &alice.address).expect("builds");
    client.submit(&tx).await.expect("bob pays");
    audit_passes(&data);
}
