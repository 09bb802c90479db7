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
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

pub const IFF_PROMISC: u32 = 0x100;

/// An AF_INET datagram socket for SIOCGIFINDEX, in the caller's namespace.
pub struct IoctlSocket(OwnedFd);

impl IoctlSocket {
    pub fn open() -> io::Result<IoctlSocket> {
        // SAFETY: plain socket(2); checked below.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fresh descriptor owned by nobody else.
        Ok(IoctlSocket(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    fn ifreq(&self, name: &[u8], request: libc::Ioctl) -> Option<[u8; 40]> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(&0) {
            return None;
        }
        let mut req = [0u8; 40];
        req[..name.len()].copy_from_slice(name);
        // SAFETY: req is a 40-byte struct ifreq with a NUL-terminated name.
        let r = unsafe { libc::ioctl(self.0.as_raw_fd(), request, req.as_mut_ptr()) };
        (r == 0).then_some(req)
    }

    pub fn index(&self, name: &[u8]) -> Option<i32> {
        let r = self.ifreq(name, libc::SIOCGIFINDEX)?;
        Some(i32::from_ne_bytes([r[16], r[17], r[18], r[19]]))
    }
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
pub fn read(
    root: &ProcRoot,
    net_dir: &str,
    sys: &Path,
    sock: &IoctlSocket,
) -> io::Result<Vec<InterfaceFlags>> {
    let names = dev::read_dev(root, net_dir)?;
    let links = LinkReader::new(LinkSource::Ioctl)?;
    let class_net = sys.join("class/net");
    let mut out = Vec::new();
    for line in names.rows {
        let name = line.name;
        let index = sock.index(&name);
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
        let sock = IoctlSocket::open().unwrap();
        assert_eq!(sock.index(b"lo"), Some(1));
        assert!(sock.index(b"no-such-if0").is_none());
        assert!(sock.index(b"far-too-long-interface-name").is_none());
        let list = read(
            &ProcRoot::default(),
            "thread-self/net",
            Path::new("/sys"),
            &sock,
        )
        .unwrap();
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
