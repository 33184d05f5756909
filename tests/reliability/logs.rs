//! The node's log for operators: `DFC_LOG_FORMAT=json` gives one JSON object per line (for log
//! shippers), with each event's fields; without it, text without terminal colour codes when the
//! log goes to a file.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use dfc_tests::{bin_path, init_sandbox, init_tracing, Node};

#[test]
fn json_logs_carry_every_event_with_its_fields() {
    init_tracing();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    init_sandbox(&data);
    let log_path = tmp.path().join("node.jsonl");
    let mut child = Command::new(bin_path("dfc-bank"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("DFC_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .spawn()
        .expect("dfc-bank serve starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Keeps draining stdout so the node never writes to a closed pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("listening on ") {
                let _ = tx.send(());
            }
        }
    });
    // A guard against a hung start, not a timing assertion.
    rx.recv_timeout(std::time::Duration::from_secs(120))
        .expect("the node announced its address");
    // Stopped as a service manager stops it, as soon as it announced its address (the signal is
    // listened for from before): the stop is logged too.
    let mut node = Node::adopt(child, &data, &log_path);
    let status = node.terminate().expect("running");
    assert!(status.success(), "{status:?}");

    let text = std::fs::read_to_string(&log_path).expect("log");
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let find = |message: &str| {
        events
            .iter()
            .find(|e| e["fields"]["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} event in {text}"))
    };
    let verified = find("ledger verified");
    assert_eq!(verified["level"], "INFO");
    assert_eq!(verified["fields"]["height"], 0, "{verified}");
    assert!(verified["timestamp"].is_string() && verified["target"].is_string());
    assert_eq!(find("shutting down")["fields"]["signal"], "SIGTERM");
}
