//! The counter readers and the -s renderer over arbitrary bytes and mutated real files:
//! no panic, warnings point at real lines, and the printed text holds no control
//! character but the newline.

use proptest::prelude::*;
use rnetstat::proc::snmp::{self, Section};
use rnetstat::proc::Table;
use rnetstat::render::stats::{Sections, StatsWriter, Tables};

mod props_support;

fn rendered(tables: Tables, sections: &[Section]) -> String {
    let mut out = Vec::new();
    StatsWriter::new(Sections::ALL)
        .write_all(&mut out, tables, sections)
        .unwrap();
    String::from_utf8(out).expect("the renderer writes UTF-8")
}

fn check(data: &[u8], table: Table<Section>, tables: Tables) {
    let lines = rnetstat::proc::numbered_lines(data).count();
    assert!(table
        .warnings
        .iter()
        .all(|w| w.line >= 1 && w.line <= lines));
    let text = rendered(tables, &table.rows);
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
}

fn check_all(data: &[u8]) {
    check(data, snmp::parse_paired(data, "fuzz"), Tables::Inet);
    check(data, snmp::parse_snmp6(data, "fuzz"), Tables::Inet6);
    check(data, snmp::parse_sctp(data, "fuzz"), Tables::Inet);
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        check_all(&data);
    }

    #[test]
    fn mutated_snmp(data in props_support::mutated("stats/ones/net/snmp")) {
        check_all(&data);
    }

    #[test]
    fn mutated_netstat(data in props_support::mutated("stats/live/net/netstat")) {
        check_all(&data);
    }

    #[test]
    fn mutated_snmp6(data in props_support::mutated("stats/ones/net/snmp6")) {
        check_all(&data);
    }
}

/// Long keys built to make a naive substring search quadratic stay linear.
#[test]
fn long_snmp6_keys_are_linear() {
    let mut data = Vec::new();
    for _ in 0..4 {
        data.extend(vec![b'a'; 200_000]);
        data.extend_from_slice(b"6 1\n");
        data.extend(vec![b'a'; 400_000]);
        data.extend_from_slice(b" 1\n");
    }
    let t = snmp::parse_snmp6(&data, "big");
    assert_eq!(t.rows.len(), 8);
    assert!(t.warnings.is_empty());
}
