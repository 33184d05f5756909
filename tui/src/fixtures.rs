//! Fixed data for the snapshot tests: a 2-of-3 network, wallets, proposals and blocks, with
//! deterministic keys and times.

use dfc_core::api::{Proposal, SupplySummary, WalletInfo};
use dfc_core::proposal::ProposalOutput;
use dfc_core::{
    params::default_tiers, Address, Amount, Hash32, Limits, NetworkParams, SigningKey, TxKind,
    WalletKeys,
};

use crate::console::{BlockRow, EvidenceRow, TxRow};
use dfc_central_bank::regulator::DisclosedPayment;
use dfc_core::compliance::{ComplianceParams, RegulatorKey};

/// 2025-11-25 17:00:00 UTC.
pub const T0: u64 = 1_764_090_000_000;

/// An amount in minor units.
pub fn units(u: u64) -> Amount {
    Amount::from_units(u).expect("fixture amounts are small")
}

/// The fixture network.
pub fn params() -> NetworkParams {
    NetworkParams {
        network_id: 7,
        name: "dfc sandbox".into(),
        sandbox: true,
        currency: "DFC".into(),
        decimals: 2,
        issuers: (0u8..3)
            .map(|i| SigningKey::from_seed(&[i + 1; 32]).public())
            .collect(),
        threshold: 2,
        node_key: SigningKey::from_seed(&[9; 32]).public(),
        limits: Limits::default(),
        tiers: default_tiers(),
        turnover_period_days: dfc_core::params::DEFAULT_TURNOVER_PERIOD_DAYS,
        compliance: None,
        auditors: Vec::new(),
        tls_ca: None,
        genesis_hash: dfc_core::Hash32([7; 32]),
    }
}

/// The address of fixture wallet `name`.
pub fn address(name: &str) -> Address {
    WalletKeys::from_seed(format!("fixture {name}").as_bytes()).address(7)
}

/// A registry of four wallets, one frozen, one flagged.
pub fn wallets() -> Vec<WalletInfo> {
    [
        ("alice", 0, false, 0),
        ("bob", 1, false, 0),
        ("carol", 0, true, 0),
        ("dave", 2, false, 2),
    ]
    .iter()
    .enumerate()
    .map(|(i, (name, tier, frozen, flags))| WalletInfo {
        address: address(name),
        label: (*name).to_string(),
        tier: *tier,
        frozen: *frozen,
        flags: *flags,
        registered_ms: T0 + 60_000 * i as u64,
        registry_version: if *frozen { 1 } else { 0 },
        freeze_reason: frozen.then(|| "court order 17/2026".to_string()),
    })
    .collect()
}

/// One output of a fixture proposal to wallet `name` (registered with that label), with its
/// disclosed amount or hidden.
pub fn output(index: usize, name: &str, amount: Option<u64>, frozen: bool) -> ProposalOutput {
    let a = address(name);
    ProposalOutput {
        index,
        owner: a.spend,
        address: Some(a),
        label: Some(name.to_string()),
        frozen,
        amount: amount.map(units),
    }
}

/// Proposals: a pending issuance of 250.00 split 0.01 to alice and 249.99 to dave (what an
/// approver must see before approving), a committed one, a pending redemption by bob.
pub fn proposals() -> Vec<Proposal> {
    vec![
        Proposal {
            txid: Hash32([0xa1; 32]),
            kind: TxKind::Issue,
            amount: units(25_000),
            wallet: Some(address("alice").spend),
            approvals: vec![0],
            threshold: 2,
            created_ms: T0 + 300_000,
            state: "pending".into(),
            proposed_by: Some(0),
            expires_ms: T0 + 300_000 + 86_400_000,
            outputs: vec![
                output(0, "alice", Some(1), false),
                output(1, "dave", Some(24_999), false),
            ],
        },
        Proposal {
            txid: Hash32([0xb2; 32]),
            kind: TxKind::Redeem,
            amount: units(1_250),
            wallet: Some(address("bob").spend),
            approvals: vec![],
            threshold: 2,
            created_ms: T0 + 310_000,
            state: "pending".into(),
            proposed_by: None,
            expires_ms: T0 + 310_000 + 86_400_000,
            outputs: vec![output(0, "bob", None, false)],
        },
        Proposal {
            txid: Hash32([0xc3; 32]),
            kind: TxKind::Issue,
            amount: units(15_000),
            wallet: Some(address("carol").spend),
            approvals: vec![0, 1],
            threshold: 2,
            created_ms: T0 + 120_000,
            state: "committed".into(),
            proposed_by: Some(1),
            expires_ms: T0 + 120_000 + 86_400_000,
            outputs: vec![output(0, "carol", Some(15_000), true)],
        },
    ]
}

