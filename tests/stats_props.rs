//! The counter readers and the -s renderer over arbitrary bytes and mutated real files:
//! no panic, warnings point at real lines, and the printed text holds no control
//! character but the newline.

use proptest::prelude::*;
use rnetstat::proc::snmp::{self, Section};
use rnetstat::proc::Table;
use rnetstat::render::stats::{Sections, StatsWriter, Tables};
use std::path::Path;

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/stats")
            .join(rel),
    )
    .unwrap_or_default()
}

/// A real file with some bytes replaced, inserted or removed.
fn mutated(seed_file: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let base = fixture(seed_file);
    let len = base.len().max(1);
    proptest::collection::vec((0..len, any::<u8>(), 0u8..3), 0..24).prop_map(move |edits| {
        let mut data = base.clone();
        for (pos, byte, kind) in edits {
            let pos = pos.min(data.len());
            match kind {
                0 if pos < data.len() => data[pos] = byte,
                1 => data.insert(pos, byte),
                _ if pos < data.len() => {
                    data.remove(pos);
                }
                _ => {}
            }
        }
        data
    })
}

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
    fn mutated_snmp(data in mutated("ones/net/snmp")) {
        check_all(&data);
    }

    #[test]
    fn mutated_netstat(data in mutated("live/net/netstat")) {
        check_all(&data);
    }

    #[test]
    fn mutated_snmp6(data in mutated("ones/net/snmp6")) {
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
