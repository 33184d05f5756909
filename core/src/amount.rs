//! Typed money amounts in minor units.
//!
//! Every amount in dfc is a whole number of minor units (cents for a currency with two decimals).
//! Arithmetic is checked and never exceeds [`Amount::MAX_SUPPLY`], so an overflow cannot wrap into
//! new money. Amounts are parsed from and shown as decimal strings, never through floats.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::AmountError;

/// A non-negative amount of money in minor units, at most [`Amount::MAX_SUPPLY`].
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "u64", into = "u64")]
pub struct Amount(u64);

impl Amount {
    /// The largest total supply the protocol allows: 10^17 minor units (a quadrillion units with
    /// two decimals). Far below 2^64, so a sum of the outputs of one transaction cannot overflow.
    pub const MAX_SUPPLY: u64 = 100_000_000_000_000_000;
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// An amount of `units` minor units, refused above [`Amount::MAX_SUPPLY`].
    pub fn from_units(units: u64) -> Result<Self, AmountError> {
        if units > Self::MAX_SUPPLY {
            return Err(AmountError::AboveMaxSupply { units });
        }
        Ok(Amount(units))
    }

    /// The amount in minor units.
    pub fn units(self) -> u64 {
        self.0
    }

    /// `self + other`, refused when the sum exceeds the maximum supply.
    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        let sum = self.0.checked_add(other.0).ok_or(AmountError::Overflow)?;
        Amount::from_units(sum).map_err(|_| AmountError::Overflow)
    }

    /// `self - other`, refused when it would go below zero.
    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_sub(other.0)
            .map(Amount)
            .ok_or(AmountError::Underflow)
    }

    /// Sum of many amounts, refused on overflow.
    pub fn sum<I: IntoIterator<Item = Amount>>(items: I) -> Result<Amount, AmountError> {
        items
            .into_iter()
            .try_fold(Amount::ZERO, |acc, a| acc.checked_add(a))
    }

    /// Parses a decimal string such as `"12.50"` or `"1,000.00"` with at most `decimals`
    /// fractional digits.
    ///
    /// This is the one parser for amounts typed by people (CLIs, terminal apps), so the rule lives
    /// here: the whole part may group its digits by thousands with commas (`1,000`, `12,345,678`),
    /// but only in well-formed groups of three, so text that a reader elsewhere would take for a
    /// decimal comma (`1,00`, `12,5`) is refused rather than guessed at.
    ///
    /// ```
    /// use dfc_core::Amount;
    /// assert_eq!(Amount::parse("12.5", 2).unwrap().units(), 1250);
    /// assert_eq!(Amount::parse("1,000.00", 2).unwrap().units(), 100_000);
    /// assert!(Amount::parse("12.505", 2).is_err());
    /// assert!(Amount::parse("1,00", 2).is_err());
    /// ```
    pub fn parse(text: &str, decimals: u8) -> Result<Amount, AmountError> {
        let text = text.trim();
        let (grouped, frac) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        let whole = ungroup_thousands(grouped).ok_or_else(|| AmountError::Malformed {
            text: text.to_string(),
        })?;
        let whole = whole.as_str();
        let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !digits_ok(whole)
            || !digits_ok(frac)
            || (text.contains('.') && frac.is_empty())
        {
            return Err(AmountError::Malformed {
                text: text.to_string(),
            });
        }
        if frac.len() > usize::from(decimals) {
            return Err(AmountError::TooManyDecimals {
                text: text.to_string(),
                decimals,
            });
        }
        let scale = 10u64
            .checked_pow(u32::from(decimals))
            .ok_or(AmountError::Overflow)?;
        let whole: u64 = whole.parse().map_err(|_| AmountError::Overflow)?;
        let mut frac_units: u64 = 0;
        if !frac.is_empty() {
            frac_units = frac.parse().map_err(|_| AmountError::Overflow)?;
            let pad = u32::from(decimals)
                - u32::try_from(frac.len()).map_err(|_| AmountError::Overflow)?;
            frac_units = frac_units
                .checked_mul(10u64.pow(pad))
                .ok_or(AmountError::Overflow)?;
        }
        let units = whole
            .checked_mul(scale)
            .and_then(|w| w.checked_add(frac_units))
            .ok_or(AmountError::Overflow)?;
        Amount::from_units(units)
    }

    /// Shows the amount with `decimals` fractional digits, e.g. `"12.50"`.
    pub fn display(self, decimals: u8) -> String {
        if decimals == 0 {
            return self.0.to_string();
        }
        let scale = 10u64.pow(u32::from(decimals.min(18)));
        format!(
            "{}.{:0width$}",
            self.0 / scale,
            self.0 % scale,
            width = usize::from(decimals.min(18))
        )
    }
}