/// Blocks 0..=12, one every second from T0 + 288 s, with issues and transfers.
pub fn blocks() -> Vec<BlockRow> {
    (0u64..=12)
        .map(|h| {
            let mut txs = Vec::new();
            if h == 1 {
                txs.push(TxRow {
                    txid: Hash32([0xc3; 32]),
                    kind: TxKind::Issue,
                    size: 1_017,
                    amount: Some(units(15_000)),
                    inputs: 0,
                    outputs: 1,
                });
            }
            if h >= 2 {
                for i in 0..(h % 4 + 1) {
                    let b = u8::try_from(h * 8 + i).unwrap_or(0);
                    txs.push(TxRow {
                        txid: Hash32([b; 32]),
                        kind: TxKind::Transfer,
                        size: 1_541,
                        amount: None,
                        inputs: 1,
                        outputs: 2,
                    });
                }
            }
            BlockRow {
                height: h,
                time_ms: T0 + 288_000 + h * 1000,
                hash: format!("{:02x}", h).repeat(32),
                supply: if h == 0 { Amount::ZERO } else { units(15_000) },
                txs,
            }
        })
        .collect()
}

/// The node's summary matching [`blocks`].
pub fn supply() -> SupplySummary {
    SupplySummary {
        supply: units(15_000),
        notes_outstanding: 19,
        height: 12,
        tip_hash: Hash32([12; 32]),
        invariant_ok: true,
        tx_count: 32,
        halted: false,
        checking_tables: false,
    }
}

/// Two pieces of double-spend evidence against dave (who has two flags).
pub fn evidence() -> Vec<EvidenceRow> {
    (0u8..2)
        .map(|i| EvidenceRow {
            id: Hash32([0xe0 + i; 32]),
            wallet: address("dave").spend,
            serial: 3,
            note: Hash32([0x50 + i; 32]),
            committed: Hash32([0x60 + i; 32]),
            conflicting: Hash32([0x70 + i; 32]),
            recorded_ms: T0 + 250_000 + u64::from(i) * 40_000,
        })
        .collect()
}

/// The fixture regulator's key.
pub fn regulator_key() -> RegulatorKey {
    RegulatorKey::from_seed(&[5; 32])
}

/// [`params`] with compliance rules: disclosure at or above 1,000.00.
pub fn params_with_compliance() -> NetworkParams {
    NetworkParams {
        compliance: Some(ComplianceParams {
            regulator_key: regulator_key().public(),
            reporting_threshold: units(100_000),
        }),
        ..params()
    }
}

/// Three disclosed payments, one to a wallet outside the registry and one the key cannot read.
pub fn disclosed() -> Vec<DisclosedPayment> {
    vec![
        DisclosedPayment {
            height: 5,
            time_ms: T0 + 293_000,
            txid: Hash32([0x28; 32]),
            output: 0,
            recipient: address("bob").spend,
            amount: Some(units(125_000)),
        },
        DisclosedPayment {
            height: 9,
            time_ms: T0 + 297_000,
            txid: Hash32([0x48; 32]),
            output: 1,
            recipient: address("erin").spend,
            amount: Some(units(250_050)),
        },
        DisclosedPayment {
            height: 11,
            time_ms: T0 + 299_000,
            txid: Hash32([0x58; 32]),
            output: 0,
            recipient: address("alice").spend,
            amount: None,
        },
    ]
}

/// A scorecard over the real check table, with fixed outcomes (a sandbox's).
pub fn scorecard() -> dfc_central_bank::assess::Scorecard {
    use dfc_central_bank::assess::{Line, Scorecard, Status, CHECKS};
    let outcome = |id: &str| match id {
        "audit" => (
            Status::Pass,
            "full replay from genesis: height 12, 32 transactions verified",
        ),
        "audit-log-anchor" => (
            Status::Warn,
            "1 audit-log entry after the last anchor (block 12 anchors entry 6)",
        ),
        "transport" => (
            Status::Warn,
            "http://127.0.0.1:7400: plain HTTP on loopback",
        ),
        "sandbox-keys" => (
            Status::Warn,
            "sandbox network: 3 of 3 operator keys beside the ledger, 2 needed to issue",
        ),
        "key-files" => (Status::Warn, "plain hex: node.key, operator-0.key"),
        "wallets" => (Status::Info, "4 wallets: 1 frozen, 0 flagged"),
        _ => (Status::Pass, "ok"),
    };
    let checks: Vec<Line> = CHECKS
        .iter()
        .map(|c| {
            let (status, detail) = outcome(c.id());
            Line {
                id: c.id(),
                title: c.title(),
                threats: c.threats().to_vec(),
                status,
                detail: detail.into(),
            }
        })
        .collect();
    Scorecard {
        target: "sandbox".into(),
        height: 12,
        checks,
        overall: Status::Warn,
    }
}
