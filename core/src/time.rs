//! Times shown to people: UTC calendar text from the millisecond timestamps the protocol uses.
//!
//! The ledger, certificates and proposals carry times as ms since the Unix epoch; users should
//! never be shown that number. Pure arithmetic (no clock, no time zone database), so every binary
//! shows the same text for the same instant.

/// `YYYY-MM-DD HH:MM:SS UTC` of a time in ms since the Unix epoch.
///
/// ```
/// assert_eq!(dfc_core::time::utc_text(1_796_676_144_300), "2026-12-07 20:42:24 UTC");
/// ```
pub fn utc_text(ms: u64) -> String {
    let secs = ms / 1000;
    let (y, m, d) = civil_from_days(secs / 86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Year, month and day of a count of days since 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// restricted to dates on or after the epoch, which is all a `u64` timestamp can name).
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_text(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_text(1_709_251_199_999), "2024-02-29 23:59:59 UTC");
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
