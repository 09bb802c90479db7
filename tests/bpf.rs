//! The classic-BPF disassembler against the reference, `tcpdump -d`, on a corpus of
//! filter expressions compiled by tcpdump itself (`-dd` gives the instructions, `-d`
//! the lines ours must equal), for Ethernet and raw-IP link types; the analyser on
//! the same programs; and any instruction array without a panic.

use proptest::prelude::*;
use rnetstat::bpf::{self, Accepts, Insn, Layer};
use std::path::PathBuf;
use std::process::Command;

/// A test that cannot run here: a failure under CI, a notice otherwise.
fn cannot_run(test: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: {why} (CI=true: a test that cannot run fails)");
    }
    eprintln!("SKIPPED: {test}: {why}");
}

/// An empty capture file of link type `linktype`: tcpdump compiles for it offline,
/// without opening an interface.
struct Savefile(PathBuf);

impl Savefile {
    fn new(linktype: u32) -> Savefile {
        // One file per call: the tests of this binary run side by side in one process,
        // and one's Drop must not remove the file another is reading.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "rnt-bpf-{}-{n}-{linktype}.pcap",
            std::process::id()
        ));
        let mut h = Vec::new();
        h.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&262144u32.to_le_bytes());
        h.extend_from_slice(&linktype.to_le_bytes());
        std::fs::write(&path, h).unwrap();
        Savefile(path)
    }
}

