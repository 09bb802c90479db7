//! The route and ARP readers and renderers on recorded files (tests/fixtures/route):
//! `ns-*` were recorded in a test namespace together with what netstat -rn/-rne/-rnee/
//! -rn6 and arp -n printed for them (`ns-*.txt`); `live-*` come from this machine;
//! `broken-*` hold short lines, non-hex fields and a header without a needed column.

use rnetstat::proc::arp::parse_arp;
use rnetstat::proc::route::{parse_ipv6_route, parse_route, MissingColumn};
use rnetstat::render::arp as arp_view;
use rnetstat::render::route::{self as view, RouteOptions};
use rnetstat::resolve::{HostNames, NetworkNames};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/route")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap()
}

fn text(name: &str) -> String {
    String::from_utf8(fixture(name)).unwrap()
}

fn render4(data: &[u8], opts: RouteOptions) -> String {
    let table = parse_route(data, "route").unwrap();
    let hosts = HostNames::default();
    let networks = NetworkNames::default();
    let names = view::Names {
        hosts: &hosts,
        networks: &networks,
    };
    let mut out = Vec::new();
    view::write_route4_header(&mut out, &opts).unwrap();
    for r in &table.rows {
        view::write_route4_row(&mut out, r, &opts, names).unwrap();
    }
    String::from_utf8(out).unwrap()
}

fn render6(data: &[u8]) -> String {
    let table = parse_ipv6_route(data, "ipv6_route");
    let hosts = HostNames::default();
    let opts = RouteOptions::new(true, 0);
    let mut out = Vec::new();
    view::write_route6_header(&mut out, false).unwrap();
    for r in table
        .rows
        .iter()
        .filter(|r| view::route6_selected(r, false))
    {
        view::write_route6_row(&mut out, r, &opts, &hosts).unwrap();
    }
    String::from_utf8(out).unwrap()
}

fn render_arp(data: &[u8]) -> String {
    let table = parse_arp(data, "arp");
    let hosts = HostNames::default();
    let networks = NetworkNames::default();
    let names = arp_view::Names {
        hosts: &hosts,
        networks: &networks,
    };
    let mut out = Vec::new();
    arp_view::write_arp_table(&mut out, &table.rows, true, false, names).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn recorded_namespace_tables_render_as_netstat_printed_them() {
    let route = fixture("ns-route");
    assert!(parse_route(&route, "route").unwrap().warnings.is_empty());
    assert_eq!(
        render4(&route, RouteOptions::new(true, 0)),
        text("ns-netstat-rn.txt")
    );
    assert_eq!(
        render4(&route, RouteOptions::new(true, 1)),
        text("ns-netstat-rne.txt")
    );
    assert_eq!(
        render4(&route, RouteOptions::new(true, 2)),
        text("ns-netstat-rnee.txt")
    );
    let route6 = fixture("ns-ipv6_route");
    assert!(parse_ipv6_route(&route6, "ipv6_route").warnings.is_empty());
    assert_eq!(render6(&route6), text("ns-netstat-rn6.txt"));
    let arp = fixture("ns-arp");
    assert!(parse_arp(&arp, "arp").warnings.is_empty());
    assert_eq!(render_arp(&arp), text("ns-arp-n.txt"));
}

#[test]
fn live_tables_parse_cleanly() {
    let route = parse_route(&fixture("live-route"), "route").unwrap();
    assert!(route.warnings.is_empty() && !route.rows.is_empty());
    let route6 = parse_ipv6_route(&fixture("live-ipv6_route"), "ipv6_route");
    assert!(route6.warnings.is_empty() && !route6.rows.is_empty());
    let arp = parse_arp(&fixture("live-arp"), "arp");
    assert!(arp.warnings.is_empty());
}

fn warning_lines<T>(t: &rnetstat::proc::Table<T>) -> Vec<usize> {
    t.warnings.iter().map(|w| w.line).collect()
}

#[test]
fn broken_route_lines_warn_and_the_rest_is_printed() {
    let t = parse_route(&fixture("broken-route"), "broken-route").unwrap();
    assert_eq!(warning_lines(&t), vec![3, 4, 5, 6, 8]);
    assert!(t.warnings.iter().all(|w| w.file == "broken-route"));
    assert_eq!(t.warnings[0].message, "short line");
    assert_eq!(t.rows.len(), 3);
    let out = render4(&fixture("broken-route"), RouteOptions::new(true, 1));
    // Control bytes in an interface name are escaped; counters overflow as netstat's %d.
    assert!(
        out.contains(
            "198.51.100.0    0.0.0.0         255.255.255.0   U     -3     -1      -1 ev^[il\n"
        ),
        "{out}"
    );
    assert!(out
        .contains("10.0.0.0        0.0.0.0         255.0.0.0       U     0      0        0 vb\n"));
    assert_eq!(
        parse_route(&fixture("broken-route-header"), "h").unwrap_err(),
        MissingColumn("Mask")
    );
    assert_eq!(
        parse_route(&fixture("empty"), "e").unwrap_err(),
        MissingColumn("Iface")
    );
}

#[test]
fn broken_ipv6_route_and_arp_lines_warn() {
    let t = parse_ipv6_route(&fixture("broken-ipv6_route"), "broken-ipv6_route");
    assert_eq!(warning_lines(&t), vec![2, 3, 4, 5]);
    assert_eq!(t.rows.len(), 2);
    assert!(parse_ipv6_route(&fixture("empty"), "e").rows.is_empty());

    let a = parse_arp(&fixture("broken-arp"), "broken-arp");
    assert_eq!(warning_lines(&a), vec![3, 4, 5, 6]);
    let addrs: Vec<String> = a.rows.iter().map(|e| e.address.to_string()).collect();
    assert_eq!(addrs, ["192.0.2.9", "192.0.2.15", "192.0.2.10"]);
    assert!(parse_arp(&fixture("empty"), "e").rows.is_empty());
    assert_eq!(render_arp(&fixture("empty")), "");
}

/// The binary names the file and line of a bad row on stderr and prints the others.
#[test]
fn rnetstat_warns_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("rnt-route-fixture-{}", std::process::id()));
    let net = dir.join("net");
    std::fs::create_dir_all(&net).unwrap();
    std::fs::copy(fixture_path("broken-route"), net.join("route")).unwrap();
    std::fs::copy(fixture_path("broken-arp"), net.join("arp")).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rnetstat"))
            .arg("--proc-root")
            .arg(&dir)
            .args(args)
            .output()
            .unwrap()
    };
    let route = run(&["-rn"]);
    let arp = run(&["--arp", "-n"]);
    let v6 = run(&["-rn6"]);
    let _ = std::fs::remove_dir_all(&dir);

    let stderr = String::from_utf8_lossy(&route.stderr);
    assert_eq!(route.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("net/route:3: short line"), "{stderr}");
    assert!(stderr.contains("net/route:8: Destination is not 8 hex digits"));
    let stdout = String::from_utf8_lossy(&route.stdout);
    assert_eq!(stdout.lines().count(), 2 + 3, "{stdout}");

    let stderr = String::from_utf8_lossy(&arp.stderr);
    assert!(
        stderr.contains("net/arp:4: IP address is not a dotted quad"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&arp.stdout).lines().count(), 1 + 3);

    // No ipv6_route in this tree: netstat's message and status.
    assert_eq!(v6.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&v6.stdout).contains("INET6 (IPv6) not configured"));
}
