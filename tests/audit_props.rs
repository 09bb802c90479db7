//! The audit's parsers over arbitrary and mutated input: /proc/net/packet and
//! sock_diag replies. No panic, and every line is a record or a warning.

use proptest::prelude::*;
use rnetstat::netlink::{self, Messages};
use rnetstat::proc::inet::Proto;
use rnetstat::proc::packet;
use std::path::Path;

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/audit")
            .join(rel),
    )
    .unwrap_or_default()
}

/// A real file with some bytes replaced, inserted or removed.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
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

/// The first sock_diag reply recorded in look1/diag_inet (1 byte tag, u32 LE length).
fn recorded_reply(file: &str) -> Vec<u8> {
    let data = fixture(file);
    let len = data
        .get(1..5)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .unwrap_or(0);
    data.get(5..5 + len).unwrap_or_default().to_vec()
}

fn lines(data: &[u8]) -> usize {
    rnetstat::proc::numbered_lines(data).count()
}

fn check_all(data: &[u8]) {
    let t = packet::parse_table(data, "fuzz");
    assert!(t.rows.len() + t.warnings.len() <= lines(data));
    let _ = netlink::inet::parse_message(data, Proto::Tcp);
    let _ = netlink::unix::parse_message(data);
    assert!(Messages::new(data).count() <= data.len() / 16 + 1);
    assert!(netlink::attributes(data).count() <= data.len() / 4);
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_all(&data);
    }

    #[test]
    fn mutated_packet_table(data in mutated(fixture("packet"))) {
        check_all(&data);
    }

    #[test]
    fn mutated_inet_reply(data in mutated(recorded_reply("look1/diag_inet"))) {
        check_all(&data);
    }

    #[test]
    fn mutated_unix_reply(data in mutated(recorded_reply("look1/diag_unix"))) {
        check_all(&data);
    }
}

#[test]
fn recorded_replies_parse() {
    let inet = recorded_reply("look1/diag_inet");
    assert!(netlink::inet::parse_message(&inet, Proto::Tcp).is_ok());
    let unix = recorded_reply("look1/diag_unix");
    assert!(netlink::unix::parse_message(&unix).is_ok());
}
