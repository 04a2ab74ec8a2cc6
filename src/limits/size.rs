//! Byte sizes as people write them: `2G`, `512M`, `1.5GiB`, `100000` (bytes). Units are
//! binary (K = 1024), as in Slurm's `--mem` and docker's `--memory`.

/// Parses a size; `None` for anything else (empty, negative, unknown unit, overflow).
pub fn parse(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return None,
    };
    if number.is_empty() {
        return None;
    }
    if let Ok(n) = number.parse::<u64>() {
        return n.checked_mul(1u64 << shift);
    }
    let f: f64 = number.parse().ok()?;
    let bytes = (f * (1u64 << shift) as f64).round();
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// `2 GiB`, `1.5 MiB`, `300 B`: the shortest exact-enough form for messages and tables.
pub fn format(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value.fract() == 0.0 {
        format!("{value} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_people_write() {
        assert_eq!(parse("2G"), Some(2 << 30));
        assert_eq!(parse("2g"), Some(2 << 30));
        assert_eq!(parse("2GiB"), Some(2 << 30));
        assert_eq!(parse("512 MB"), Some(512 << 20));
        assert_eq!(parse("1.5G"), Some(3 << 29));
        assert_eq!(parse("100000"), Some(100_000));
        assert_eq!(parse("4k"), Some(4096));
        for bad in ["", "G", "-1G", "2X", "1e3", "99999999999T", "nan"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn writes_short_forms() {
        assert_eq!(format(2 << 30), "2 GiB");
        assert_eq!(format(3 << 29), "1.5 GiB");
        assert_eq!(format(300), "300 B");
        assert_eq!(format(1 << 20), "1 MiB");
    }
}