/// The whole part of an amount with its thousands separators removed, or `None` when commas are
/// present but do not group the digits in threes after a first group of one to three digits.
fn ungroup_thousands(whole: &str) -> Option<String> {
    if !whole.contains(',') {
        return Some(whole.to_string());
    }
    let mut groups = whole.split(',');
    let first = groups.next()?;
    if first.is_empty() || first.len() > 3 {
        return None;
    }
    let mut out = first.to_string();
    for group in groups {
        if group.len() != 3 {
            return None;
        }
        out.push_str(group);
    }
    Some(out)
}

impl TryFrom<u64> for Amount {
    type Error = AmountError;
    fn try_from(units: u64) -> Result<Self, Self::Error> {
        Amount::from_units(units)
    }
}

impl From<Amount> for u64 {
    fn from(a: Amount) -> u64 {
        a.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} units", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_and_display() {
        assert_eq!(Amount::parse("0.01", 2).map(Amount::units), Ok(1));
        assert_eq!(Amount::parse("100", 2).map(Amount::units), Ok(10_000));
        assert_eq!(
            Amount::from_units(1250).map(|a| a.display(2)),
            Ok("12.50".into())
        );
        assert!(matches!(
            Amount::parse("1.234", 2),
            Err(AmountError::TooManyDecimals { .. })
        ));
        assert!(matches!(
            Amount::parse("-1", 2),
            Err(AmountError::Malformed { .. })
        ));
        assert!(matches!(
            Amount::parse("1.", 2),
            Err(AmountError::Malformed { .. })
        ));
        assert!(matches!(
            Amount::parse("1e5", 2),
            Err(AmountError::Malformed { .. })
        ));
        assert!(matches!(
            Amount::parse("99999999999999999999", 2),
            Err(AmountError::Overflow)
        ));
    }

    #[test]
    fn parse_accepts_thousands_separators() {
        let units = |t: &str| Amount::parse(t, 2).map(Amount::units);
        assert_eq!(units("1,000.00"), Ok(100_000));
        assert_eq!(units("1,000"), Ok(100_000));
        assert_eq!(units("12,345,678.9"), Ok(1_234_567_890));
        assert_eq!(units("999,999"), Ok(99_999_900));
        assert_eq!(units(" 1,000.50 "), Ok(100_050));
        // Ambiguous or misplaced separators are refused, never guessed at.
        for bad in [
            "1,00",
            "12,5",
            "1,0000",
            ",100",
            "1,",
            "1,,000",
            "1000,000",
            "1,000,00",
            "1.000,00",
            "1,000.0,0",
            "1, 000",
        ] {
            assert!(
                matches!(Amount::parse(bad, 2), Err(AmountError::Malformed { .. })),
                "{bad} must be refused"
            );
        }
    }

    #[test]
    fn arithmetic_is_checked() {
        let max = Amount::from_units(Amount::MAX_SUPPLY).expect("max is allowed");
        let one = Amount::from_units(1).expect("one is allowed");
        assert_eq!(max.checked_add(one), Err(AmountError::Overflow));
        assert_eq!(Amount::ZERO.checked_sub(one), Err(AmountError::Underflow));
        assert!(Amount::from_units(Amount::MAX_SUPPLY + 1).is_err());
        assert!(serde_json::from_str::<Amount>("100000000000000001").is_err());
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(units in 0..=Amount::MAX_SUPPLY, decimals in 0u8..=8) {
            let a = Amount::from_units(units).expect("in range");
            prop_assert_eq!(Amount::parse(&a.display(decimals), decimals), Ok(a));
        }
    }
}
