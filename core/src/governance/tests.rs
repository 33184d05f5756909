//! How one operator, a removed operator or an on-path party could walk around k of n, each
//! refused.

use super::*;
use crate::amount::Amount;
use crate::test_fixtures::key;

fn genesis() -> NetworkParams {
    crate::test_fixtures::genesis("gov")
}

fn raise_tier0(base: &NetworkParams, height: u64) -> ParamsChange {
    let mut p = base.clone();
    p.tiers[0].max_balance = Amount::from_units(40_000).expect("small");
    ParamsChange {
        base_hash: base.hash(),
        effective_height: height,
        params: p,
    }
}

fn approve(change: &ParamsChange, signers: &[u8]) -> ApprovedChange {
    ApprovedChange {
        change: change.clone(),
        approvals: signers
            .iter()
            .map(|&i| IssuerSignature {
                index: i,
                signature: key(i + 1).sign(&change.digest().0),
            })
            .collect(),
    }
}

#[test]
fn k_approvals_change_the_rules_from_their_height() {
    let g = genesis();
    let mut h = ParamsHistory::new(g.clone());
    let c = raise_tier0(&g, 5);
    h.push(approve(&c, &[0, 2])).expect("two of three");
    assert_eq!(h.at(4), &g);
    assert_eq!(h.at(5), &c.params);
    assert_eq!(h.at(u64::MAX), &c.params);
    assert_eq!(h.next_change_after(0), Some(5));
    assert_eq!(h.next_change_after(5), None);
    let json = serde_json::to_string(&h).expect("encodes");
    let back: ParamsHistory = serde_json::from_str(&json).expect("decodes");
    assert_eq!(back, h);
}

#[test]
fn one_operator_alone_changes_nothing() {
    let g = genesis();
    let mut h = ParamsHistory::new(g.clone());
    let c = raise_tier0(&g, 5);
    let e = h.push(approve(&c, &[1])).expect_err("one of three");
    assert_eq!(e.code(), "too_few_approvals");
    // The same key twice does not make two.
    let mut twice = approve(&c, &[1]);
    twice.approvals.push(twice.approvals[0]);
    assert_eq!(
        h.push(twice).expect_err("twice").code(),
        "duplicate_approval"
    );
    // Nor does one key's signature under another operator's index.
    let mut borrowed = approve(&c, &[1]);
    borrowed.approvals.push(IssuerSignature {
        index: 0,
        signature: borrowed.approvals[0].signature,
    });
    assert_eq!(
        h.push(borrowed).expect_err("borrowed").code(),
        "bad_approval"
    );
    assert_eq!(h.changes().len(), 0, "refusals change nothing");
    assert_eq!(h.latest(), &g);
}

#[test]
fn approvals_do_not_replay_across_networks_changes_or_states() {
    let g = genesis();
    let c = raise_tier0(&g, 5);
    let a = approve(&c, &[0, 1]);
    // Another ledger with the same keys: other genesis hash.
    let mut other = g.clone();
    other.genesis_hash = Hash32([5; 32]);
    let mut oc = raise_tier0(&other, 5);
    oc.base_hash = other.hash();
    let replay = ApprovedChange {
        change: oc,
        approvals: a.approvals.clone(),
    };
    let e = ParamsHistory::new(other)
        .push(replay)
        .expect_err("other ledger");
    assert_eq!(e.code(), "bad_approval");
    // Another change (a different tier value) with the same approvals.
    let mut bigger = c.clone();
    bigger.params.tiers[0].max_balance = Amount::from_units(90_000).expect("small");
    let swapped = ApprovedChange {
        change: bigger,
        approvals: a.approvals.clone(),
    };
    assert_eq!(
        ParamsHistory::new(g.clone())
            .push(swapped)
            .expect_err("other change")
            .code(),
        "bad_approval"
    );
    // The same change moved to another height.
    let mut later = c.clone();
    later.effective_height = 50;
    let moved = ApprovedChange {
        change: later,
        approvals: a.approvals.clone(),
    };
    assert_eq!(
        ParamsHistory::new(g.clone())
            .push(moved)
            .expect_err("other height")
            .code(),
        "bad_approval"
    );
    // Replayed after it applied: its base is no longer in force.
    let mut h = ParamsHistory::new(g);
    h.push(a.clone()).expect("applies once");
    let mut again = a;
    again.change.effective_height = 9;
    assert_eq!(h.push(again).expect_err("stale").code(), "stale_base");
}

