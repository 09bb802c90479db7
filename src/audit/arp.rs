//! Check 7: one MAC address answering for several IPv4 addresses (ARP spoofing
//! puts the attacker's MAC behind the gateway's address). Reads the shared
//! /proc/net/arp and /proc/net/route records (crate::proc::{arp, route}).
//! Check ndp, the same for IPv6 neighbours (crate::netlink::neigh): a host has one
//! link-local address per interface, so one MAC behind several link-local addresses
//! is what neighbour-advertisement spoofing leaves (global and temporary addresses
//! of one host legitimately share its MAC and are not counted).

use super::finding::{Check, Evidence, Finding, Severity};
use crate::escape::escape;
use crate::netlink::neigh::{Neighbour6, NUD_FAILED, NUD_INCOMPLETE, NUD_NOARP};
use crate::proc::arp::{flags, ArpEntry};
use crate::proc::route::{self, Route4, Route6};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Gateways of default routes (destination and mask 0, RTF_GATEWAY).
pub fn default_gateways(routes: &[Route4]) -> HashSet<Ipv4Addr> {
    routes
        .iter()
        .filter(|r| {
            r.destination.is_unspecified()
                && r.mask.is_unspecified()
                && r.flags & route::flags::GATEWAY != 0
        })
        .map(|r| r.gateway)
        .collect()
}

