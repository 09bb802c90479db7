//! Protocol counters: /proc/net/snmp and /proc/net/netstat (pairs of `Name: keys…` /
//! `Name: values…` lines), /proc/net/snmp6 and /proc/net/sctp/snmp (`Key value` lines).
//! Each file becomes a list of sections, each an ordered list of (key, value).

use super::{numbered_lines, ParseWarning, ProcRoot, Table};
use serde::{Serialize, Serializer};

/// A counter as the kernel printed it. Almost all are unsigned; Tcp MaxConn is -1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Unsigned(u64),
    Signed(i64),
}

impl Value {
    /// The value as C's strtoull reads the text: negative numbers wrap around.
    pub fn as_wrapped_u64(self) -> u64 {
        match self {
            Value::Unsigned(v) => v,
            Value::Signed(v) => v as u64,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Counter {
    #[serde(serialize_with = "lossy_text")]
    pub key: Vec<u8>,
    pub value: Value,
}

/// One `Name:` block of snmp/netstat, or one key prefix of snmp6 (`Ip6`, `Icmp6`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Section {
    #[serde(serialize_with = "lossy_text")]
    pub name: Vec<u8>,
    pub counters: Vec<Counter>,
}

fn lossy_text<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::escape::json_text(bytes))
}

/// The separators netstat splits keys at (the newline is already gone).
fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\t')
}

fn tokens(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| is_separator(b)).filter(|t| !t.is_empty())
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|&b| is_separator(b))
}

/// A decimal counter, optionally negative; `None` for anything else (or out of range).
pub fn parse_value(text: &[u8]) -> Option<Value> {
    match text.strip_prefix(b"-") {
        Some(digits) => {
            let magnitude = super::dec_u64(digits)?;
            if magnitude > i64::MAX as u64 + 1 {
                return None;
            }
            Some(Value::Signed(0i64.wrapping_sub_unsigned(magnitude)))
        }
        None => super::dec_u64(text).map(Value::Unsigned),
    }
}

/// Splits `Name: rest` at the first colon.
fn split_name(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    Some((&line[..colon], &line[colon + 1..]))
}

/// Parses /proc/net/snmp or /proc/net/netstat: a header line of keys followed by a line
/// of values with the same name. A header whose next line has another name is a lone
/// line: it is reported, and the next line starts a new pair.
pub fn parse_paired(data: &[u8], file: &str) -> Table<Section> {
    let mut table: Table<Section> = Table::default();
    let warn = |table: &mut Table<Section>, line: usize, message: String| {
        table.warnings.push(ParseWarning {
            file: file.to_string(),
            line,
            message,
        })
    };
    let mut pending: Option<(usize, &[u8], &[u8])> = None;
    for (lnr, line) in numbered_lines(data) {
        if is_blank(line) {
            continue;
        }
        let Some((name, rest)) = split_name(line) else {
            warn(&mut table, lnr, "line without `Name:'".into());
            continue;
        };
        let (header_lnr, header_name, keys) = match pending.take() {
            Some((hl, hn, keys)) if hn == name => (hl, hn, keys),
            Some((hl, hn, _)) => {
                warn(
                    &mut table,
                    hl,
                    format!(
                        "lone line: `{}:' is not followed by its values",
                        crate::escape::escape(hn)
                    ),
                );
                pending = Some((lnr, name, rest));
                continue;
            }
            None => {
                pending = Some((lnr, name, rest));
                continue;
            }
        };
        let keys: Vec<&[u8]> = tokens(keys).collect();
        let values: Vec<&[u8]> = tokens(rest).collect();
        if keys.len() != values.len() {
            warn(
                &mut table,
                lnr,
                format!(
                    "line {header_lnr} names {} keys but this line has {} values; the extra ones are dropped",
                    keys.len(),
                    values.len()
                ),
            );
        }
        let mut counters = Vec::with_capacity(keys.len());
        for (key, text) in keys.iter().zip(&values) {
            match parse_value(text) {
                Some(value) => counters.push(Counter {
                    key: key.to_vec(),
                    value,
                }),
                None => warn(
                    &mut table,
                    lnr,
                    format!(
                        "value of {} is not a number: `{}'",
                        crate::escape::escape(key),
                        crate::escape::escape(text)
                    ),
                ),
            }
        }
        table.rows.push(Section {
            name: header_name.to_vec(),
            counters,
        });
    }
    if let Some((hl, hn, _)) = pending {
        warn(
            &mut table,
            hl,
            format!(
                "lone line: `{}:' is not followed by its values",
                crate::escape::escape(hn)
            ),
        );
    }
    table
}

