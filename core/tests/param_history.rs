//! The in-memory ledger applies the parameters in force at its height, as the node, the wallet
//! and the audit do: a tier-limit change approved by k of n operators applies from its effective
//! height and not before, and a change without k valid approvals is refused with nothing changed.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use dfc_core::{
    ApprovedChange, BuildError, GovernanceError, IssuerSignature, MemoryLedger, NetworkParams,
    ParamsChange, TxError,
};

/// `params` with tier 0's holding limit set to `max_balance` units.
fn with_tier0_balance(params: &NetworkParams, max_balance: u64) -> NetworkParams {
    let mut p = params.clone();
    p.tiers[0].max_balance = amt(max_balance);
    p
}

/// A change from `base` to `next` at `height`, approved by the operators at `signers`.
fn approve(
    n: &Net,
    base: &NetworkParams,
    next: NetworkParams,
    height: u64,
    signers: &[u8],
) -> ApprovedChange {
    let change = ParamsChange {
        base_hash: base.hash(),
        effective_height: height,
        params: next,
    };
    let digest = change.digest();
    ApprovedChange {
        approvals: signers
            .iter()
            .map(|&i| IssuerSignature {
                index: i,
                signature: n.issuers[usize::from(i)].sign(&digest.0),
            })
            .collect(),
        change,
    }
}

#[test]
fn a_raised_holding_limit_applies_from_its_height_and_not_before() {
    let n = net(41);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    // Tier 0 holds at most 20,000 at genesis.
    l.register(alice.spend.public(), 0);
    l.set_height(1);
    issue(&n, &mut l, &alice, &[15_000], 1);
    issue_pending(&n, &mut l, &alice, &[6_000], 2);

    let raised = with_tier0_balance(&n.params, 30_000);
    l.adopt(approve(&n, &n.params, raised.clone(), 5, &[0, 2]))
        .unwrap();
    assert_eq!(l.history().changes().len(), 1);
    let under_new = Net {
        params: raised.clone(),
        issuers: n.issuers.clone(),
        node: n.node.clone(),
    };

    // Before height 5 the genesis limit holds: the builder refuses under it, and a claim built
    // under the coming limit does not verify against the limit in force.
    l.set_height(4);
    assert_eq!(l.params(), &n.params);
    let parts = claim_parts(&l, &alice);
    let req = parts.request(&alice.spend, &parts.pending);
    assert!(matches!(
        make_claim(&n, &req, 3),
        Err(BuildError::Rule(TxError::OverHoldingLimit {
            would_hold: 21_000,
            limit: 20_000
        }))
    ));
    let early = make_claim(&under_new, &req, 4).unwrap();
    let before = snapshot(&l);
    assert_eq!(l.apply(&early), Err(TxError::BadClaimProof));
    assert_eq!(snapshot(&l), before, "a refused claim changed the ledger");

    // From height 5 the raised limit is in force and the same claim is accepted.
    l.set_height(5);
    assert_eq!(l.params(), &raised);
    l.apply(&early).unwrap();
    assert!(!l.is_pending(&parts.pending[0].0));
    l.audit().unwrap();
}

#[test]
fn a_change_without_k_valid_approvals_changes_nothing() {
    let n = net(42);
    let mut l = MemoryLedger::new(n.params.clone());
    let lowered = with_tier0_balance(&n.params, 10_000);

    // One operator alone.
    assert!(matches!(
        l.adopt(approve(&n, &n.params, lowered.clone(), 3, &[1])),
        Err(GovernanceError::TooFewApprovals {
            got: 1,
            threshold: 2
        })
    ));
    // One operator signing twice.
    assert!(matches!(
        l.adopt(approve(&n, &n.params, lowered.clone(), 3, &[1, 1])),
        Err(GovernanceError::DuplicateApproval(1))
    ));
    // A second approval whose signature is one operator's under another's index.
    let mut borrowed = approve(&n, &n.params, lowered.clone(), 3, &[1]);
    borrowed.approvals.push(IssuerSignature {
        index: 0,
        signature: borrowed.approvals[0].signature,
    });
    assert!(matches!(
        l.adopt(borrowed),
        Err(GovernanceError::BadApproval(0))
    ));
    // k approvals of a change built on other parameters than those in force.
    let other = with_tier0_balance(&n.params, 25_000);
    assert!(matches!(
        l.adopt(approve(&n, &other, lowered, 3, &[0, 1])),
        Err(GovernanceError::StaleBase { .. })
    ));

    assert!(l.history().changes().is_empty());
    for height in [0, 3, 1_000] {
        l.set_height(height);
        assert_eq!(l.params(), &n.params);
    }
}
