//! Network parameters: which network this is, its currency, who may issue, and every limit.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::amount::Amount;
use crate::compliance::ComplianceParams;
use crate::keys::PublicKey;
use crate::note::Hash32;
use crate::operator_key::OperatorKey;
use crate::range::MAX_AGGREGATION;
use crate::transcript::{hash32, PARAMS_DOMAIN};

/// Hard cap on inputs per transaction, whatever the parameters say.
pub const MAX_INPUTS_CAP: usize = 16;
/// Hard cap on outputs per transaction (the range-proof aggregation limit).
pub const MAX_OUTPUTS_CAP: usize = MAX_AGGREGATION;
/// Hard cap on issuer keys.
pub const MAX_ISSUERS_CAP: usize = 32;
/// Hard cap on auditor keys.
pub const MAX_AUDITORS_CAP: usize = 32;
/// Hard cap on the encoded size of a transaction.
pub const MAX_TX_BYTES_CAP: usize = 64 * 1024;

/// Limits on a single transaction.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most inputs per transaction.
    pub max_inputs: usize,
    /// Most outputs per transaction.
    pub max_outputs: usize,
    /// Largest encoded transaction in bytes.
    pub max_tx_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inputs: 16,
            max_outputs: 16,
            max_tx_bytes: 16 * 1024,
        }
    }
}

/// Limits of one KYC tier.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierLimits {
    /// Tier number: 0 is the lightest verification.
    pub tier: u8,
    /// Human name, e.g. "phone only".
    pub name: String,
    /// Largest single payment.
    pub max_payment: Amount,
    /// Largest balance a wallet may hold.
    pub max_balance: Amount,
    /// Largest amount a wallet may hold in its offline purse.
    pub offline_cap: Amount,
    /// Turnover limit: the most a wallet may receive (claim) in one turnover period
    /// ([`NetworkParams::turnover_period_days`]).
    pub max_inflow: Amount,
}

/// Parameters of one network, fixed at genesis and hashed into every block.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkParams {
    /// Network id, bound into every transaction so none can be replayed on another network.
    pub network_id: u32,
    /// Human name of the network.
    pub name: String,
    /// True for a sandbox whose operator keys sit beside the ledger: never for real money.
    pub sandbox: bool,
    /// ISO-4217-style currency code.
    pub currency: String,
    /// Decimals of the currency.
    pub decimals: u8,
    /// Issuer (operator) keys, each with its algorithm ([`OperatorKey`]): k of these must sign
    /// an issuance, a redemption or a parameter change; each signs its operator requests.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub issuers: Vec<OperatorKey>,
    /// The k of k-of-n.
    pub threshold: usize,
    /// The node's block-signing key.
    pub node_key: PublicKey,
    /// Per-transaction limits.
    pub limits: Limits,
    /// Tier limits, by increasing tier.
    pub tiers: Vec<TierLimits>,
    /// Length of the turnover period in days: a wallet's claimed inflow is summed per period of
    /// block time (`time_ms / (days · 86,400,000)`) and bounded by its tier's `max_inflow`.
    pub turnover_period_days: u32,
    /// Disclosure of large payments to a regulator; none on a network without a regulator. Tier
    /// caps, holding and turnover limits are enforced on every network regardless.
    #[serde(default)]
    pub compliance: Option<ComplianceParams>,
    /// Keys that may read what ordinary wallets may not (full blocks, the registry, the audit
    /// log, evidence): auditors, the regulator's read key and replica nodes. Operators (issuer
    /// keys) may always read. Hashed into [`NetworkParams::hash`] only when not empty, so
    /// parameters without auditors keep the hash they had before the field existed.
    /// Each key carries its algorithm ([`OperatorKey`]): an sr25519 key (bare hex, as before
    /// algorithm tags) or an Ed25519 key in a token (`ed25519:HEX`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub auditors: Vec<OperatorKey>,
    /// The node's TLS trust anchor: PEM of the CA certificate that signed the node's certificate,
    /// or of the node's own (self-signed) certificate. Clients that know the parameters trust
    /// this and nothing else for the node (no public web roots). `None` on a network served
    /// over plain HTTP on loopback. Absent from the JSON and from [`NetworkParams::hash`] when
    /// `None`, so parameters made before this field keep their encoding and their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<String>,
    /// Hash of the genesis block. Every transaction binds it (with `network_id`), so no
    /// transaction of one ledger verifies on another, even one with the same network id. It is the
    /// one field not covered by [`NetworkParams::hash`]: the genesis block commits to that hash, so
    /// the genesis hash is fixed after it.
    pub genesis_hash: Hash32,
}

