//! Check 6: promiscuous interfaces from two sources that a rootkit would have to
//! fake separately: sysfs (`/sys/class/net/IF/flags`, dev->flags) and the
//! SIOCGIFFLAGS ioctl (dev_get_flags: the promiscuous bit there is the one set by
//! `ip link ... promisc on`/ifconfig, not the one a packet socket or bridge adds).
//! Names come from /proc/net/dev and both flag words from the shared readers of
//! crate::proc::dev; the interface index (SIOCGIFINDEX) checks that sysfs shows this
//! namespace and names the interfaces of packet sockets.

use super::finding::{Check, Evidence, Finding, Severity};
use crate::escape::escape;
use crate::proc::dev::{self, LinkReader, LinkSource};
use crate::proc::ProcRoot;
use std::collections::HashMap;
use std::io;
use std::path::Path;

pub const IFF_PROMISC: u32 = 0x100;

/// The interface index of `name` in the calling thread's namespace (SIOCGIFINDEX,
/// through if_nametoindex(3)).
pub fn index(name: &[u8]) -> Option<i32> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(&0) {
        return None;
    }
    let index = nix::net::if_::if_nametoindex(name).ok()?;
    i32::try_from(index).ok()
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceFlags {
    pub name: Vec<u8>,
    pub index: Option<i32>,
    pub ioctl_flags: Option<u32>,
    /// None when sysfs is not there or shows another namespace's interface.
    pub sysfs_flags: Option<u32>,
    pub bridge_port: bool,
}

fn read_dec_file(path: &Path) -> Option<i32> {
    let data = crate::proc::read_file_max(path, 4096).ok()?;
    std::str::from_utf8(&data).ok()?.trim().parse().ok()
}

/// Reads both sources for every interface of the namespace (the caller's).
pub fn read(root: &ProcRoot, net_dir: &str, sys: &Path) -> io::Result<Vec<InterfaceFlags>> {
    let names = dev::read_dev(root, net_dir)?;
    let links = LinkReader::new(LinkSource::Ioctl)?;
    let class_net = sys.join("class/net");
    let mut out = Vec::new();
    for line in names.rows {
        let name = line.name;
        let index = index(&name);
        let dir =
            class_net.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&name));
        // sysfs shows the namespace of whoever mounted it: trust it for this interface
        // only when it names the same index.
        let sysfs_index = read_dec_file(&dir.join("ifindex"));
        let sysfs_flags = if index.is_some() && sysfs_index == index {
            dev::read_sysfs_link(&class_net, &name)
                .ok()
                .map(|l| l.flags as u32)
        } else {
            None
        };
        out.push(InterfaceFlags {
            index,
            ioctl_flags: links.link(&name).ok().map(|l| l.flags as u32),
            sysfs_flags,
            bridge_port: dir.join("brport").exists(),
            name,
        });
    }
    Ok(out)
}

/// Findings for interfaces either source calls promiscuous.
pub fn promiscuous(ifaces: &[InterfaceFlags], netns: u64) -> Vec<Finding> {
    let mut out = Vec::new();
    for i in ifaces {
        let by_ioctl = i.ioctl_flags.map(|f| f & IFF_PROMISC != 0);
        let by_sysfs = i.sysfs_flags.map(|f| f & IFF_PROMISC != 0);
        let (severity, summary) = match (by_sysfs, by_ioctl) {
            (Some(true), Some(true)) => (Severity::Medium, "interface in promiscuous mode (sysfs and ioctl agree)"),
            (None, Some(true)) => (Severity::Medium, "interface in promiscuous mode (ioctl; sysfs not available)"),
            (Some(true), None) => (Severity::Medium, "interface in promiscuous mode (sysfs; ioctl failed)"),
            (Some(true), Some(false)) if i.bridge_port => {
                (Severity::Low, "bridge port in promiscuous mode (set by the bridge)")
            }
            (Some(true), Some(false)) => (
                Severity::Medium,
                "interface promiscuous in sysfs only: set by a packet socket (a sniffer), not by ip/ifconfig",
            ),
            (Some(false), Some(true)) => (
                Severity::High,
                "sources disagree: ioctl says promiscuous, sysfs says not",
            ),
            _ => continue,
        };
        let mut e = Evidence::in_namespace(netns);
        e.interface = Some(escape(&i.name).into_owned());
        e.detail = Some(format!(
            "sysfs flags={} ioctl flags={}",
            i.sysfs_flags.map_or("-".into(), |f| format!("0x{f:x}")),
            i.ioctl_flags.map_or("-".into(), |f| format!("0x{f:x}")),
        ));
        out.push(Finding::new(severity, Check::Promiscuous, summary, e));
    }
    out
}

/// ifindex → name, for packet sockets.
pub fn index_names(ifaces: &[InterfaceFlags]) -> HashMap<i32, String> {
    ifaces
        .iter()
        .filter_map(|i| Some((i.index?, escape(&i.name).into_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_from_both_sources() {
        assert_eq!(index(b"lo"), Some(1));
        assert!(index(b"no-such-if0").is_none());
        assert!(index(b"far-too-long-interface-name").is_none());
        assert!(index(b"").is_none());
        assert!(index(b"l\0o").is_none());
        let list = read(&ProcRoot::default(), "thread-self/net", Path::new("/sys")).unwrap();
        let lo = list.iter().find(|i| i.name == b"lo").unwrap();
        assert_ne!(lo.ioctl_flags.unwrap() & libc::IFF_LOOPBACK as u32, 0);
    }

    #[test]
    fn disagreement_is_high() {
        let i = InterfaceFlags {
            name: b"eth0".to_vec(),
            index: Some(2),
            ioctl_flags: Some(0x1003 | IFF_PROMISC),
            sysfs_flags: Some(0x1003),
            bridge_port: false,
        };
        let f = promiscuous(&[i], 1);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
    }
}