#[test]
fn removed_and_rotated_keys_approve_nothing() {
    let g = genesis();
    let mut h = ParamsHistory::new(g.clone());
    // Rotate operator 2 (key 3) to key 7 and drop the threshold to... no: keep 2 of 3.
    let mut rotated = g.clone();
    rotated.issuers[2] = key(7).public().into();
    let c = ParamsChange {
        base_hash: g.hash(),
        effective_height: 3,
        params: rotated.clone(),
    };
    h.push(approve(&c, &[0, 1])).expect("rotation approved");
    // The old key 3 and operator 0 try a change: key 3 no longer verifies as operator 2.
    let next = raise_tier0(&rotated, 8);
    let old = ApprovedChange {
        change: next.clone(),
        approvals: vec![
            IssuerSignature {
                index: 0,
                signature: key(1).sign(&next.digest().0),
            },
            IssuerSignature {
                index: 2,
                signature: key(3).sign(&next.digest().0),
            },
        ],
    };
    assert_eq!(h.push(old).expect_err("rotated out").code(), "bad_approval");
    // Remove operator 2 entirely (n = 2, k = 2): index 2 is unknown afterwards.
    let mut removed = rotated.clone();
    removed.issuers.pop();
    let rm = ParamsChange {
        base_hash: rotated.hash(),
        effective_height: 6,
        params: removed.clone(),
    };
    let rm_approved = ApprovedChange {
        change: rm.clone(),
        approvals: vec![
            IssuerSignature {
                index: 0,
                signature: key(1).sign(&rm.digest().0),
            },
            IssuerSignature {
                index: 2,
                signature: key(7).sign(&rm.digest().0),
            },
        ],
    };
    h.push(rm_approved)
        .expect("removal approved by the new key");
    let after = raise_tier0(&removed, 9);
    let by_removed = ApprovedChange {
        change: after.clone(),
        approvals: vec![
            IssuerSignature {
                index: 0,
                signature: key(1).sign(&after.digest().0),
            },
            IssuerSignature {
                index: 2,
                signature: key(7).sign(&after.digest().0),
            },
        ],
    };
    assert_eq!(
        h.push(by_removed).expect_err("removed").code(),
        "unknown_operator"
    );
    assert_eq!(h.latest(), &removed);
}

#[test]
fn fixed_fields_and_orderly_heights() {
    let g = genesis();
    let mut c = raise_tier0(&g, 5);
    c.params.currency = "EUR".into();
    assert_eq!(
        c.check_against(&g).expect_err("currency").code(),
        "immutable_param"
    );
    let mut c = raise_tier0(&g, 5);
    c.params.limits.max_inputs = 2;
    assert_eq!(
        c.check_against(&g).expect_err("limits").code(),
        "immutable_param"
    );
    let mut c = raise_tier0(&g, 5);
    c.params.tiers.pop();
    assert_eq!(
        c.check_against(&g).expect_err("tiers").code(),
        "tier_removed"
    );
    let mut c = raise_tier0(&g, 5);
    c.params.threshold = 4;
    assert_eq!(c.check_against(&g).expect_err("k > n").code(), "bad_params");
    let same = ParamsChange {
        base_hash: g.hash(),
        effective_height: 5,
        params: g.clone(),
    };
    assert_eq!(
        same.check_against(&g).expect_err("same").code(),
        "no_change"
    );
    assert_eq!(
        raise_tier0(&g, 0)
            .check_against(&g)
            .expect_err("genesis")
            .code(),
        "bad_effective_height"
    );
    let mut h = ParamsHistory::new(g.clone());
    let first = raise_tier0(&g, 5);
    h.push(approve(&first, &[0, 1])).expect("first");
    let mut second = first.params.clone();
    second.turnover_period_days = 7;
    let early = ParamsChange {
        base_hash: first.params.hash(),
        effective_height: 5,
        params: second,
    };
    assert_eq!(
        h.push(approve(&early, &[0, 1]))
            .expect_err("same height")
            .code(),
        "bad_effective_height"
    );
}

#[test]
fn a_forged_history_does_not_decode() {
    let g = genesis();
    let c = raise_tier0(&g, 5);
    let forged = serde_json::json!({
        "genesis": g,
        "changes": [approve(&c, &[0])],
    });
    let e = serde_json::from_value::<ParamsHistory>(forged).expect_err("one approval");
    assert!(e.to_string().contains("approvals"), "{e}");
}

#[test]
fn the_diff_names_every_changed_field() {
    let g = genesis();
    let mut after = raise_tier0(&g, 5).params;
    after.issuers[1] = key(8).public().into();
    let d = diff(&g, &after);
    let fields: Vec<&str> = d.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["issuers[1]", "tiers[0].max_balance"]);
    assert_eq!(d[1].before, "200.00 DFC");
    assert_eq!(d[1].after, "400.00 DFC");
    assert!(diff(&g, &g).is_empty());
}
