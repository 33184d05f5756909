//! Hostile API input against the real node: every bad request gets a clear 4xx with a JSON error
//! code, and the ledger file is row-for-row the same before and after. Slow clients are timed out
//! without blocking anyone else.

use std::time::Duration;

use dfc_core::api::{ApiError, OperatorAction, OperatorRequest};
use dfc_core::Hash32;
use dfc_tests::{init_sandbox, init_tracing, sandbox_operator, Node, TestWallet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{code, issue, ledger_rows, register};

async fn expect_error(resp: reqwest::Response, status: u16, want: &str, what: &str) {
    assert_eq!(resp.status().as_u16(), status, "{what}");
    let err: ApiError = resp
        .json()
        .await
        .unwrap_or_else(|e| panic!("{what}: not an ApiError: {e}"));
    assert_eq!(err.code, want, "{what}: {}", err.message);
    assert!(!err.message.is_empty(), "{what}: a message for humans");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_requests_get_4xx_and_change_nothing() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let params = init_sandbox(&data);
    let node = Node::start(&data);
    let client = node.client();
    let url = node.url().to_string();
    let mut alice = TestWallet::new("hostile-alice", &params);
    let bob = TestWallet::new("hostile-bob", &params);
    register(&client, &alice).await;
    register(&client, &bob).await;
    issue(&client, &data, &params, &alice, 100, 4).await;
    alice.sync(&client).await;
    let op0 = sandbox_operator(&data, &params, 0);
    let op1 = sandbox_operator(&data, &params, 1);
    let before = ledger_rows(&data, &[]);
    let http = reqwest::Client::new();
    // Blocks, the registry and the audit log need a reader's credential (here the sandbox
    // auditor's): the hostile input below is then refused for what it is, not for lack of one.
    let auditor =
        dfc_central_bank::datadir::read_key(&dfc_central_bank::datadir::auditor_key_path(&data, 0))
            .expect("sandbox auditor key");
    let signed_get = |path: &str| {
        let auth = dfc_core::light::ReadAuth::sign(
            &params,
            path,
            &auditor,
            dfc_central_bank::datadir::now_ms(),
            Hash32(rand::random()),
        );
        http.get(format!("{url}{path}"))
            .header(dfc_core::light::READ_AUTH_HEADER, auth.to_header())
            .send()
    };
    let post = |path: &str, body: String| {
        http.post(format!("{url}{path}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    tracing::info!("--- oversized, malformed and mistyped bodies");
    // Just over the 64 KiB limit: small enough that the client has written it all before the node
    // answers 413 and closes, so the answer is read rather than lost to a reset connection.
    let huge = format!("{{\"tx\": \"{}\"}}", "00".repeat(40_000));
    for path in ["/v1/transactions", "/v1/operator", "/v1/wallets"] {
        let resp = post(path, huge.clone()).await.expect("sent");
        // The unread rest of the body makes the connection unusable: the node closes it, so the
        // client's pool does not send the next request down it.
        assert_eq!(
            resp.headers()
                .get("connection")
                .and_then(|v| v.to_str().ok()),
            Some("close"),
            "{path}: a 413 closes its connection"
        );
        expect_error(resp, 413, "body_too_large", path).await;
    }
    for (body, what) in [
        ("{", "truncated JSON"),
        ("[]", "an array"),
        ("{\"tx\": 5}", "a number for the transaction"),
        ("{\"tx\": \"zz\"}", "non-hex"),
        ("{\"tx\": \"01\"}", "a truncated transaction"),
        ("{\"tx\": null}", "null"),
        ("\"\\ud800\"", "a lone surrogate"),
    ] {
        let resp = post("/v1/transactions", body.to_string())
            .await
            .expect("sent");
        expect_error(resp, 400, "malformed_json", what).await;
    }
    let resp = post(
        "/v1/operator",
        "{\"operator\": \"zero\", \"time_ms\": -1}".into(),
    )
    .await
    .expect("sent");
    expect_error(resp, 400, "malformed_json", "wrong operator types").await;
    let resp = http
        .post(format!("{url}/v1/transactions"))
        .body("{\"tx\": \"00\"}")
        .send()
        .await
        .expect("sent");
    expect_error(resp, 415, "unsupported_media_type", "no content type").await;
    let resp = http
        .delete(format!("{url}/v1/transactions"))
        .send()
        .await
        .expect("sent");
    expect_error(resp, 405, "method_not_allowed", "DELETE").await;
    let resp = http
        .get(format!("{url}/v1/no-such-thing"))
        .send()
        .await
        .expect("sent");
    expect_error(resp, 404, "not_found", "unknown route").await;

    tracing::info!("--- huge counts and bad ids");
    let resp = signed_get("/v1/blocks?from=0&limit=1000000000000")
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    let page: dfc_core::api::BlocksResponse = resp.json().await.expect("blocks");
    assert!(page.blocks.len() <= dfc_central_bank::server::MAX_BLOCKS_PER_PAGE);
    let resp = signed_get("/v1/blocks?from=18446744073709551615&limit=10")
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    let page: dfc_core::api::BlocksResponse = resp.json().await.expect("blocks");
    assert!(page.blocks.is_empty());
    let resp = signed_get("/v1/audit-log?from=18446744073709551615")
        .await
        .expect("sent");
    assert_eq!(
        resp.status(),
        200,
        "an audit-log page past the end is empty"
    );
    for q in [
        "/v1/blocks?from=-1",
        "/v1/blocks?limit=99999999999999999999999",
        "/v1/blocks?limit=ten",
        "/v1/audit-log?from=x",
    ] {
        let resp = signed_get(q).await.expect("sent");
        expect_error(resp, 400, "bad_query", q).await;
    }
    for q in ["/v1/transactions/zz", "/v1/notes/00", "/v1/wallets/ff"] {
        let resp = signed_get(q).await.expect("sent");
        expect_error(resp, 400, "malformed_id", q).await;
    }
    // 64 hex digits that are no valid key name no wallet: not found, as the OpenAPI document
    // promises for a schema-valid key.
    let q = format!("/v1/wallets/{}", "ff".repeat(32));
    let resp = signed_get(&q).await.expect("sent");
    expect_error(resp, 404, "unknown_wallet", &q).await;
    let ids = vec![Hash32([7; 32]); 1_000_000];
    let body = serde_json::json!({ "notes": ids }).to_string();
    match post("/v1/checkpoint/proofs", body).await {
        Ok(resp) => expect_error(resp, 413, "body_too_large", "10^6 proof ids").await,
        // The node may answer 413 and close before the 66 MB are sent: the client then sees
        // the connection cut mid-body, which is the refusal too.
        Err(e) => assert!(e.is_request() || e.is_body(), "10^6 proof ids: {e}"),
    }
    client
        .supply()
        .await
        .expect("still serving after a huge body");
    let body = serde_json::json!({ "notes": vec![Hash32([7; 32]); 900] }).to_string();
    let resp = post("/v1/checkpoint/proofs", body).await.expect("sent");
    assert!(resp.status().is_client_error(), "900 unknown notes");
    let _: ApiError = resp.json().await.expect("ApiError");

    tracing::info!("--- unsigned, wrongly signed, unknown and replayed operator requests");
    let txid = Hash32([9; 32]);
    let mut unsigned = op0.approve(&params, &txid);
    unsigned.signature = dfc_core::SigningKey::from_seed(&[1; 32]).sign(&[0u8; 32]);
    assert_eq!(code(client.operator(&unsigned).await), "bad_signature");
    let mut wrong_key: OperatorRequest = op1.approve(&params, &txid);
    wrong_key.operator = 0;
    assert_eq!(code(client.operator(&wrong_key).await), "bad_signature");
    let mut unknown = op0.approve(&params, &txid);
    unknown.operator = 9;
    assert_eq!(code(client.operator(&unknown).await), "unknown_operator");
    let mut stale = op0.approve(&params, &txid);
    stale.time_ms = 1;
    assert_eq!(
        code(client.operator(&stale).await),
        "bad_signature",
        "an altered time breaks the signature"
    );
    let frozen_req = op0.request(
        &params,
        OperatorAction::Freeze {
            wallet: alice.address.spend,
            reason: "x".into(),
            registry_version: 0,
        },
    );
    let mut tampered = frozen_req.clone();
    tampered.action = OperatorAction::Freeze {
        wallet: bob.address.spend,
        reason: "x".into(),
        registry_version: 0,
    };
    assert_eq!(code(client.operator(&tampered).await), "bad_signature");
    assert_eq!(
        code(client.operator(&op0.approve(&params, &txid)).await),
        "unknown_proposal"
    );

    tracing::info!("--- transactions that must not commit");
    let good = alice.pay_note(&params, 0, &bob.address).expect("builds");
    let mut forged = good.clone();
    forged.owner_signatures[0] = dfc_core::SigningKey::from_seed(&[5; 32]).sign(&good.id().0);
    assert_eq!(code(client.submit(&forged).await), "bad_owner_signature");
    let mut unknown_input = good.clone();
    unknown_input.inputs[0] = Hash32([3; 32]);
    assert_eq!(code(client.submit(&unknown_input).await), "unknown_input");
    let mut overspend = good.clone();
    overspend.balance_proof = alice
        .pay_note(&params, 1, &bob.address)
        .expect("builds")
        .balance_proof;
    assert_eq!(code(client.submit(&overspend).await), "unbalanced");

    tracing::info!("--- nothing changed anywhere in the ledger file");
    assert_eq!(
        ledger_rows(&data, &[]),
        before,
        "a rejected request changed the ledger"
    );

    tracing::info!("--- an operator approving twice counts once; a frozen wallet cannot pay");
    let issue_built = dfc_core::build(
        &params,
        dfc_core::TxKind::Issue,
        dfc_core::Amount::from_units(7).expect("small"),
        &[],
        &[dfc_core::Payment {
            to: bob.address,
            amount: dfc_core::Amount::from_units(7).expect("small"),
            memo: Vec::new(),
        }],
        &mut rand::rngs::OsRng,
    )
    .expect("builds");
    let issue_tx = issue_built.tx.clone();
    client
        .operator(&op0.request(
            &params,
            OperatorAction::Propose {
                tx: issue_tx.clone(),
                approval: op0.approval(&issue_tx.id()),
                openings: dfc_core::proposal::disclose(&issue_built.openings),
            },
        ))
        .await
        .expect("propose");
    let supply = client.supply().await.expect("supply");
    // The table digests and signed summary follow every write, the audit log's too.
    let keep = [
        "audit_log",
        "operator_nonces",
        "operator_sequences",
        "ledger_digest",
        "ledger_summary",
    ];
    let mid = ledger_rows(&data, &keep);
    for _ in 0..3 {
        let r = client
            .operator(&op0.approve(&params, &issue_tx.id()))
            .await
            .expect("a repeat approval is answered");
        assert!(r.receipt.is_none());
        assert_eq!(r.proposal.expect("proposal").approvals, vec![0]);
    }
    assert_eq!(client.supply().await.expect("supply"), supply);
    assert_eq!(
        ledger_rows(&data, &keep),
        mid,
        "repeat approvals change only the audit log"
    );
    // Signed now: the one signed above is older than op0's approvals since, so its sequence
    // number is stale (the held-back-command check of `hardening.rs`).
    let frozen_req = op0.request(
        &params,
        OperatorAction::Freeze {
            wallet: alice.address.spend,
            reason: "x".into(),
            registry_version: 0,
        },
    );
    client.operator(&frozen_req).await.expect("freeze alice");
    let frozen = ledger_rows(&data, &[]);
    assert_eq!(code(client.submit(&good).await), "frozen_wallet");
    assert_eq!(
        code(client.operator(&frozen_req).await),
        "replayed_nonce",
        "the same signed request twice"
    );
    assert_eq!(ledger_rows(&data, &[]), frozen, "nothing changed");
}

/// A client dribbling its request head one byte at a time is disconnected once the header
/// timeout passes, one dribbling its body gets 408 `timeout`, and other clients are served the
/// whole time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_clients_are_timed_out_without_blocking_others() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    init_sandbox(&data);
    let node = Node::start(&data);
    let addr = node.url().trim_start_matches("http://").to_string();
    let client = node.client();

    let head = {
        let addr = addr.clone();
        tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(&addr)
                .await
                .expect("connect");
            let req = b"GET /v1/supply HTTP/1.1\r\nHost: x\r\n";
            s.write_all(req).await.expect("write");
            // Never finishes the head: one more header byte every 500 ms.
            let mut sent = 0u64;
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if s.write_all(b"X").await.is_err() {
                    return sent;
                }
                sent += 1;
                let mut buf = [0u8; 1];
                if let Ok(Ok(0)) =
                    tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await
                {
                    return sent;
                }
            }
        })
    };
    let body = {
        let addr = addr.clone();
        tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(&addr)
                .await
                .expect("connect");
            let req = b"POST /v1/transactions HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{";
            s.write_all(req).await.expect("write");
            let dribble = async {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if s.write_all(b" ").await.is_err() {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(40), dribble).await;
            let mut out = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
            String::from_utf8_lossy(&out).into_owned()
        })
    };
    tracing::info!("--- while both dribble, others are served");
    let mut served = 0;
    while !head.is_finished() {
        client
            .supply()
            .await
            .expect("served while a client dribbles");
        served += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(served < 240, "the dribbling connection was never closed");
    }
    let sent = head.await.expect("task");
    tracing::info!(sent, served, "the dribbling head was cut off");
    assert!(served > 1);
    let answer = body.await.expect("task");
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "a dribbled body gets 408: {answer}"
    );
    assert!(answer.contains("\"timeout\""), "{answer}");
}
