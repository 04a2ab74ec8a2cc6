//! Absolute times on the wire as RFC 3339 text (`2026-12-01T15:04:05.123456789Z`): the
//! `since` of a log query, and the times `timestamps=true` puts before each log line.
//! Read with any zone offset (`+01:00`); written in UTC with nanoseconds, as docker does.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::{Duration, SystemTime};

/// A point in time, read and written as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rfc3339(pub SystemTime);

impl Rfc3339 {
    /// Reads `2026-12-01T15:04:05Z`, with any fraction of a second and a zone of `Z` or
    /// `±HH:MM`. A time without a zone is refused: whose local time it is would be a guess.
    pub fn parse(s: &str) -> Result<Rfc3339, String> {
        let bad = || {
            format!(
                "'{s}' is not an RFC 3339 time with a zone (like 2026-12-01T15:04:05Z or \
                 2026-12-01T16:04:05+01:00)"
            )
        };
        let b = s.as_bytes();
        let (base, east) = match b.len().checked_sub(6).map(|i| (i, &b[i..])) {
            Some((i, [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2])) if i >= 19 => {
                let digits = [h1, h2, m1, m2];
                if !digits.iter().all(|d| d.is_ascii_digit()) {
                    return Err(bad());
                }
                let n = |a: &u8, b: &u8| u64::from((a - b'0') * 10 + (b - b'0'));
                let (hours, minutes) = (n(h1, h2), n(m1, m2));
                if hours > 23 || minutes > 59 {
                    return Err(bad());
                }
                let offset = Duration::from_secs(hours * 3600 + minutes * 60);
                (format!("{}Z", &s[..i]), Some((*sign == b'+', offset)))
            }
            _ if s.ends_with(['Z', 'z']) => (format!("{}Z", &s[..s.len() - 1]), None),
            _ => return Err(bad()),
        };
        let base = base.replacen(['t', ' '], "T", 1);
        let utc = humantime::parse_rfc3339(&base).map_err(|_| bad())?;
        let t = match east {
            // 16:04+01:00 is 15:04 UTC.
            Some((true, off)) => utc.checked_sub(off),
            Some((false, off)) => utc.checked_add(off),
            None => Some(utc),
        };
        t.map(Rfc3339).ok_or_else(bad)
    }
}

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_nanos(self.0))
    }
}

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rfc3339 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rfc3339, D::Error> {
        let s = String::deserialize(d)?;
        Rfc3339::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn secs(s: &str) -> Result<u64, String> {
        Ok(Rfc3339::parse(s)?
            .0
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs())
    }

    #[test]
    fn zones_and_fractions_are_read() {
        let utc = secs("2026-12-01T15:04:05Z").expect("utc");
        assert_eq!(secs("2026-12-01T16:04:05+01:00"), Ok(utc));
        assert_eq!(secs("2026-12-01T10:34:05-04:30"), Ok(utc));
        assert_eq!(secs("2026-12-01t15:04:05.5z"), Ok(utc));
        assert_eq!(secs("2026-12-01 15:04:05.123456789Z"), Ok(utc));
        let t = Rfc3339::parse("2026-12-01T15:04:05.000000042Z").expect("nanos");
        assert_eq!(t.to_string(), "2026-12-01T15:04:05.000000042Z");
        assert_eq!(Rfc3339::parse(&t.to_string()), Ok(t));
    }

    #[test]
    fn times_without_a_zone_or_garbage_are_refused() {
        for bad in [
            "2026-12-01T15:04:05",
            "10m",
            "",
            "2026-13-01T15:04:05Z",
            "2026-12-01T15:04:05+1:00",
            "2026-12-01T15:04:05+25:00",
            "2026-12-01T15:04:05+0a:00",
        ] {
            assert!(Rfc3339::parse(bad).is_err(), "{bad}");
        }
    }
}
