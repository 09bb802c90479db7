//! The C library's number parsers as iproute2 calls them (strtoul/strtol with base 0,
//! sscanf's %i and %u), so a filter word means to us what it means to ss: `0x16`
//! and `026` are port 22, `10.8` is 10.8.0.0, `-1` is a port of -1.

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// strtoul/strtol's common part: `(magnitude, negative, bytes consumed, overflowed)`.
/// Consumed is 0 when no digits were found (C leaves endptr at the start).
fn scan(s: &[u8], base: u32) -> (u64, bool, usize, bool) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let mut base = base;
    let hex_prefix = i + 2 < s.len() + 1
        && i + 1 < s.len()
        && s[i] == b'0'
        && (s[i + 1] | 0x20) == b'x'
        && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
    if (base == 0 || base == 16) && hex_prefix {
        base = 16;
        i += 2;
    } else if base == 0 {
        base = if s.get(i) == Some(&b'0') { 8 } else { 10 };
    }
    let start = i;
    let mut v: u64 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).and_then(|&b| (b as char).to_digit(base)) {
        match v
            .checked_mul(u64::from(base))
            .and_then(|x| x.checked_add(u64::from(d)))
        {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        // "0x" without a hex digit was taken as "0" above only when a digit followed.
        return (0, false, 0, false);
    }
    (v, neg, i, overflow)
}

/// strtoul(s, &end, base): value, bytes consumed (0 = no conversion), ERANGE.
pub fn strtoul(s: &[u8], base: u32) -> (u64, usize, bool) {
    let (v, neg, used, overflow) = scan(s, base);
    if overflow {
        return (u64::MAX, used, true);
    }
    (if neg { v.wrapping_neg() } else { v }, used, false)
}

/// strtol(s, &end, base): value clamped to i64 as C does, consumed, ERANGE.
pub fn strtol(s: &[u8], base: u32) -> (i64, usize, bool) {
    let (v, neg, used, overflow) = scan(s, base);
    if neg {
        if overflow || v > 1u64 << 63 {
            return (i64::MIN, used, true);
        }
        (0i64.wrapping_sub(v as i64), used, false)
    } else {
        if overflow || v > i64::MAX as u64 {
            return (i64::MAX, used, true);
        }
        (v as i64, used, false)
    }
}

/// iproute2's get_integer: the whole word an int.
pub fn get_integer(s: &[u8]) -> Option<i32> {
    if s.is_empty() {
        return None;
    }
    let (v, used, erange) = strtol(s, 0);
    if used == 0 || used != s.len() || erange {
        return None;
    }
    i32::try_from(v).ok()
}

/// iproute2's get_u32 (base 0).
pub fn get_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    let (v, used, erange) = strtoul(s, 0);
    if used == 0 || used != s.len() || erange {
        return None;
    }
    u32::try_from(v).ok()
}

/// iproute2's get_unsigned (base 0).
pub fn get_unsigned(s: &[u8]) -> Option<u32> {
    get_u32(s)
}

/// iproute2's get_addr_ipv4: up to four dot-separated numbers (any C base), missing
/// trailing parts zero ("10.8" is 10.8.0.0).
pub fn get_addr_ipv4(s: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut cp = s;
    for (i, slot) in out.iter_mut().enumerate() {
        let (n, used, _) = strtoul(cp, 0);
        if n > 255 || used == 0 {
            return None;
        }
        *slot = n as u8;
        if used == cp.len() {
            return Some(out);
        }
        if i == 3 || cp[used] != b'.' {
            return None;
        }
        cp = &cp[used + 1..];
    }
    Some(out)
}

/// sscanf's %i (and %u with base 10): a number at the start of `s` after blanks,
/// stored into a 32-bit int as glibc does (truncating). Returns value and consumed.
pub fn scanf_int(s: &[u8], base: u32) -> Option<(u32, usize)> {
    let (v, used, _) = strtol(s, base);
    if used == 0 {
        return None;
    }
    Some((v as u32, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_number_forms() {
        assert_eq!(get_integer(b"22"), Some(22));
        assert_eq!(get_integer(b"0x16"), Some(22));
        assert_eq!(get_integer(b"026"), Some(22));
        assert_eq!(get_integer(b"-1"), Some(-1));
        assert_eq!(get_integer(b"2147483648"), None);
        assert_eq!(get_integer(b"22x"), None);
        assert_eq!(get_integer(b""), None);
        assert_eq!(get_integer(b"0x"), None);
        assert_eq!(get_integer(b" 7"), Some(7));
        assert_eq!(get_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(get_u32(b"4294967296"), None);
        assert_eq!(get_u32(b"-1"), None);
        assert_eq!(get_addr_ipv4(b"10.8"), Some([10, 8, 0, 0]));
        assert_eq!(get_addr_ipv4(b"0x7f.1"), Some([127, 1, 0, 0]));
        assert_eq!(get_addr_ipv4(b"010.0.0.1"), Some([8, 0, 0, 1]));
        assert_eq!(get_addr_ipv4(b"1.2.3.4.5"), None);
        assert_eq!(get_addr_ipv4(b"256.1.1.1"), None);
        assert_eq!(get_addr_ipv4(b"1..2"), None);
        assert_eq!(get_addr_ipv4(b"08.1.1.1"), None);
        assert_eq!(scanf_int(b"0xffffffff", 0), Some((u32::MAX, 10)));
        assert_eq!(scanf_int(b"-1", 0), Some((u32::MAX, 2)));
    }
}
