//! Check 7: one MAC address answering for several IPv4 addresses (ARP spoofing
//! puts the attacker's MAC behind the gateway's address).
//! Minimal readers of /proc/net/arp and /proc/net/route until the shared ones
//! (src/proc/arp.rs, src/proc/route.rs) land.

use super::finding::{Check, Evidence, Finding, Severity};
use crate::escape::escape;
use crate::proc::{fields, hex_u64, numbered_lines, ParseWarning, Table};
use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArpEntry {
    pub ip: Ipv4Addr,
    pub flags: u64,
    pub mac: String,
    pub device: Vec<u8>,
}

const ATF_COM: u64 = 0x02;

/// `IP address  HW type  Flags  HW address  Mask  Device`.
pub fn parse_arp(data: &[u8], name: &str) -> Table<ArpEntry> {
    let mut t = Table::default();
    for (lnr, line) in numbered_lines(data).skip(1) {
        let f: Vec<&[u8]> = fields(line).collect();
        let entry = (|| {
            let ip = std::str::from_utf8(f.first()?).ok()?.parse().ok()?;
            let flags = hex_u64(f.get(2)?.strip_prefix(b"0x")?)?;
            let mac = std::str::from_utf8(f.get(3)?).ok()?.to_ascii_lowercase();
            Some(ArpEntry {
                ip,
                flags,
                mac,
                device: f.get(5)?.to_vec(),
            })
        })();
        match entry {
            Some(e) => t.rows.push(e),
            None => t.warnings.push(ParseWarning {
                file: name.to_string(),
                line: lnr,
                message: "bad arp line".into(),
            }),
        }
    }
    t
}

/// Gateways of default routes in /proc/net/route (destination 0, RTF_GATEWAY).
pub fn default_gateways(route: &[u8]) -> HashSet<Ipv4Addr> {
    numbered_lines(route)
        .skip(1)
        .filter_map(|(_, line)| {
            let f: Vec<&[u8]> = fields(line).collect();
            let dest = hex_u64(f.get(1)?)?;
            let gw = hex_u64(f.get(2)?)? as u32;
            let flags = hex_u64(f.get(3)?)?;
            let mask = hex_u64(f.get(7)?)?;
            (dest == 0 && mask == 0 && flags & 0x2 != 0).then(|| Ipv4Addr::from(gw.to_le_bytes()))
        })
        .collect()
}

/// MACs behind two or more addresses; higher severity when one is a default gateway.
pub fn shared_macs(entries: &[ArpEntry], gateways: &HashSet<Ipv4Addr>, netns: u64) -> Vec<Finding> {
    let mut by_mac: BTreeMap<&str, Vec<&ArpEntry>> = BTreeMap::new();
    for e in entries {
        let zero = e.mac.bytes().all(|b| b == b'0' || b == b':');
        if e.flags & ATF_COM == 0 || zero || e.mac == "ff:ff:ff:ff:ff:ff" {
            continue;
        }
        by_mac.entry(&e.mac).or_default().push(e);
    }
    let mut out = Vec::new();
    for (mac, list) in by_mac {
        let mut ips: Vec<Ipv4Addr> = list.iter().map(|e| e.ip).collect();
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
                (Severity::High, "one MAC address answers for several IP addresses, among them the default gateway")
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

    #[test]
    fn shared_mac_with_gateway() {
        let arp =
            b"IP address       HW type     Flags       HW address            Mask     Device\n\
192.0.2.1        0x1         0x6         02:00:00:00:00:01     *        v0\n\
192.0.2.2        0x1         0x6         02:00:00:00:00:01     *        v0\n\
192.0.2.3        0x1         0x0         00:00:00:00:00:00     *        v0\n\
192.0.2.4        0x1         0x2         02:00:00:00:00:04     *        v0\n\
garbage\n";
        let t = parse_arp(arp, "arp");
        assert_eq!(t.rows.len(), 4);
        assert_eq!(t.warnings.len(), 1);
        let route = b"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
v0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
        let gws = default_gateways(route);
        assert!(gws.contains(&Ipv4Addr::new(192, 0, 2, 1)));
        let f = shared_macs(&t.rows, &gws, 7);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].evidence.addresses, vec!["192.0.2.1", "192.0.2.2"]);
        assert_eq!(f[0].evidence.mac.as_deref(), Some("02:00:00:00:00:01"));
    }
}
