//! Every /proc parser over arbitrary bytes and over mutated real files: no panic, and
//! every line is accounted for (a record or a warning). Bounded case counts keep this
//! within seconds; raise PROPTEST_CASES for a longer run.

use proptest::prelude::*;
use rnetstat::proc::{inet, process, unix};

mod props_support;

fn line_count(data: &[u8]) -> usize {
    rnetstat::proc::numbered_lines(data).count()
}

fn check_inet(data: &[u8]) {
    for proto in inet::Proto::ALL {
        for v6 in [false, true] {
            let t = inet::parse_table(data, proto, v6, "fuzz");
            assert!(t.rows.len() + t.warnings.len() <= line_count(data));
        }
    }
}

fn check_unix(data: &[u8]) {
    let t = unix::parse_table(data, "fuzz");
    assert!(t.rows.len() + t.warnings.len() <= line_count(data));
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
    fn inet_arbitrary(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        check_inet(&data);
    }

    #[test]
    fn inet_mutated_tcp(data in props_support::mutated("proc/live/net/tcp")) {
        check_inet(&data);
    }

    #[test]
    fn inet_mutated_tcp6(data in props_support::mutated("proc/crafted/net/tcp6")) {
        check_inet(&data);
    }

    #[test]
    fn unix_arbitrary(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        check_unix(&data);
    }

    #[test]
    fn unix_mutated(data in props_support::mutated("proc/live/net/unix")) {
        check_unix(&data);
    }

    #[test]
    fn fd_link_text(link in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = process::socket_inode(&link);
        let _ = process::ns_link_inode(&link);
    }

    #[test]
    fn escaper_never_leaks_controls(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let out = rnetstat::escape::escape(&data);
        prop_assert!(!out.chars().any(char::is_control));
    }
}

/// A table of a million short garbage lines parses in one linear pass (a quadratic
/// parser would not finish within the test timeout).
#[test]
fn huge_garbage_is_linear() {
    let data = b"0: x\n".repeat(1_000_000);
    let t = inet::parse_table(&data, inet::Proto::Tcp, false, "big");
    assert_eq!(t.warnings.len(), 999_999);
    let u = unix::parse_table(&data, "big");
    assert_eq!(u.rows.len(), 0);
}