impl Drop for Savefile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn tcpdump(file: &Savefile, flag: &str, expr: &str) -> String {
    let out = Command::new("tcpdump")
        .arg("-r")
        .arg(&file.0)
        .args([flag, expr])
        .output()
        .expect("tcpdump runs");
    assert!(
        out.status.success(),
        "tcpdump {flag} {expr}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `tcpdump -dd` lines: `{ 0x28, 0, 0, 0x0000000c },`.
fn parse_dd(text: &str) -> Vec<Insn> {
    text.lines()
        .map(|l| {
            let nums: Vec<u32> = l
                .trim_matches(|c| c == '{' || c == '}' || c == ',' || c == ' ')
                .split(',')
                .map(|n| {
                    let n = n.trim().trim_end_matches(" }").trim();
                    match n.strip_prefix("0x") {
                        Some(h) => u32::from_str_radix(h, 16).unwrap(),
                        None => n.parse().unwrap(),
                    }
                })
                .collect();
            Insn::new(nums[0] as u16, nums[1] as u8, nums[2] as u8, nums[3])
        })
        .collect()
}

pub const ETHERNET: &[&str] = &[
    "udp and port 53 and udp[8:4] = 0x5254",
    "tcp[tcpflags] & tcp-syn != 0 and not src net 192.0.2.0/24",
    "icmp or arp or rarp",
    "ip6 and tcp dst port 443",
    "icmp6 and ip6[40] == 128",
    "ether[0] & 1 = 1 or len > 1000 or less 60",
    "host 198.51.100.7 and (port 22 or portrange 6000-6010)",
    "vlan and udp",
    "ip[2:2] - ((ip[0] & 0xf) << 2) > 100",
    "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
    "ip and ip[8] * 2 / 3 % 5 ^ 1 | 8 > 4",
    "ether src 02:00:00:00:00:01 and ether dst ff:ff:ff:ff:ff:ff",
    "ip proto 47 or ip proto 50 or sctp",
    "udp[8:2] = 0x7255 or icmp[8:2] = 0x7255 or tcp[((tcp[12]&0xf0)>>2):2] = 0x5293",
    "ip multicast or ip broadcast",
    "ip6 src net 2001:db8::/32",
    "",
];

pub const RAW_IP: &[&str] = &[
    "udp and dst port 53",
    "icmp[icmptype] = icmp-echo and icmp[8:4] = 0x12345678",
    "tcp and src port 1337",
    "ip6 and udp",
];

#[test]
fn disassembly_matches_tcpdump() {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        return cannot_run("disassembly_matches_tcpdump", "tcpdump is not installed");
    }
    for (linktype, corpus, layer) in [(1, ETHERNET, Layer::Ethernet), (101, RAW_IP, Layer::Ipv4)] {
        let file = Savefile::new(linktype);
        for expr in corpus {
            let prog = parse_dd(&tcpdump(&file, "-dd", expr));
            assert!(!prog.is_empty(), "{expr}");
            let want = tcpdump(&file, "-d", expr);
            let mut ours = bpf::disassemble(&prog).join("\n");
            ours.push('\n');
            assert_eq!(ours, want, "linktype {linktype}, {expr:?}");
            // Every program tcpdump makes is valid and analysable.
            let a = bpf::analyse(&prog, layer);
            assert!(
                !matches!(a, Accepts::Invalid(_)),
                "{expr:?}: {}",
                a.describe()
            );
        }
    }
}

#[test]
fn analyser_names_what_tcpdump_programs_test() {
    if Command::new("tcpdump").arg("--version").output().is_err() {
        return cannot_run(
            "analyser_names_what_tcpdump_programs_test",
            "tcpdump is not installed",
        );
    }
    let eth = Savefile::new(1);
    let raw = Savefile::new(101);
    let cases: [(&Savefile, Layer, &str, &str); 5] = [
        (
            &eth,
            Layer::Ethernet,
            "udp and port 53 and udp[8:4] = 0x5254",
            "(udp and not a fragment and udp src port 53 and udp[8:4] = 0x5254) or \
             (udp and not a fragment and udp src port != 53 and udp dst port 53 and udp[8:4] = 0x5254)",
        ),
        (&eth, Layer::Ethernet, "", "every packet"),
        (&eth, Layer::Ethernet, "arp", "arp"),
        (
            &eth,
            Layer::Ethernet,
            "ip6 and tcp dst port 443",
            "ip6 and tcp and tcp dst port 443",
        ),
        (
            &raw,
            Layer::Ipv4,
            "udp and dst port 53",
            "(udp and not a fragment and udp dst port 53) or (ip6 and udp and udp dst port 53)",
        ),
    ];
    for (file, layer, expr, want) in cases {
        let prog = parse_dd(&tcpdump(file, "-dd", expr));
        assert_eq!(bpf::analyse(&prog, layer).describe(), want, "{expr:?}");
    }
    // A program whose every return is 0 accepts nothing (tcpdump refuses to make one).
    let prog = [
        Insn::new(0x28, 0, 0, 12),
        Insn::new(0x15, 0, 1, 0x800),
        Insn::new(0x06, 0, 0, 0),
        Insn::new(0x06, 0, 0, 0),
    ];
    assert_eq!(bpf::analyse(&prog, Layer::Ethernet), Accepts::Nothing);
}

fn any_insn() -> impl Strategy<Value = Insn> {
    // Mostly real opcodes (so that paths get long), some arbitrary ones.
    let codes = prop_oneof![
        3 => prop::sample::select(vec![
            0x00u16, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0c, 0x14, 0x15, 0x16, 0x1d,
            0x20, 0x24, 0x25, 0x28, 0x30, 0x35, 0x40, 0x44, 0x45, 0x48, 0x50, 0x54, 0x60,
            0x61, 0x74, 0x80, 0x84, 0x87, 0x94, 0xa4, 0xb1,
        ]),
        1 => any::<u16>(),
    ];
    let k = prop_oneof![0u32..64, any::<u32>(), Just(0xffff_f000u32 + 44)];
    (codes, 0u8..8, 0u8..8, k).prop_map(|(c, jt, jf, k)| Insn::new(c, jt, jf, k))
}

proptest! {
    #[test]
    fn any_program_is_handled(prog in prop::collection::vec(any_insn(), 0..80)) {
        let lines = bpf::disassemble(&prog);
        prop_assert_eq!(lines.len(), prog.len());
        for layer in [Layer::Ethernet, Layer::Ipv4, Layer::Unknown] {
            let a = bpf::analyse(&prog, layer);
            let _ = a.describe();
            if bpf::validate(&prog).is_err() {
                prop_assert!(matches!(a, Accepts::Invalid(_)));
            }
        }
    }

    #[test]
    fn any_bytes_decode(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let prog = Insn::parse_all(&bytes);
        prop_assert_eq!(prog.len(), bytes.len() / 8);
        let _ = bpf::analyse(&prog, Layer::Ethernet).describe();
    }
}

/// A long chain of tests with two ways each: 2^1000 paths; the walk gives up.
#[test]
fn path_explosion_is_bounded() {
    let mut prog = Vec::new();
    for i in 0..1000u32 {
        prog.push(Insn::new(0x30, 0, 0, i));
        prog.push(Insn::new(0x15, 0, 0, 1));
        prog.push(Insn::new(0x15, 1, 0, 2));
        prog.push(Insn::new(0x00, 0, 0, 0));
    }
    prog.push(Insn::new(0x06, 0, 0, 1));
    assert_eq!(bpf::analyse(&prog, Layer::Ethernet), Accepts::TooComplex);
    assert_eq!(bpf::disassemble(&prog).len(), 4001);
}
