//! Checks of the keys: sandbox and well-known keys, key files at rest, key ages.

use std::collections::BTreeMap;

use dfc_core::{NetworkParams, OperatorKey, SigningKey};

use super::threats::*;
use super::{Check, Facts, Outcome, Status, Threat};

/// Seeds of one repeated byte (`[b; 32]`): what tests and examples use, so anyone can derive
/// them. A network key derived from one is public, whatever its algorithm.
fn well_known(key: &OperatorKey) -> Option<u8> {
    (0..=u8::MAX).find(|b| match key {
        OperatorKey::Sr25519(key) => {
            SigningKey::from_seed(&[*b; 32]).public() == *key
                || dfc_core::compliance::RegulatorKey::from_seed(&[*b; 32]).public() == *key
        }
        OperatorKey::Ed25519(key) => {
            ed25519_dalek::SigningKey::from_bytes(&[*b; 32])
                .verifying_key()
                .to_bytes()
                == key.to_bytes()
        }
    })
}

/// The keys of `p` with their role.
fn network_keys(p: &NetworkParams) -> Vec<(String, OperatorKey)> {
    let mut keys: Vec<(String, OperatorKey)> = p
        .issuers
        .iter()
        .enumerate()
        .map(|(i, k)| (format!("operator {i}"), *k))
        .collect();
    keys.push(("node".into(), p.node_key.into()));
    if let Some(c) = &p.compliance {
        keys.push(("regulator".into(), c.regulator_key.into()));
    }
    keys
}

/// A sandbox (operator keys kept beside the ledger by `dfc-bank init` without
/// `--operator-keys-dir`), operator keys found beside the ledger, or keys anyone can derive.
pub struct SandboxKeys;

impl Check for SandboxKeys {
    fn id(&self) -> &'static str {
        "sandbox-keys"
    }
    fn title(&self) -> &'static str {
        "no sandbox or well-known keys"
    }
    fn threats(&self) -> &'static [Threat] {
        &[ISSUANCE_WITHOUT_K, KEY_THEFT]
    }
    fn run(&self, f: &Facts) -> Outcome {
        let p = f.history.at(f.tip.height);
        let known: Vec<String> = network_keys(p)
            .into_iter()
            .filter_map(|(role, k)| well_known(&k).map(|b| format!("{role} (seed {b:#04x}…)")))
            .collect();
        if !known.is_empty() {
            return Outcome::new(
                Status::Fail,
                format!("well-known keys in force: {}", known.join(", ")),
            );
        }
        let beside_files: Vec<&super::facts::KeyFile> = f
            .key_files
            .iter()
            .filter(|kf| {
                f.data_dir
                    .as_deref()
                    .is_some_and(|d| kf.path.parent() == Some(d))
                    && kf.publics.iter().any(|k| p.issuers.iter().any(|i| i == k))
            })
            .collect();
        let beside: Vec<&std::path::Path> =
            beside_files.iter().map(|kf| kf.path.as_path()).collect();
        // Encrypted operator keys still put the passphrase alone between whoever reads the
        // directory and the key: a warning, never a pass; plain ones give the key away.
        let plain_beside = beside_files.iter().filter(|kf| !kf.encrypted).count();
        let sandbox = p.sandbox || f.history.genesis().sandbox;
        if sandbox {
            return Outcome::new(
                Status::Warn,
                format!(
                    "sandbox network ({}): {} of {} operator keys beside the ledger, {} needed to issue",
                    p.name,
                    beside.len(),
                    p.issuers.len(),
                    p.threshold
                ),
            );
        }
        if plain_beside >= p.threshold {
            return Outcome::new(
                Status::Fail,
                format!(
                    "{plain_beside} operator keys beside the ledger in plain hex, {} needed to issue: whoever reads the data directory can issue",
                    p.threshold
                ),
            );
        }
        if !beside.is_empty() {
            let encrypted = beside.len() - plain_beside;
            return Outcome::new(
                Status::Warn,
                format!(
                    "{} operator key(s) beside the ledger ({}), {encrypted} of them encrypted: keep operator keys off the node's machine",
                    beside.len(),
                    beside
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        Outcome::new(
            Status::Pass,
            "not a sandbox; no operator key beside the ledger; no well-known key",
        )
    }
}

/// Key files at rest: a secret in plain hex (or readable by other users) is a warning; any
/// other format (an encrypted key file) passes.
pub struct KeyFiles;

impl Check for KeyFiles {
    fn id(&self) -> &'static str {
        "key-files"
    }
    fn title(&self) -> &'static str {
        "key files protected at rest"
    }
    fn threats(&self) -> &'static [Threat] {
        &[KEY_THEFT]
    }
    fn run(&self, f: &Facts) -> Outcome {
        if f.key_files.is_empty() {
            return Outcome::new(
                Status::Skip,
                "no key files to inspect (give --data or --keys DIR)",
            );
        }
        let name = |p: &std::path::Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let open: Vec<String> = f
            .key_files
            .iter()
            .filter(|k| k.mode.is_some_and(|m| m & 0o077 != 0))
            .map(|k| name(&k.path))
            .collect();
        let plain: Vec<String> = f
            .key_files
            .iter()
            .filter(|k| k.plain_hex)
            .map(|k| name(&k.path))
            .collect();
        let mut problems = Vec::new();
        if !plain.is_empty() {
            problems.push(format!("plain hex: {}", plain.join(", ")));
        }
        if !open.is_empty() {
            problems.push(format!("readable by other users: {}", open.join(", ")));
        }
        if problems.is_empty() {
            Outcome::new(
                Status::Pass,
                format!("{} key file(s), none in plain hex", f.key_files.len()),
            )
        } else {
            Outcome::new(Status::Warn, problems.join("; "))
        }
    }
}

