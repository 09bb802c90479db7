//! Check 7: one MAC address answering for several IPv4 addresses (ARP spoofing
//! puts the attacker's MAC behind the gateway's address). Reads the shared
//! /proc/net/arp and /proc/net/route records (crate::proc::{arp, route}).

use super::finding::{Check, Evidence, Finding, Severity};
use crate::escape::escape;
use crate::proc::arp::{flags, ArpEntry};
use crate::proc::route::{self, Route4};
use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

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
