//! The route, ipv6_route and arp readers and their renderers over arbitrary bytes and
//! mutated recorded files: no panic, every line is a record or a warning at most, and
//! every rendered line ends in a newline with no raw control character in it.

use proptest::prelude::*;
use rnetstat::proc::arp::parse_arp;
use rnetstat::proc::numbered_lines;
use rnetstat::proc::route::{parse_ipv6_route, parse_route};
use rnetstat::render::arp as arp_view;
use rnetstat::render::route::{self as view, RouteOptions};
use rnetstat::resolve::{HostNames, NetworkNames};

mod props_support;

fn assert_clean(out: &[u8]) {
    let text = String::from_utf8(out.to_vec()).expect("renderers write UTF-8");
    assert!(text.is_empty() || text.ends_with('\n'));
    assert!(!text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t'));
}

fn check(data: &[u8]) {
    let lines = numbered_lines(data).count();
    let hosts = HostNames::default();
    let networks = NetworkNames::default();
    if let Ok(t) = parse_route(data, "fuzz") {
        assert!(t.rows.len() + t.warnings.len() < lines);
        for extend in 0..4 {
            let opts = RouteOptions::new(extend % 2 == 0, extend);
            let names = view::Names {
                hosts: &hosts,
                networks: &networks,
            };
            let mut out = Vec::new();
            view::write_route4_header(&mut out, &opts).unwrap();
            for r in &t.rows {
                view::write_route4_row(&mut out, r, &opts, names).unwrap();
            }
            assert_clean(&out);
        }
    }
    let t6 = parse_ipv6_route(data, "fuzz");
    assert!(t6.rows.len() + t6.warnings.len() <= lines);
    let mut out = Vec::new();
    for r in &t6.rows {
        view::write_route6_row(&mut out, r, &RouteOptions::new(true, 0), &hosts).unwrap();
    }
    assert_clean(&out);
    let ta = parse_arp(data, "fuzz");
    assert!(ta.rows.len() + ta.warnings.len() <= lines);
    let names = arp_view::Names {
        hosts: &hosts,
        networks: &networks,
    };
    let mut out = Vec::new();
    arp_view::write_arp_table(&mut out, &ta.rows, true, true, names).unwrap();
    assert_clean(&out);
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
    fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(&data);
    }

    #[test]
    fn mutated_route(data in props_support::mutated("route/ns-route")) {
        check(&data);
    }

    #[test]
    fn mutated_ipv6_route(data in props_support::mutated("route/ns-ipv6_route")) {
        check(&data);
    }

    #[test]
    fn mutated_arp(data in props_support::mutated("route/ns-arp")) {
        check(&data);
    }
}
