//! Health for monitors and load balancers: `GET /readyz` answers 503 `starting` (with
//! `Retry-After`) while the start-up table check runs and writes wait, then 200 for good, and a
//! payment commits once it is 200; with `--check-tables-first` it is 200 from the first answer.
//! `GET /healthz` says the same in `writes`.

use std::time::{Duration, Instant};

use dfc_tests::{init_sandbox, init_tracing, Node, TestWallet};

use crate::{issue, register};

/// `GET url/readyz`: status, `Retry-After`, body.
async fn ready(url: &str) -> (u16, Option<String>, serde_json::Value) {
    let r = reqwest::get(format!("{url}/readyz")).await.expect("readyz");
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, retry, r.json().await.expect("JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_starting_until_writes_commit_then_200() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let params = init_sandbox(&data);
    {
        // Some rows for the start-up check to read.
        let node = Node::start(&data);
        crate::sixteen_notes_each(&node.client(), &data, &params, &["ready".to_string()]).await;
    }

    tracing::info!("--- a start with the check in the background: starting, then ready");
    let node = Node::start(&data);
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut starting, mut ready_at) = (0, None);
    while ready_at.is_none() {
        let (status, retry, body) = ready(node.url()).await;
        match status {
            503 => {
                assert_eq!(body["code"], "starting", "{body}");
                assert_eq!(retry.as_deref(), Some("1"), "503 carries Retry-After");
                starting += 1;
            }
            200 => ready_at = Some(body),
            other => panic!("/readyz answered {other}: {body}"),
        }
        // A guard against a hang, not a timing assertion.
        assert!(Instant::now() < deadline, "never ready");
    }
    let body = ready_at.expect("ready");
    assert_eq!(body["writes"], "open", "{body}");
    tracing::info!(starting, "answers before ready");
    for _ in 0..5 {
        let (status, _, body) = ready(node.url()).await;
        assert_eq!(status, 200, "ready stays ready: {body}");
    }
    let health: serde_json::Value = reqwest::get(format!("{}/healthz", node.url()))
        .await
        .expect("healthz")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        (health["status"].as_str(), health["writes"].as_str()),
        (Some("ok"), Some("open"))
    );
    let client = node.client();
    let supply = client.supply().await.expect("supply");
    assert!(
        !supply.checking_tables && !supply.halted,
        "the console's source agrees: {supply:?}"
    );
    let w = TestWallet::new("after-ready", &params);
    register(&client, &w).await;
    issue(&client, &data, &params, &w, 100, 1).await;
    drop(node);

    tracing::info!("--- with --check-tables-first the first answer is ready");
    let node = Node::start_with(&data, &["--check-tables-first"]);
    let (status, _, body) = ready(node.url()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["writes"], "open");
}