/// Why parameters are unusable.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ParamsError {
    /// Threshold outside `1..=n`.
    #[error("threshold {threshold} must be between 1 and the {issuers} issuer keys")]
    BadThreshold {
        /// k.
        threshold: usize,
        /// n.
        issuers: usize,
    },
    /// Too many issuers.
    #[error("{count} issuer keys is over the limit of {limit}")]
    TooManyIssuers {
        /// Count.
        count: usize,
        /// Limit.
        limit: usize,
    },
    /// An issuer key appears twice.
    #[error("issuer key {index} repeats an earlier key")]
    DuplicateIssuer {
        /// Index.
        index: usize,
    },
    /// A limit is zero or above its hard cap.
    #[error("limit {field} = {value} must be between 1 and {cap}")]
    BadLimit {
        /// Field.
        field: &'static str,
        /// Value.
        value: usize,
        /// Cap.
        cap: usize,
    },
    /// Too many auditor keys.
    #[error("{count} auditor keys is over the limit of {limit}")]
    TooManyAuditors {
        /// Count.
        count: usize,
        /// Limit.
        limit: usize,
    },
    /// An auditor key appears twice.
    #[error("auditor key {index} repeats an earlier key")]
    DuplicateAuditor {
        /// Index.
        index: usize,
    },
    /// Decimals over 8.
    #[error("decimals {0} is over 8")]
    BadDecimals(u8),
    /// Tiers must be numbered 0, 1, 2... in order.
    #[error("tier at position {position} is numbered {tier}")]
    BadTierNumber {
        /// Position.
        position: usize,
        /// Number found.
        tier: u8,
    },
    /// The turnover period must be 1 to 366 days.
    #[error("turnover period of {0} days must be between 1 and 366")]
    BadTurnoverPeriod(u32),
    /// Currency code must be 3 to 8 upper-case letters.
    #[error("currency code '{0}' must be 3 to 8 upper-case letters")]
    BadCurrency(String),
    /// `tls_ca` is not PEM text holding a certificate, or is too large.
    #[error("tls_ca must be PEM text with at least one certificate, at most {limit} bytes")]
    BadTlsCa {
        /// Size limit in bytes.
        limit: usize,
    },
}

/// Largest `tls_ca` accepted: a few certificates of a chain, never a bundle of web roots.
pub const MAX_TLS_CA_BYTES: usize = 16 * 1024;

impl NetworkParams {
    /// Checks internal consistency.
    pub fn validate(&self) -> Result<(), ParamsError> {
        let n = self.issuers.len();
        if n > MAX_ISSUERS_CAP {
            return Err(ParamsError::TooManyIssuers {
                count: n,
                limit: MAX_ISSUERS_CAP,
            });
        }
        if self.threshold == 0 || self.threshold > n {
            return Err(ParamsError::BadThreshold {
                threshold: self.threshold,
                issuers: n,
            });
        }
        for (i, key) in self.issuers.iter().enumerate() {
            if self.issuers[..i].contains(key) {
                return Err(ParamsError::DuplicateIssuer { index: i });
            }
        }
        if self.auditors.len() > MAX_AUDITORS_CAP {
            return Err(ParamsError::TooManyAuditors {
                count: self.auditors.len(),
                limit: MAX_AUDITORS_CAP,
            });
        }
        for (i, key) in self.auditors.iter().enumerate() {
            if self.auditors[..i].contains(key) {
                return Err(ParamsError::DuplicateAuditor { index: i });
            }
        }
        for (field, value, cap) in [
            ("max_inputs", self.limits.max_inputs, MAX_INPUTS_CAP),
            ("max_outputs", self.limits.max_outputs, MAX_OUTPUTS_CAP),
            ("max_tx_bytes", self.limits.max_tx_bytes, MAX_TX_BYTES_CAP),
        ] {
            if value == 0 || value > cap {
                return Err(ParamsError::BadLimit { field, value, cap });
            }
        }
        if self.decimals > 8 {
            return Err(ParamsError::BadDecimals(self.decimals));
        }
        let c = &self.currency;
        if c.len() < 3 || c.len() > 8 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ParamsError::BadCurrency(c.clone()));
        }
        if self.turnover_period_days == 0 || self.turnover_period_days > 366 {
            return Err(ParamsError::BadTurnoverPeriod(self.turnover_period_days));
        }
        if let Some(ca) = &self.tls_ca {
            // Only the shape: core does no X.509; clients parse it when they pin it.
            if ca.len() > MAX_TLS_CA_BYTES || !ca.contains("-----BEGIN CERTIFICATE-----") {
                return Err(ParamsError::BadTlsCa {
                    limit: MAX_TLS_CA_BYTES,
                });
            }
        }
        for (position, t) in self.tiers.iter().enumerate() {
            if usize::from(t.tier) != position {
                return Err(ParamsError::BadTierNumber {
                    position,
                    tier: t.tier,
                });
            }
        }
        Ok(())
    }

    /// The limits of `tier`, if it exists.
    pub fn tier(&self, tier: u8) -> Option<&TierLimits> {
        self.tiers.get(usize::from(tier))
    }

    /// The turnover period a block time falls in.
    pub fn turnover_period(&self, time_ms: u64) -> u64 {
        time_ms / (u64::from(self.turnover_period_days.max(1)) * 86_400_000)
    }

    /// A hash of the parameters, committed into every block header (all fields but
    /// `genesis_hash`).
    pub fn hash(&self) -> Hash32 {
        let json = canonical_fields(self);
        Hash32(hash32(PARAMS_DOMAIN, &[(b"params", json.as_bytes())]))
    }

    /// Formats an amount in this network's currency, e.g. `"12.50 DFC"`.
    pub fn format(&self, amount: Amount) -> String {
        format!("{} {}", amount.display(self.decimals), self.currency)
    }
}

