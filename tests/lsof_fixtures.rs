//! The readers rlsof adds, on files recorded from this machine with cp
//! (tests/fixtures/lsof/) and on hand-made broken ones.

use rnetstat::proc::files::{
    make_dev, parse_fdinfo, parse_locks, parse_maps, parse_netlink, parse_packet, parse_stat,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/lsof/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn recorded_maps() {
    let maps = parse_maps(&fixture("maps"));
    // Each mapped file once, anonymous and [heap]-style maps left out.
    assert!(maps.len() > 10);
    assert!(maps[0].path.ends_with(b"/python3.11"));
    assert_eq!(maps[0].dev, make_dev(0xfe, 0));
    let mut seen = std::collections::HashSet::new();
    assert!(maps.iter().all(|m| seen.insert((m.dev, m.inode))));
    assert!(maps.iter().all(|m| m.path.first() == Some(&b'/')));
}

#[test]
fn broken_maps_lines_are_skipped() {
    let maps = parse_maps(&fixture("maps-broken"));
    assert_eq!(maps.len(), 1);
    assert_eq!(maps[0].path, b"/ok");
}

#[test]
fn recorded_fdinfo() {
    let regular = parse_fdinfo(&fixture("fdinfo-regular"));
    assert_eq!(regular.pos, Some(12));
    assert_eq!(regular.flags, Some(0o2100000));
    let eventfd = parse_fdinfo(&fixture("fdinfo-eventfd"));
    assert_eq!(eventfd.pos, Some(0));
    assert!(eventfd.eventfd_id.is_some());
}

#[test]
fn recorded_and_broken_locks() {
    let locks = parse_locks(&fixture("locks"));
    assert!(!locks.is_empty());
    assert!(locks.iter().all(|l| b"RWrw".contains(&l.kind)));
    let broken = parse_locks(&fixture("locks-broken"));
    assert_eq!(broken.len(), 1);
    assert_eq!((broken[0].pid, broken[0].kind), (7, b'R'));
}

#[test]
fn recorded_stat_and_odd_command() {
    let s = parse_stat(&fixture("stat")).unwrap();
    assert_eq!(s.comm, b"python3");
    assert_eq!(s.state, b'S');
    // A command with parentheses: up to the last ')'.
    let odd = parse_stat(&fixture("stat-odd")).unwrap();
    assert_eq!(odd.comm, b"a) b) c");
    assert_eq!((odd.state, odd.ppid, odd.pgid), (b'Z', 1, 42));
}

#[test]
fn recorded_netlink_and_packet() {
    let n = parse_netlink(&fixture("netlink"), "netlink");
    assert!(n.warnings.is_empty(), "{:?}", n.warnings);
    assert!(!n.rows.is_empty());
    let p = parse_packet(&fixture("packet-two"), "packet");
    assert_eq!(p.rows.len(), 2);
    assert_eq!((p.rows[1].sock_type, p.rows[1].protocol), (2, 0x0800));
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(p.warnings[0].line, 4);
}
