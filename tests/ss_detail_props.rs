//! The sock_diag detail parser and ss's detail text over arbitrary and mutated
//! replies: no panic, and no control character reaches the output apart from ss's
//! own tabs and the `\n\t` that starts its second line (hostile names, such as a cgroup path
//! with ESC or a newline, come out escaped).

use proptest::prelude::*;
use rnetstat::netlink::ss_attrs::{tcpdiag_file, InetDiag, NetlinkDiag, PacketDiag, UnixDiag};
use rnetstat::proc::cgroup::CgroupPaths;
use rnetstat::render::ss_detail::{self, DetailOptions};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn options(bits: u16) -> DetailOptions {
    let b = |i: u16| bits & (1 << i) != 0;
    DetailOptions::from_flags(b(0), b(1), b(2), b(3), b(4), b(5), b(6), b(7), b(8), b(9))
}

fn hostile_cgroups() -> CgroupPaths {
    CgroupPaths::from_pairs((0..64u64).map(|id| (id, b"/a\x1b[2J\nb\xff".to_vec())))
}

/// Valid UTF-8 without control characters, except ss's own tabs and the newlines
/// that start its `\n\t` lines.
fn assert_clean(out: &[u8]) {
    let text = std::str::from_utf8(out).expect("UTF-8");
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let ok = !c.is_control() || (c == '\n' && chars.get(i + 1) == Some(&'\t')) || c == '\t';
        assert!(ok, "{c:?} at {i} in {text:?}");
    }
}

fn format_all(payload: &[u8], bits: u16) {
    let opts = options(bits);
    let cg = hostile_cgroups();
    let mut out = Vec::new();
    for proto in [6u8, 17, 255] {
        ss_detail::inet_payload(&mut out, payload, proto, &opts, &cg);
    }
    if let Some(d) = UnixDiag::parse(payload) {
        ss_detail::unix(&mut out, &d, &opts);
    }
    if let Some(d) = PacketDiag::parse(payload) {
        ss_detail::packet(&mut out, &d, &opts);
    }
    if let Some(d) = NetlinkDiag::parse(payload) {
        ss_detail::netlink(&mut out, &d, &opts);
    }
    assert_clean(&out);
}

/// A header of `head` bytes followed by well-formed attributes of the given types
/// and arbitrary values (short, long, empty), as a kernel bug or a hostile capture
/// could send them.
fn with_attrs(head: usize, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut m = vec![0u8; head];
    m[0] = 10;
    for (kind, value) in attrs {
        m.extend_from_slice(&(4 + value.len() as u16).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(value);
        while m.len() % 4 != 0 {
            m.push(0);
        }
    }
    m
}

fn attr_list() -> impl Strategy<Value = Vec<(u16, Vec<u8>)>> {
    proptest::collection::vec(
        (0u16..24, proptest::collection::vec(any::<u8>(), 0..300)),
        0..12,
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_replies(data in proptest::collection::vec(any::<u8>(), 0..1024), bits in any::<u16>()) {
        format_all(&data, bits);
    }

    #[test]
    fn well_framed_attributes(attrs in attr_list(), bits in any::<u16>(), head in prop_oneof![Just(16usize), Just(72usize)]) {
        format_all(&with_attrs(head, &attrs), bits);
    }

    #[test]
    fn mutated_recorded_dump(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16), bits in any::<u16>()) {
        let mut data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ss/v4.bin")).unwrap();
        for (at, byte) in flips {
            let i = at.index(data.len());
            data[i] = byte;
        }
        let opts = options(bits);
        let cg = hostile_cgroups();
        let mut out = Vec::new();
        tcpdiag_file(&data[..], |payload| {
            if let Some(d) = InetDiag::parse(payload) {
                ss_detail::inet(&mut out, &d, 6, &opts, &cg);
                let _ = d.tcp_info();
            }
        });
        assert_clean(&out);
    }

    #[test]
    fn arbitrary_tcpdiag_file(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut n = 0usize;
        tcpdiag_file(&data[..], |_| n += 1);
        prop_assert!(n <= data.len() / 16);
    }
}

#[test]
fn hostile_cgroup_path_is_escaped() {
    let mut m = vec![0u8; 72];
    m[0] = 2;
    m.extend_from_slice(&12u16.to_ne_bytes());
    m.extend_from_slice(&21u16.to_ne_bytes());
    m.extend_from_slice(&7u64.to_ne_bytes());
    let mut out = Vec::new();
    let opts = DetailOptions {
        cgroup: true,
        ..DetailOptions::default()
    };
    ss_detail::inet_payload(&mut out, &m, 6, &opts, &hostile_cgroups());
    assert_eq!(String::from_utf8(out).unwrap(), " cgroup:/a^[[2J\\nb\\xff");
}