/// Parses `Key value` lines. `section_of` names the section a key starts when it does
/// not belong to the current one.
fn parse_key_value(
    data: &[u8],
    file: &str,
    mut belongs: impl FnMut(&[u8], &[u8]) -> bool,
    section_of: impl Fn(&[u8]) -> Vec<u8>,
) -> Table<Section> {
    let mut table: Table<Section> = Table::default();
    for (lnr, line) in numbered_lines(data) {
        let mut fields = tokens(line);
        let Some(key) = fields.next() else { continue };
        let problem = match (fields.next(), fields.next()) {
            (None, _) => Some("lone key without a value".to_string()),
            (Some(_), Some(_)) => Some("more than a key and a value".to_string()),
            (Some(text), None) => match parse_value(text) {
                Some(value) => {
                    let same = table.rows.last().is_some_and(|s| belongs(key, &s.name));
                    if !same {
                        table.rows.push(Section {
                            name: section_of(key),
                            counters: Vec::new(),
                        });
                    }
                    if let Some(section) = table.rows.last_mut() {
                        section.counters.push(Counter {
                            key: key.to_vec(),
                            value,
                        });
                    }
                    None
                }
                None => Some(format!(
                    "value of {} is not a number: `{}'",
                    crate::escape::escape(key),
                    crate::escape::escape(text)
                )),
            },
        };
        if let Some(message) = problem {
            table.warnings.push(ParseWarning {
                file: file.to_string(),
                line: lnr,
                message,
            });
        }
    }
    table
}

/// The snmp6 section a key opens: its prefix through the first `6` (`Icmp6InMsgs` →
/// `Icmp6`), or the whole key when it has none.
fn snmp6_title(key: &[u8]) -> Vec<u8> {
    match key.iter().position(|&b| b == b'6') {
        Some(i) => key[..=i].to_vec(),
        None => key.to_vec(),
    }
}

/// Substring search in linear time (Knuth-Morris-Pratt): a hostile file (--proc-root)
/// must not make the naive quadratic search crawl.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    if haystack.starts_with(needle) {
        return true;
    }
    // failure[i]: length of the longest proper border of needle[..=i].
    let mut failure = vec![0usize; needle.len()];
    let mut k = 0;
    for (i, &b) in needle.iter().enumerate().skip(1) {
        while k > 0 && needle.get(k) != Some(&b) {
            k = failure.get(k - 1).copied().unwrap_or(0);
        }
        if needle.get(k) == Some(&b) {
            k += 1;
        }
        if let Some(slot) = failure.get_mut(i) {
            *slot = k;
        }
    }
    let mut matched = 0;
    for &b in haystack {
        while matched > 0 && needle.get(matched) != Some(&b) {
            matched = failure.get(matched - 1).copied().unwrap_or(0);
        }
        if needle.get(matched) == Some(&b) {
            matched += 1;
        }
        if matched == needle.len() {
            return true;
        }
    }
    false
}

/// Parses /proc/net/snmp6. A key stays in the current section while it contains the
/// section's name anywhere (netstat's strstr rule: `Icmp6InType1` is in `Icmp6`,
/// `UdpLite6InDatagrams` is not in `Udp6`).
pub fn parse_snmp6(data: &[u8], file: &str) -> Table<Section> {
    parse_key_value(data, file, contains, snmp6_title)
}

/// Parses /proc/net/sctp/snmp: every line belongs to the one `Sctp` section, which
/// exists even when the file is empty.
pub fn parse_sctp(data: &[u8], file: &str) -> Table<Section> {
    let mut table = parse_key_value(data, file, |_, _| true, |_| b"Sctp".to_vec());
    if table.rows.is_empty() {
        table.rows.push(Section {
            name: b"Sctp".to_vec(),
            counters: Vec::new(),
        });
    }
    table
}

fn read_with(
    root: &ProcRoot,
    net_dir: &str,
    file: &str,
    parse: fn(&[u8], &str) -> Table<Section>,
) -> std::io::Result<Table<Section>> {
    let rel = format!("{net_dir}/{file}");
    let data = root.read(&rel)?;
    Ok(parse(&data, &root.join(&rel).display().to_string()))
}

/// `net_dir` is `net` or `PID/net` (another network namespace).
pub fn read_snmp(root: &ProcRoot, net_dir: &str) -> std::io::Result<Table<Section>> {
    read_with(root, net_dir, "snmp", parse_paired)
}

pub fn read_netstat(root: &ProcRoot, net_dir: &str) -> std::io::Result<Table<Section>> {
    read_with(root, net_dir, "netstat", parse_paired)
}

