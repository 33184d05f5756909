//! Wallet addresses: a compact, checksummed, copyable text form of a wallet's public keys.
//!
//! Bech32m (BIP-350) with the human-readable part `dfc`, over the network id and the wallet's
//! spend and view keys. The checksum catches any typo of up to four characters.

use bech32::{Bech32m, Hrp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::keys::PublicKey;

const HRP: &str = "dfc";
const VERSION: u8 = 1;

/// A wallet's address: where payments to it are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    /// The network the address belongs to.
    pub network: u32,
    /// The owner key notes are locked to.
    pub spend: PublicKey,
    /// The key note openings are encrypted to.
    pub view: PublicKey,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut w = Writer::new();
        w.u8(VERSION);
        w.u32(self.network);
        w.bytes(&self.spend.to_bytes());
        w.bytes(&self.view.to_bytes());
        let hrp = Hrp::parse(HRP).map_err(|_| fmt::Error)?;
        let text = bech32::encode::<Bech32m>(hrp, &w.finish()).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

/// The most specific message in an error's chain. `bech32` errors display only their outer
/// layer ("parse failed"), which tells a user nothing; the innermost cause says what is wrong
/// ("invalid checksum", "invalid character").
fn innermost_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

impl FromStr for Address {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text_err = |reason: String| DecodeError::Text {
            field: "address",
            reason,
        };
        // Bech32 allows an all-upper-case form (smaller QR codes); mixed case stays an error.
        let s = s.trim();
        let lowered;
        let s = if s.bytes().any(|b| b.is_ascii_lowercase()) {
            s
        } else {
            lowered = s.to_ascii_lowercase();
            lowered.as_str()
        };
        let checked =
            bech32::primitives::decode::CheckedHrpstring::new::<Bech32m>(s).map_err(|e| {
                text_err(format!(
                    "not valid ({}); check that it was copied in full",
                    innermost_cause(&e)
                ))
            })?;
        if checked.hrp().as_str() != HRP {
            return Err(text_err(format!("prefix must be '{HRP}'")));
        }
        let data: Vec<u8> = checked.byte_iter().collect();
        let mut r = Reader::new(&data);
        let version = r.u8("address version")?;
        if version != VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let network = r.u32("address network")?;
        let spend = PublicKey::from_bytes(&r.array("address spend key")?)?;
        let view = PublicKey::from_bytes(&r.array("address view key")?)?;
        r.finish()?;
        Ok(Address {
            network,
            spend,
            view,
        })
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::WalletKeys;

    #[test]
    fn round_trip_and_typo() {
        let addr = WalletKeys::from_seed(b"seed").address(42);
        let text = addr.to_string();
        assert!(text.starts_with("dfc1"));
        assert_eq!(text.parse::<Address>(), Ok(addr));
        let mut chars: Vec<char> = text.chars().collect();
        let i = chars.len() - 10;
        chars[i] = if chars[i] == 'q' { 'p' } else { 'q' };
        let typo: String = chars.into_iter().collect();
        assert!(matches!(
            typo.parse::<Address>(),
            Err(DecodeError::Text { .. })
        ));
        // The message names the field once and says what is wrong, not bech32's "parse failed".
        for bad in [typo.as_str(), "dfc1qqqq", "hello"] {
            let message = bad
                .parse::<Address>()
                .map(|_| ())
                .expect_err("a bad address is refused")
                .to_string();
            assert!(message.starts_with("address: not valid ("), "{message}");
            assert_eq!(message.matches("address").count(), 1, "{message}");
            assert!(!message.contains("parse failed"), "{message}");
        }
    }
}
