//! netstat's multicast group table (formats.md A7).

use crate::addr::{netstat_host, prefix};
use crate::escape::escape;
use crate::proc::igmp::Membership;
use crate::resolve::HostNames;
use std::io::{self, Write};
use std::net::IpAddr;

pub fn write_header(out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "IPv6/IPv4 Group Memberships")?;
    writeln!(out, "Interface       RefCnt Group")?;
    writeln!(out, "--------------- ------ ---------------------")
}

/// Addresses the table prints by name (for the concurrent resolver).
pub fn addresses_to_resolve<'a>(
    rows: impl IntoIterator<Item = &'a Membership> + 'a,
) -> impl Iterator<Item = IpAddr> + 'a {
    rows.into_iter()
        .map(|m| m.group)
        .filter(|a| !a.is_unspecified())
}

/// One membership: the group resolved like a socket address unless `numeric`.
pub fn write_row(
    out: &mut impl Write,
    m: &Membership,
    numeric: bool,
    hosts: &HostNames,
) -> io::Result<()> {
    let group = netstat_host(&m.group, numeric, hosts);
    // netstat copies the text into a 128-byte buffer.
    let group = prefix(&group, 127);
    let device = &m.device[..m.device.len().min(15)];
    writeln!(out, "{:<15} {:<6} {}", escape(device), m.users, group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows() {
        let m = Membership {
            device: b"veth1".to_vec(),
            users: 1,
            group: "ff02::1:ff03:6720".parse().unwrap(),
        };
        let mut out = Vec::new();
        write_row(&mut out, &m, true, &HostNames::default()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "veth1           1      ff02::1:ff03:6720\n"
        );
    }
}
