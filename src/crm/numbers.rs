//! Chinese phone numbers: one canonical national form so `+86 10 6234 5678`,
//! `010-62345678` and `0086 1062345678` are the same customer phone.
//!
//! Pure functions only (no DB, no clock): the lookup path and the tests share them.
//!
//! Canonical form (`normalize`):
//! - mobiles: 11 digits `1[3-9]…` (a leading trunk `0` some exchanges add is dropped);
//! - landlines with an area code: `0` + area code + local number (`01062345678`);
//! - other countries: `+` + country code + number;
//! - anything else (local numbers without area code, service numbers, extensions): the digits.

/// Characters people put into numbers that carry no meaning.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '(' | ')' | '.' | '\u{3000}' | '\t' | '/')
}

/// Strips separators; keeps digits and a leading `+`. `None` if anything else is left
/// (letters, SIP URIs): such input is not a phone number we can match.
pub fn clean(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    for (i, c) in raw.trim().chars().enumerate() {
        if c.is_ascii_digit() || (c == '+' && i == 0) {
            out.push(c);
        } else if c == '（' || c == '）' || is_separator(c) {
            continue;
        } else {
            return None;
        }
    }
    if out.is_empty() || out == "+" {
        None
    } else {
        Some(out)
    }
}

/// A Chinese mobile number: 11 digits, `1[3-9]`.
pub fn is_mobile(d: &str) -> bool {
    d.len() == 11 && d.as_bytes()[0] == b'1' && (b'3'..=b'9').contains(&d.as_bytes()[1]) && all_digits(d)
}