pub fn read_snmp6(root: &ProcRoot, net_dir: &str) -> std::io::Result<Table<Section>> {
    read_with(root, net_dir, "snmp6", parse_snmp6)
}

pub fn read_sctp(root: &ProcRoot, net_dir: &str) -> std::io::Result<Table<Section>> {
    read_with(root, net_dir, "sctp/snmp", parse_sctp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(s: &Section) -> Vec<String> {
        s.counters
            .iter()
            .map(|c| String::from_utf8_lossy(&c.key).into_owned())
            .collect()
    }

    #[test]
    fn values() {
        assert_eq!(parse_value(b"12"), Some(Value::Unsigned(12)));
        assert_eq!(parse_value(b"-1"), Some(Value::Signed(-1)));
        assert_eq!(
            parse_value(b"-9223372036854775808"),
            Some(Value::Signed(i64::MIN))
        );
        assert_eq!(parse_value(b"-9223372036854775809"), None);
        assert_eq!(
            parse_value(b"18446744073709551615"),
            Some(Value::Unsigned(u64::MAX))
        );
        assert_eq!(parse_value(b"18446744073709551616"), None);
        assert_eq!(parse_value(b"1x"), None);
        assert_eq!(parse_value(b"-"), None);
        assert_eq!(parse_value(b""), None);
        assert_eq!(Value::Signed(-1).as_wrapped_u64(), u64::MAX);
    }

    #[test]
    fn pairs_become_sections() {
        let t = parse_paired(
            b"\nIp: Forwarding DefaultTTL\nIp: 2 64\nUdpLite:\nUdpLite:\nMPTcpExt: A B \nMPTcpExt: 0 1\n",
            "snmp",
        );
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        let names: Vec<&[u8]> = t.rows.iter().map(|s| &s.name[..]).collect();
        assert_eq!(names, [&b"Ip"[..], b"UdpLite", b"MPTcpExt"]);
        assert_eq!(keys(&t.rows[0]), ["Forwarding", "DefaultTTL"]);
        assert_eq!(t.rows[0].counters[1].value, Value::Unsigned(64));
        assert!(t.rows[1].counters.is_empty());
        assert_eq!(keys(&t.rows[2]), ["A", "B"]);
    }

    #[test]
    fn snmp6_sections_follow_netstat_grouping() {
        let t = parse_snmp6(
            b"Ip6InReceives \t30\nIcmp6InMsgs 1\nIcmp6InType1 1\nUdp6InDatagrams 0\nUdpLite6InDatagrams 0\nIp6Late 5\n",
            "snmp6",
        );
        assert!(t.warnings.is_empty());
        let names: Vec<String> = t
            .rows
            .iter()
            .map(|s| String::from_utf8_lossy(&s.name).into_owned())
            .collect();
        assert_eq!(names, ["Ip6", "Icmp6", "Udp6", "UdpLite6", "Ip6"]);
        assert_eq!(keys(&t.rows[1]), ["Icmp6InMsgs", "Icmp6InType1"]);
        assert_eq!(t.rows[0].counters[0].value, Value::Unsigned(30));
    }

    #[test]
    fn substring_search() {
        for (hay, needle, want) in [
            (&b"Icmp6InMsgs"[..], &b"Icmp6"[..], true),
            (b"XIp6Odd", b"Ip6", true),
            (b"UdpLite6InDatagrams", b"Udp6", false),
            (b"aaab", b"aab", true),
            (b"abababc", b"ababc", true),
            (b"abab", b"abc", false),
            (b"", b"", true),
            (b"ab", b"abc", false),
        ] {
            assert_eq!(contains(hay, needle), want, "{hay:?} {needle:?}");
            let naive = needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle);
            assert_eq!(naive, want);
        }
    }

    #[test]
    fn sctp_is_one_section() {
        let t = parse_sctp(b"SctpCurrEstab 1\nSctpActiveEstabs 2\n", "sctp/snmp");
        assert_eq!(t.rows.len(), 1);
        assert_eq!(keys(&t.rows[0]), ["SctpCurrEstab", "SctpActiveEstabs"]);
        assert_eq!(parse_sctp(b"", "x").rows[0].name, b"Sctp");
    }

    #[test]
    fn json_is_plain() {
        let t = parse_paired(b"Tcp: MaxConn InSegs\nTcp: -1 5\n", "snmp");
        assert_eq!(
            serde_json::to_string(&t.rows).unwrap(),
            r#"[{"name":"Tcp","counters":[{"key":"MaxConn","value":-1},{"key":"InSegs","value":5}]}]"#
        );
    }
}