/// Keys in force unchanged for longer than the stated period (from the parameter history: the
/// height each key took effect at, and that block's time).
pub struct KeyAges;

/// Since which effect height each key of the parameters in force at the tip has been in force.
pub fn key_since(f: &Facts) -> BTreeMap<String, (OperatorKey, u64)> {
    let mut since: BTreeMap<String, (OperatorKey, u64)> = BTreeMap::new();
    for h in f.effect_heights() {
        for (role, k) in network_keys(f.history.at(h)) {
            match since.get(&role) {
                Some((old, _)) if *old == k => {}
                _ => {
                    since.insert(role, (k, h));
                }
            }
        }
    }
    let now: Vec<String> = network_keys(f.history.at(f.tip.height))
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    since.retain(|r, _| now.contains(r));
    since
}

const DAY_MS: u64 = 86_400_000;

impl Check for KeyAges {
    fn id(&self) -> &'static str {
        "key-ages"
    }
    fn title(&self) -> &'static str {
        "keys rotated within the stated period"
    }
    fn threats(&self) -> &'static [Threat] {
        &[KEY_THEFT, STALE_KEY]
    }
    fn run(&self, f: &Facts) -> Outcome {
        let mut old = Vec::new();
        let mut oldest = 0u64;
        for (role, (_, h)) in key_since(f) {
            let Some(t) = f.block_times.get(&h) else {
                continue;
            };
            let age = f.tip.time_ms.saturating_sub(*t);
            oldest = oldest.max(age);
            if age > f.max_key_age_ms {
                old.push(format!("{role} ({} days, since block {h})", age / DAY_MS));
            }
        }
        let limit = f.max_key_age_ms / DAY_MS;
        if old.is_empty() {
            Outcome::new(
                Status::Pass,
                format!(
                    "oldest key in force: {} days (limit {limit} days)",
                    oldest / DAY_MS
                ),
            )
        } else {
            Outcome::new(
                Status::Warn,
                format!("unchanged for more than {limit} days: {}", old.join(", ")),
            )
        }
    }
}