fn all_digits(d: &str) -> bool {
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

/// Length of the area code (without the trunk `0`) at the start of a national significant
/// number: `10` and `2x` are two digits, every other code three.
fn area_code_len(nsn: &str) -> usize {
    match nsn.as_bytes() {
        [b'1', b'0', ..] | [b'2', ..] => 2,
        _ => 3,
    }
}

/// A national significant number (no `+86`, no trunk `0`) that is a landline with area
/// code: area code plus a 7–8 digit local number.
fn is_landline_nsn(nsn: &str) -> bool {
    if !all_digits(nsn) || nsn.starts_with('0') || is_mobile(nsn) {
        return false;
    }
    if nsn.starts_with('1') && !nsn.starts_with("10") {
        return false;
    }
    let local = nsn.len().saturating_sub(area_code_len(nsn));
    (7..=8).contains(&local)
}

/// Canonical national form (see the module doc); `None` when the input is not a number.
pub fn normalize(raw: &str) -> Option<String> {
    normalize_inner(raw).filter(|n| n.chars().any(|c| c.is_ascii_digit()))
}

fn normalize_inner(raw: &str) -> Option<String> {
    let c = clean(raw)?;
    if let Some(rest) = c.strip_prefix("+86") {
        return Some(from_nsn(rest));
    }
    if let Some(rest) = c.strip_prefix('+') {
        return all_digits(rest).then(|| format!("+{rest}"));
    }
    if let Some(rest) = c.strip_prefix("0086") {
        return Some(from_nsn(rest));
    }
    if let Some(rest) = c.strip_prefix("00") {
        return Some(format!("+{rest}"));
    }
    if let Some(rest) = c.strip_prefix("86") {
        // Only when what follows looks national: 86 also starts ordinary local numbers.
        if rest.len() >= 9 && (is_mobile(rest) || is_landline_nsn(rest)) {
            return Some(from_nsn(rest));
        }
    }
    if let Some(rest) = c.strip_prefix('0') {
        // A mobile dialled with the long-distance `0` in front.
        if is_mobile(rest) {
            return Some(rest.to_string());
        }
    }
    Some(c)
}

/// From a national significant number to the canonical form.
fn from_nsn(nsn: &str) -> String {
    let nsn = nsn.strip_prefix('0').unwrap_or(nsn);
    if is_mobile(nsn) {
        nsn.to_string()
    } else if is_landline_nsn(nsn) {
        format!("0{nsn}")
    } else {
        nsn.to_string()
    }
}

/// Reversed digits, stored next to the number so a suffix match is an indexed prefix
/// match (`reversed LIKE 'rev%'`).
pub fn reversed(normalized: &str) -> String {
    normalized.chars().rev().collect()
}

/// A local number dialled without area code (7–8 digits, not starting with 0 or 1): the
/// only input we try a suffix match for.
pub fn is_local_without_area(n: &str) -> bool {
    (7..=8).contains(&n.len()) && all_digits(n) && !n.starts_with('0') && !n.starts_with('1')
}

/// Whether the stored canonical `stored` is `0` + area code + `local`, i.e. a suffix match
/// of a local number that is not a coincidence of digits.
pub fn suffix_matches(stored: &str, local: &str) -> bool {
    match stored.strip_suffix(local) {
        Some(head) => {
            head.len() >= 3 && head.starts_with('0') && is_landline_nsn(&stored[1..]) && {
                let nsn = &stored[1..];
                area_code_len(nsn) + 1 == head.len()
            }
        }
        None => false,
    }
}

/// A number-list pattern: separators and the international prefix removed, so `0755`,
/// `+86 170` and `170` are written the way normalized numbers start.
pub fn normalize_prefix(raw: &str) -> Option<String> {
    let c = clean(raw)?;
    let c = c.strip_prefix("+86").or_else(|| c.strip_prefix("0086")).map(str::to_string).unwrap_or(c);
    if c.is_empty() {
        None
    } else {
        Some(c)
    }
}

/// Masked form for logs: `138****8000`. Caller numbers are personal data.
pub fn mask(n: &str) -> String {
    let chars: Vec<char> = n.chars().collect();
    let len = chars.len();
    if len >= 9 {
        let mut s: String = chars[..3].iter().collect();
        s.extend(std::iter::repeat_n('*', len - 7));
        s.extend(&chars[len - 4..]);
        s
    } else if len >= 5 {
        let mut s: String = std::iter::repeat_n('*', len - 2).collect();
        s.extend(&chars[len - 2..]);
        s
    } else {
        "*".repeat(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_table() {
        let cases = [
            ("13912345678", "13912345678"),
            ("+86 139 1234 5678", "13912345678"),
            ("+8613912345678", "13912345678"),
            ("008613912345678", "13912345678"),
            ("8613912345678", "13912345678"),
            ("013912345678", "13912345678"),
            ("139-1234-5678", "13912345678"),
            ("010 6234 5678", "01062345678"),
            ("010-62345678", "01062345678"),
            ("(010) 62345678", "01062345678"),
            ("+86 10 62345678", "01062345678"),
            ("+86 010 62345678", "01062345678"),
            ("0086 1062345678", "01062345678"),
            ("861062345678", "01062345678"),
            ("0755-12345678", "075512345678"),
            ("+86 755 1234 5678", "075512345678"),
            ("+86 21 1234 5678", "02112345678"),
            ("0571 8765432", "05718765432"),
            ("62345678", "62345678"),
            ("86123456", "86123456"),
            ("95588", "95588"),
            ("10086", "10086"),
            ("8002", "8002"),
            ("+44 20 7123 4567", "+442071234567"),
            ("0044 20 7123 4567", "+442071234567"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize(raw).as_deref(), Some(want), "{raw}");
        }
    }

    #[test]
    fn rejects_non_numbers() {
        for raw in ["", "  ", "+", "abc", "sip:1000@host", "12+34"] {
            assert_eq!(normalize(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn suffix_match_needs_a_real_area_code() {
        assert!(suffix_matches("01062345678", "62345678"));
        assert!(suffix_matches("075512345678", "12345678"));
        assert!(suffix_matches("05718765432", "8765432"));
        // Digits that merely end the same are no match.
        assert!(!suffix_matches("13962345678", "62345678"));
        assert!(!suffix_matches("0106234567", "234567"));
        assert!(!suffix_matches("01062345678", "2345678"));
        assert!(is_local_without_area("62345678"));
        assert!(!is_local_without_area("13912345"));
        assert!(!is_local_without_area("01062345"));
    }

    #[test]
    fn masks() {
        assert_eq!(mask("13880008000"), "138****8000");
        assert_eq!(mask("01062345678"), "010****5678");
        assert_eq!(mask("95588"), "***88");
        assert_eq!(mask("8002"), "****");
        assert_eq!(mask(""), "");
    }

    #[test]
    fn prefixes() {
        assert_eq!(normalize_prefix("170").as_deref(), Some("170"));
        assert_eq!(normalize_prefix("+86 170").as_deref(), Some("170"));
        assert_eq!(normalize_prefix("0755-").as_deref(), Some("0755"));
        assert_eq!(normalize_prefix("x"), None);
    }

    proptest::proptest! {
        #[test]
        fn mobile_variants_agree(tail in "[3-9][0-9]{9}") {
            let m = format!("1{tail}");
            for v in [m.clone(), format!("+86{m}"), format!("0086 {m}"), format!("86{m}"), format!("0{m}"),
                      format!("{} {} {}", &m[..3], &m[3..7], &m[7..])] {
                proptest::prop_assert_eq!(normalize(&v), Some(m.clone()));
            }
        }

        #[test]
        fn landline_variants_agree(area in "(10|2[0-9]|[3-9][0-9]{2})", local in "[2-8][0-9]{6,7}") {
            let canon = format!("0{area}{local}");
            for v in [canon.clone(), format!("+86 {area} {local}"), format!("0086{area}{local}"),
                      format!("0{area}-{local}"), format!("(0{area}) {local}")] {
                proptest::prop_assert_eq!(normalize(&v), Some(canon.clone()));
            }
            proptest::prop_assert!(suffix_matches(&canon, &local));
            proptest::prop_assert_eq!(reversed(&reversed(&canon)), canon);
        }

        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = normalize(&s);
            let _ = mask(&s);
            let _ = normalize_prefix(&s);
        }
    }

    #[test]
    fn a_prefix_alone_is_not_a_number() {
        assert_eq!(normalize("+86"), None);
        assert_eq!(normalize("0086"), None);
        assert_eq!(normalize("00"), None);
    }
}