/// Next hops of IPv6 default routes (::/0 with a gateway).
pub fn default_gateways6(routes: &[Route6]) -> HashSet<Ipv6Addr> {
    routes
        .iter()
        .filter(|r| {
            r.prefix_len == 0 && r.destination.is_unspecified() && !r.next_hop.is_unspecified()
        })
        .map(|r| r.next_hop)
        .collect()
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// MACs behind two or more IPv6 link-local neighbours; high when one is a default
/// gateway. `addresses` lists every address behind the MAC, link-local first.
pub fn shared_macs6(
    entries: &[Neighbour6],
    gateways: &HashSet<Ipv6Addr>,
    ifnames: &HashMap<i32, String>,
    netns: u64,
) -> Vec<Finding> {
    let mut by_mac: BTreeMap<Vec<u8>, Vec<&Neighbour6>> = BTreeMap::new();
    for n in entries {
        let unusable = n.state & (NUD_INCOMPLETE | NUD_FAILED | NUD_NOARP) != 0 || n.state == 0;
        let zero = n.lladdr.iter().all(|&b| b == 0);
        // Group bit set: a multicast or broadcast address, not a host.
        let group = n.lladdr.first().is_some_and(|b| b & 1 == 1);
        if unusable || zero || group || n.lladdr.len() != 6 {
            continue;
        }
        by_mac.entry(n.lladdr.clone()).or_default().push(n);
    }
    let mut out = Vec::new();
    for (mac, list) in by_mac {
        let mut local: Vec<Ipv6Addr> = list
            .iter()
            .map(|n| n.address)
            .filter(is_link_local)
            .collect();
        local.sort_unstable();
        local.dedup();
        if local.len() < 2 {
            continue;
        }
        let mut others: Vec<Ipv6Addr> = list
            .iter()
            .map(|n| n.address)
            .filter(|a| !is_link_local(a))
            .collect();
        others.sort_unstable();
        others.dedup();
        let mut e = Evidence::in_namespace(netns);
        let mac_text: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
        e.mac = Some(mac_text.join(":"));
        e.addresses = local
            .iter()
            .chain(others.iter())
            .map(crate::addr::ntop6)
            .collect();
        let mut devs: Vec<String> = list
            .iter()
            .map(|n| {
                ifnames
                    .get(&n.ifindex)
                    .cloned()
                    .unwrap_or_else(|| format!("ifindex {}", n.ifindex))
            })
            .collect();
        devs.sort();
        devs.dedup();
        e.interface = Some(devs.join(","));
        let gateway = local
            .iter()
            .chain(others.iter())
            .find(|a| gateways.contains(a));
        let (severity, summary) = match gateway {
            Some(gw) => {
                e.address = Some(crate::addr::ntop6(gw));
                (
                    Severity::High,
                    "one MAC address answers for several IPv6 link-local addresses, among them the default gateway",
                )
            }
            None => (
                Severity::Medium,
                "one MAC address answers for several IPv6 link-local addresses",
            ),
        };
        out.push(Finding::new(severity, Check::Ndp, summary, e));
    }
    out
}

/// MACs behind two or more addresses; higher severity when one is a default gateway.
pub fn shared_macs(entries: &[ArpEntry], gateways: &HashSet<Ipv4Addr>, netns: u64) -> Vec<Finding> {
    let mut by_mac: BTreeMap<String, Vec<&ArpEntry>> = BTreeMap::new();
    for e in entries {
        let mac = e.hw_address.to_ascii_lowercase();
        let zero = mac.bytes().all(|b| b == b'0' || b == b':');
        if e.flags & flags::COM == 0 || zero || mac == "ff:ff:ff:ff:ff:ff" {
            continue;
        }
        by_mac.entry(mac).or_default().push(e);
    }
    let mut out = Vec::new();
    for (mac, list) in by_mac {
        let mut ips: Vec<Ipv4Addr> = list.iter().map(|e| e.address).collect();
        ips.sort_unstable();
        ips.dedup();
        if ips.len() < 2 {
            continue;
        }
        let gateway = ips.iter().find(|ip| gateways.contains(ip));
        let mut e = Evidence::in_namespace(netns);
        e.mac = Some(escape(mac.as_bytes()).into_owned());
        e.addresses = ips.iter().map(|ip| ip.to_string()).collect();
        let mut devs: Vec<String> = list
            .iter()
            .map(|e| escape(&e.device).into_owned())
            .collect();
        devs.sort();
        devs.dedup();
        e.interface = Some(devs.join(","));
        let (severity, summary) = match gateway {
            Some(gw) => {
                e.address = Some(gw.to_string());
                (
                    Severity::High,
                    "one MAC address answers for several IP addresses, among them the default gateway",
                )
            }
            None => (
                Severity::Medium,
                "one MAC address answers for several IP addresses",
            ),
        };
        out.push(Finding::new(severity, Check::Arp, summary, e));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::arp::parse_arp;

    #[test]
    fn shared_mac_behind_link_local_neighbours() {
        let n = |a: &str, mac: u8, state: u16| Neighbour6 {
            ifindex: 2,
            address: a.parse().unwrap(),
            lladdr: vec![2, 0, 0, 0, 0, mac],
            state,
        };
        let entries = vec![
            n("fe80::1", 1, 0x80),
            n("fe80::2", 1, 0x04),
            n("2001:db8::1", 1, 0x02),
            // One host's link-local and global addresses: normal.
            n("fe80::5", 5, 0x02),
            n("2001:db8::5", 5, 0x02),
            // Failed entries do not count.
            n("fe80::7", 7, 0x02),
            n("fe80::8", 7, NUD_FAILED),
        ];
        let gws: HashSet<Ipv6Addr> = ["fe80::1".parse().unwrap()].into();
        let names: HashMap<i32, String> = [(2, "v0".to_string())].into();
        let f = shared_macs6(&entries, &gws, &names, 9);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].check, Check::Ndp);
        assert_eq!(f[0].evidence.mac.as_deref(), Some("02:00:00:00:00:01"));
        assert_eq!(
            f[0].evidence.addresses,
            vec!["fe80::1", "fe80::2", "2001:db8::1"]
        );
        assert_eq!(f[0].evidence.interface.as_deref(), Some("v0"));
        assert_eq!(f[0].evidence.address.as_deref(), Some("fe80::1"));
        let f = shared_macs6(&entries, &HashSet::new(), &names, 9);
        assert_eq!(f[0].severity, Severity::Medium);
    }

    #[test]
    fn shared_mac_with_gateway() {
        let arp =
            b"IP address       HW type     Flags       HW address            Mask     Device\n\
192.0.2.1        0x1         0x6         02:00:00:00:00:01     *        v0\n\
192.0.2.2        0x1         0x6         02:00:00:00:00:01     *        v0\n\
192.0.2.3        0x1         0x0         00:00:00:00:00:00     *        v0\n\
192.0.2.5        0x1         0x0         02:00:00:00:00:04     *        v0\n\
192.0.2.4        0x1         0x2         02:00:00:00:00:04     *        v0\n";
        let t = parse_arp(arp, "arp");
        assert_eq!(t.rows.len(), 5);
        let route = b"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
v0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
v0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let routes = crate::proc::route::parse_route(route, "route").unwrap();
        let gws = default_gateways(&routes.rows);
        assert_eq!(
            gws.into_iter().collect::<Vec<_>>(),
            vec![Ipv4Addr::new(192, 0, 2, 1)]
        );
        let f = shared_macs(&t.rows, &default_gateways(&routes.rows), 7);
        // 02:..:04 has one complete entry only (the other is incomplete).
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].evidence.addresses, vec!["192.0.2.1", "192.0.2.2"]);
        assert_eq!(f[0].evidence.mac.as_deref(), Some("02:00:00:00:00:01"));
        assert_eq!(f[0].evidence.address.as_deref(), Some("192.0.2.1"));
    }
}