/// The hash input of the parameters: every field in a fixed order, each length-prefixed.
fn canonical_fields(p: &NetworkParams) -> String {
    let mut s = String::new();
    let mut field = |name: &str, value: String| {
        s.push_str(&format!(
            "{}:{}:{}:{};",
            name.len(),
            name,
            value.len(),
            value
        ));
    };
    field("network_id", p.network_id.to_string());
    field("name", p.name.clone());
    field("sandbox", p.sandbox.to_string());
    field("currency", p.currency.clone());
    field("decimals", p.decimals.to_string());
    for key in &p.issuers {
        // An sr25519 key is its bare hex (as before algorithm tags); an Ed25519 key is
        // `ed25519:HEX`, so the two can never hash alike.
        field("issuer", key.to_string());
    }
    field("threshold", p.threshold.to_string());
    field("node_key", hex::encode(p.node_key.to_bytes()));
    field("max_inputs", p.limits.max_inputs.to_string());
    field("max_outputs", p.limits.max_outputs.to_string());
    field("max_tx_bytes", p.limits.max_tx_bytes.to_string());
    for t in &p.tiers {
        field("tier", t.tier.to_string());
        field("tier_name", t.name.clone());
        field("max_payment", t.max_payment.units().to_string());
        field("max_balance", t.max_balance.units().to_string());
        field("offline_cap", t.offline_cap.units().to_string());
        field("max_inflow", t.max_inflow.units().to_string());
    }
    field("turnover_period_days", p.turnover_period_days.to_string());
    if let Some(c) = &p.compliance {
        field("regulator_key", hex::encode(c.regulator_key.to_bytes()));
        field(
            "reporting_threshold",
            c.reporting_threshold.units().to_string(),
        );
    }
    for key in &p.auditors {
        // As for issuers: an sr25519 key hashes as its bare hex, an Ed25519 key as `ed25519:HEX`.
        field("auditor", key.to_string());
    }
    // Last and only when set: parameters without a pin hash as they did before the field.
    if let Some(ca) = &p.tls_ca {
        field("tls_ca", ca.clone());
    }
    s
}

/// The default turnover period: 30 days.
pub const DEFAULT_TURNOVER_PERIOD_DAYS: u32 = 30;

/// The default tier table: phone-only, ID-verified, full KYC (amounts in minor units of a
/// two-decimal currency).
pub fn default_tiers() -> Vec<TierLimits> {
    let a = |units: u64| {
        Amount::from_units(units).expect("default tier amounts are far below the maximum supply")
    };
    vec![
        TierLimits {
            tier: 0,
            name: "phone only".into(),
            max_payment: a(5_000),
            max_balance: a(20_000),
            offline_cap: a(2_000),
            max_inflow: a(100_000),
        },
        TierLimits {
            tier: 1,
            name: "ID verified".into(),
            max_payment: a(100_000),
            max_balance: a(500_000),
            offline_cap: a(10_000),
            max_inflow: a(2_000_000),
        },
        TierLimits {
            tier: 2,
            name: "full KYC".into(),
            max_payment: a(10_000_000),
            max_balance: a(100_000_000),
            offline_cap: a(50_000),
            max_inflow: a(1_000_000_000),
        },
    ]
}
