//! Fixtures shared by core's unit tests.

use crate::keys::SigningKey;
use crate::note::Hash32;
use crate::params::{default_tiers, Limits, NetworkParams};

/// The test key derived from the seed `[i; 32]`.
pub(crate) fn key(i: u8) -> SigningKey {
    SigningKey::from_seed(&[i; 32])
}

/// Genesis parameters of a sandbox network 9 named `name`: operators `key(1..=3)`, two of three
/// to approve, node key `key(9)`, default limits and tiers, genesis hash `[4; 32]`.
pub(crate) fn genesis(name: &str) -> NetworkParams {
    NetworkParams {
        network_id: 9,
        name: name.into(),
        sandbox: true,
        currency: "DFC".into(),
        decimals: 2,
        issuers: vec![
            key(1).public().into(),
            key(2).public().into(),
            key(3).public().into(),
        ],
        threshold: 2,
        node_key: key(9).public(),
        limits: Limits::default(),
        tiers: default_tiers(),
        turnover_period_days: 30,
        compliance: None,
        auditors: Vec::new(),
        tls_ca: None,
        genesis_hash: Hash32([4; 32]),
    }
}
