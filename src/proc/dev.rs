//! Interfaces: /proc/net/dev counters, /proc/net/if_inet6 addresses, and the link facts
//! netstat gets from SIOCGIF* ioctls (flags, MTU, hardware address, queue length, IPv4
//! address). The live system is asked through those same ioctls; a captured tree is
//! read from its sysfs copy (`ProcRoot::sys`), which has no IPv4 addresses.

use super::{dec_u64, fields, hex_u64, numbered_lines, ParseWarning, ProcRoot, Table};
use serde::Serialize;
use std::cmp::Ordering;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

pub const IFF_UP: u16 = 0x1;
pub const IFF_BROADCAST: u16 = 0x2;
pub const IFF_DEBUG: u16 = 0x4;
pub const IFF_LOOPBACK: u16 = 0x8;
pub const IFF_POINTOPOINT: u16 = 0x10;
pub const IFF_NOTRAILERS: u16 = 0x20;
pub const IFF_RUNNING: u16 = 0x40;
pub const IFF_NOARP: u16 = 0x80;
pub const IFF_PROMISC: u16 = 0x100;
pub const IFF_ALLMULTI: u16 = 0x200;
pub const IFF_MASTER: u16 = 0x400;
pub const IFF_SLAVE: u16 = 0x800;
pub const IFF_MULTICAST: u16 = 0x1000;
pub const IFF_PORTSEL: u16 = 0x2000;
pub const IFF_AUTOMEDIA: u16 = 0x4000;
pub const IFF_DYNAMIC: u16 = 0x8000;

/// Serializes kernel bytes (interface names) as JSON text ([`crate::escape::json_text`]).
pub fn serialize_lossy<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::escape::json_text(bytes))
}

/// The counters of one /proc/net/dev line. Older layouts lack some columns; those are 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DevCounters {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub rx_fifo: u64,
    pub rx_frame: u64,
    pub rx_compressed: u64,
    pub rx_multicast: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
    pub tx_fifo: u64,
    pub collisions: u64,
    pub tx_carrier: u64,
    pub tx_compressed: u64,
}

/// One interface of /proc/net/dev.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DevLine {
    #[serde(serialize_with = "serialize_lossy")]
    pub name: Vec<u8>,
    pub counters: DevCounters,
}

/// The /proc/net/dev layout, told by the second header line as netstat tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DevLayout {
    /// packets only (Linux 2.0)
    V1,
    /// bytes, no compressed/multicast
    V2,
    /// today's 16 columns
    V3,
}

fn dev_layout(header: &[u8]) -> DevLayout {
    let has = |w: &[u8]| header.windows(w.len()).any(|x| x == w);
    if has(b"compressed") {
        DevLayout::V3
    } else if has(b"bytes") {
        DevLayout::V2
    } else {
        DevLayout::V1
    }
}

/// Splits `  eth0: 1 2 ...` into the name and the rest. An old-style alias `eth0:1:`
/// keeps its `:1`, as net-tools' get_name does.
fn split_name(line: &[u8]) -> (&[u8], &[u8]) {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let line = &line[start..];
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b.is_ascii_whitespace() {
            return (&line[..i], &line[i..]);
        }
        if b == b':' {
            let digits = line[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if line.get(i + 1 + digits) == Some(&b':') {
                return (&line[..i + 1 + digits], &line[i + 2 + digits..]);
            }
            return (&line[..i], &line[i + 1..]);
        }
        i += 1;
    }
    (line, &[])
}

fn parse_dev_line(line: &[u8], layout: DevLayout) -> Result<DevLine, &'static str> {
    let (name, rest) = split_name(line);
    if name.is_empty() {
        return Err("no interface name");
    }
    let mut values = Vec::with_capacity(16);
    for f in fields(rest) {
        values.push(dec_u64(f).ok_or("counter is not a decimal number")?);
    }
    let want = match layout {
        DevLayout::V1 => 11,
        DevLayout::V2 => 13,
        DevLayout::V3 => 16,
    };
    if values.len() < want {
        return Err("too few counters");
    }
    let v = |i: usize| values.get(i).copied().unwrap_or(0);
    let counters = match layout {
        DevLayout::V3 => DevCounters {
            rx_bytes: v(0),
            rx_packets: v(1),
            rx_errors: v(2),
            rx_dropped: v(3),
            rx_fifo: v(4),
            rx_frame: v(5),
            rx_compressed: v(6),
            rx_multicast: v(7),
            tx_bytes: v(8),
            tx_packets: v(9),
            tx_errors: v(10),
            tx_dropped: v(11),
            tx_fifo: v(12),
            collisions: v(13),
            tx_carrier: v(14),
            tx_compressed: v(15),
        },
        DevLayout::V2 => DevCounters {
            rx_bytes: v(0),
            rx_packets: v(1),
            rx_errors: v(2),
            rx_dropped: v(3),
            rx_fifo: v(4),
            rx_frame: v(5),
            tx_bytes: v(6),
            tx_packets: v(7),
            tx_errors: v(8),
            tx_dropped: v(9),
            tx_fifo: v(10),
            collisions: v(11),
            tx_carrier: v(12),
            ..DevCounters::default()
        },
        DevLayout::V1 => DevCounters {
            rx_packets: v(0),
            rx_errors: v(1),
            rx_dropped: v(2),
            rx_fifo: v(3),
            rx_frame: v(4),
            tx_packets: v(5),
            tx_errors: v(6),
            tx_dropped: v(7),
            tx_fifo: v(8),
            collisions: v(9),
            tx_carrier: v(10),
            ..DevCounters::default()
        },
    };
    Ok(DevLine {
        name: name.to_vec(),
        counters,
    })
}

/// Parses /proc/net/dev (two header lines). `name` labels warnings.
pub fn parse_dev(data: &[u8], name: &str) -> Table<DevLine> {
    let mut table = Table::default();
    let mut layout = DevLayout::V3;
    for (lnr, line) in numbered_lines(data) {
        if lnr <= 2 {
            if lnr == 2 {
                layout = dev_layout(line);
            }
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_dev_line(line, layout) {
            Ok(dev) => table.rows.push(dev),
            Err(why) => table.warnings.push(ParseWarning {
                file: name.to_string(),
                line: lnr,
                message: why.to_string(),
            }),
        }
    }
    table
}

/// Reads `<root>/<net_dir>/dev`.
pub fn read_dev(root: &ProcRoot, net_dir: &str) -> io::Result<Table<DevLine>> {
    let rel = format!("{net_dir}/dev");
    let data = root.read(&rel)?;
    Ok(parse_dev(&data, &root.join(&rel).display().to_string()))
}

/// One line of /proc/net/if_inet6.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Inet6Addr {
    pub address: Ipv6Addr,
    pub ifindex: u32,
    pub prefix_len: u32,
    /// IPV6_ADDR_* scope bits (0 global, 0x10 host, 0x20 link, 0x40 site, 0x80 compat).
    pub scope: u32,
    pub flags: u32,
    #[serde(serialize_with = "serialize_lossy")]
    pub name: Vec<u8>,
}

fn parse_inet6_line(line: &[u8]) -> Result<Inet6Addr, &'static str> {
    let mut f = fields(line);
    let hex = f.next().ok_or("empty line")?;
    if hex.len() != 32 {
        return Err("address is not 32 hex digits");
    }
    let mut bytes = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let byte = hex_u64(pair).ok_or("address is not hex")?;
        if let Some(slot) = bytes.get_mut(i) {
            *slot = byte as u8;
        }
    }
    let mut num = |what: &'static str| -> Result<u32, &'static str> {
        f.next()
            .and_then(hex_u64)
            .filter(|&v| v <= u32::MAX as u64)
            .map(|v| v as u32)
            .ok_or(what)
    };
    let ifindex = num("bad interface index")?;
    let prefix_len = num("bad prefix length")?;
    let scope = num("bad scope")?;
    let flags = num("bad flags")?;
    let name = f.next().ok_or("no interface name")?;
    Ok(Inet6Addr {
        address: Ipv6Addr::from(bytes),
        ifindex,
        prefix_len,
        scope,
        flags,
        name: name.to_vec(),
    })
}

/// Parses /proc/net/if_inet6 (no header).
pub fn parse_if_inet6(data: &[u8], name: &str) -> Table<Inet6Addr> {
    let mut table = Table::default();
    for (lnr, line) in numbered_lines(data) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_inet6_line(line) {
            Ok(a) => table.rows.push(a),
            Err(why) => table.warnings.push(ParseWarning {
                file: name.to_string(),
                line: lnr,
                message: why.to_string(),
            }),
        }
    }
    table
}

/// Reads `<root>/<net_dir>/if_inet6`.
pub fn read_if_inet6(root: &ProcRoot, net_dir: &str) -> io::Result<Table<Inet6Addr>> {
    let rel = format!("{net_dir}/if_inet6");
    let data = root.read(&rel)?;
    Ok(parse_if_inet6(
        &data,
        &root.join(&rel).display().to_string(),
    ))
}

/// An interface's IPv4 configuration; `None` where the kernel had nothing to say
/// (netstat prints `[NONE SET]` there).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ipv4Config {
    pub address: Option<Ipv4Addr>,
    pub netmask: Option<Ipv4Addr>,
    pub broadcast: Option<Ipv4Addr>,
    pub destination: Option<Ipv4Addr>,
}

/// The hardware resources SIOCGIFMAP reports (legacy ISA-style NICs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DevMap {
    pub mem_start: u64,
    pub mem_end: u64,
    pub base_addr: u16,
    pub irq: u8,
    pub dma: u8,
    pub port: u8,
}

/// What the kernel says about one interface, as netstat's if_fetch collects it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The 16 bits SIOCGIFFLAGS carries (IFF_RUNNING from the operational state,
    /// IFF_PROMISC/IFF_ALLMULTI as requested by users).
    pub flags: u16,
    pub mtu: i32,
    /// `None` when unknown (netstat then omits `txqueuelen`).
    pub tx_queue_len: Option<i32>,
    /// ARPHRD_* hardware type.
    pub hw_type: u16,
    /// The first 8 bytes of the hardware address, zero-padded.
    pub hw_addr: [u8; 8],
    pub ipv4: Option<Ipv4Config>,
    pub map: DevMap,
}

/// Where link facts come from.
#[derive(Clone, Debug)]
pub enum LinkSource {
    /// SIOCGIF* ioctls in the caller's network namespace (what netstat does).
    Ioctl,
    /// `<dir>/<name>/{flags,operstate,mtu,...}` of a sysfs `class/net` directory.
    Sysfs(std::path::PathBuf),
}

impl LinkSource {
    /// The ioctls for the live /proc, the matching sysfs copy for anything else.
    pub fn for_root(root: &ProcRoot) -> LinkSource {
        if root.is_live() {
            LinkSource::Ioctl
        } else {
            LinkSource::Sysfs(root.sys().join("class/net"))
        }
    }
}

/// Asks for links one name at a time, holding one socket for all ioctls.
pub struct LinkReader {
    source: LinkSource,
    fd: Option<std::os::fd::OwnedFd>,
}

impl LinkReader {
    pub fn new(source: LinkSource) -> io::Result<LinkReader> {
        let fd = match source {
            LinkSource::Ioctl => Some(ioctl::socket()?),
            LinkSource::Sysfs(_) => None,
        };
        Ok(LinkReader { source, fd })
    }

    /// Names of interfaces with IPv4 addresses, alias labels included (SIOCGIFCONF);
    /// empty for sysfs, which knows no labels.
    pub fn configured_names(&self) -> io::Result<Vec<Vec<u8>>> {
        match &self.fd {
            Some(fd) => ioctl::ifconf(fd),
            None => Ok(Vec::new()),
        }
    }

    /// The link facts of `name`; `Err(ENODEV)` when it does not exist (any more).
    pub fn link(&self, name: &[u8]) -> io::Result<Link> {
        match (&self.source, &self.fd) {
            (LinkSource::Ioctl, Some(fd)) => ioctl::link(fd, name),
            (LinkSource::Sysfs(dir), _) => read_sysfs_link(dir, name),
            (LinkSource::Ioctl, None) => Err(io::Error::from_raw_os_error(libc::EBADF)),
        }
    }
}

fn sysfs_value(dir: &Path, name: &[u8], attr: &str) -> io::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    if name.is_empty() || name.contains(&b'/') || name == b"." || name == b".." {
        return Err(io::Error::from_raw_os_error(libc::ENODEV));
    }
    let path = dir.join(std::ffi::OsStr::from_bytes(name)).join(attr);
    let mut data = super::read_file_max(&path, 64 * 1024)?;
    while data.last().is_some_and(u8::is_ascii_whitespace) {
        data.pop();
    }
    Ok(data)
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// The sysfs attributes [`read_sysfs_link`] reads (a capture must keep them).
pub const SYSFS_LINK_FILES: &[&str] = &[
    "flags",
    "operstate",
    "mtu",
    "tx_queue_len",
    "address",
    "type",
];

/// Link facts from sysfs. `flags` there is the device's own flag word, which lacks
/// IFF_RUNNING: that comes from `operstate` as the kernel's dev_get_flags derives it.
pub fn read_sysfs_link(dir: &Path, name: &[u8]) -> io::Result<Link> {
    let flags_text = match sysfs_value(dir, name, "flags") {
        Ok(v) => v,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(io::Error::from_raw_os_error(libc::ENODEV))
        }
        Err(e) => return Err(e),
    };
    let hex = flags_text.strip_prefix(b"0x").unwrap_or(&flags_text);
    let mut flags = hex_u64(hex).ok_or_else(|| invalid("sysfs flags is not hex"))? as u16;
    flags &= !IFF_RUNNING;
    let oper = sysfs_value(dir, name, "operstate").unwrap_or_default();
    if flags & IFF_UP != 0 && (oper == b"up" || oper == b"unknown") {
        flags |= IFF_RUNNING;
    }
    let number = |attr: &str| -> Option<i64> {
        let v = sysfs_value(dir, name, attr).ok()?;
        std::str::from_utf8(&v).ok()?.parse().ok()
    };
    let mut hw_addr = [0u8; 8];
    if let Ok(text) = sysfs_value(dir, name, "address") {
        for (slot, part) in hw_addr.iter_mut().zip(text.split(|&b| b == b':')) {
            *slot = hex_u64(part).unwrap_or(0) as u8;
        }
    }
    Ok(Link {
        flags,
        mtu: number("mtu").unwrap_or(0) as i32,
        tx_queue_len: number("tx_queue_len").map(|v| v as i32),
        hw_type: number("type").unwrap_or(0) as u16,
        hw_addr,
        ipv4: None,
        map: DevMap::default(),
    })
}

mod ioctl {
    //! The SIOCGIF* requests net-tools' if_fetch makes, on one AF_INET socket.

    use super::{DevMap, Ipv4Config, Link};
    use std::io;
    use std::net::Ipv4Addr;
    use std::os::fd::{AsRawFd, OwnedFd};

    const IFNAMSIZ: usize = 16;
    /// struct ifreq: the name, then a union whose largest member is struct ifmap.
    const UNION: usize = 2 * std::mem::size_of::<libc::c_ulong>() + 8;

    #[repr(C, align(8))]
    #[derive(Clone, Copy)]
    struct IfReq {
        name: [u8; IFNAMSIZ],
        data: [u8; UNION],
    }

    #[repr(C)]
    struct IfConf {
        len: libc::c_int,
        buf: *mut IfReq,
    }

    pub fn socket() -> io::Result<OwnedFd> {
        use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
        Ok(socket(
            AddressFamily::Inet,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?)
    }

    fn request(name: &[u8]) -> io::Result<IfReq> {
        if name.is_empty() || name.len() >= IFNAMSIZ || name.contains(&0) {
            return Err(io::Error::from_raw_os_error(libc::ENODEV));
        }
        let mut req = IfReq {
            name: [0; IFNAMSIZ],
            data: [0; UNION],
        };
        req.name[..name.len()].copy_from_slice(name);
        Ok(req)
    }

    fn call(fd: &OwnedFd, op: libc::c_ulong, req: &mut IfReq) -> io::Result<()> {
        // SAFETY: req is a properly sized struct ifreq the kernel may read and write.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), op as _, req as *mut IfReq) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn get(fd: &OwnedFd, name: &[u8], op: libc::c_ulong) -> io::Result<[u8; UNION]> {
        let mut req = request(name)?;
        call(fd, op, &mut req)?;
        Ok(req.data)
    }

    fn i32_at(d: &[u8; UNION]) -> i32 {
        i32::from_ne_bytes([d[0], d[1], d[2], d[3]])
    }

    fn ulong_at(d: &[u8; UNION], at: usize) -> u64 {
        let n = std::mem::size_of::<libc::c_ulong>();
        let mut b = [0u8; 8];
        if let Some(src) = d.get(at..at + n) {
            if cfg!(target_endian = "little") {
                b[..n].copy_from_slice(src);
                u64::from_le_bytes(b)
            } else {
                b[8 - n..].copy_from_slice(src);
                u64::from_be_bytes(b)
            }
        } else {
            0
        }
    }

    /// A struct sockaddr_in in the union, if it is one.
    fn inet_at(d: &[u8; UNION]) -> Option<Ipv4Addr> {
        let family = u16::from_ne_bytes([d[0], d[1]]);
        (family == libc::AF_INET as u16).then(|| Ipv4Addr::new(d[4], d[5], d[6], d[7]))
    }

    fn inet(fd: &OwnedFd, name: &[u8], op: libc::c_ulong) -> io::Result<Option<Ipv4Addr>> {
        let mut req = request(name)?;
        req.data[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        call(fd, op, &mut req)?;
        Ok(inet_at(&req.data))
    }

    pub fn link(fd: &OwnedFd, name: &[u8]) -> io::Result<Link> {
        let flags_data = get(fd, name, libc::SIOCGIFFLAGS)?;
        let flags = u16::from_ne_bytes([flags_data[0], flags_data[1]]);
        let mut link = Link {
            flags,
            ..Link::default()
        };
        match get(fd, name, libc::SIOCGIFHWADDR) {
            Ok(d) => {
                link.hw_type = u16::from_ne_bytes([d[0], d[1]]);
                link.hw_addr.copy_from_slice(&d[2..10]);
            }
            // netstat then reads the type from the SIOCGIFFLAGS answer in the same buffer.
            Err(_) => link.hw_type = flags,
        }
        link.mtu = get(fd, name, libc::SIOCGIFMTU)
            .map(|d| i32_at(&d))
            .unwrap_or(0);
        if let Ok(d) = get(fd, name, libc::SIOCGIFMAP) {
            let n = std::mem::size_of::<libc::c_ulong>();
            link.map = DevMap {
                mem_start: ulong_at(&d, 0),
                mem_end: ulong_at(&d, n),
                base_addr: u16::from_ne_bytes([d[2 * n], d[2 * n + 1]]),
                irq: d[2 * n + 2],
                dma: d[2 * n + 3],
                port: d[2 * n + 4],
            };
        }
        link.tx_queue_len = get(fd, name, libc::SIOCGIFTXQLEN).ok().map(|d| i32_at(&d));
        if let Ok(Some(address)) = inet(fd, name, libc::SIOCGIFADDR) {
            link.ipv4 = Some(Ipv4Config {
                address: Some(address),
                destination: inet(fd, name, libc::SIOCGIFDSTADDR).ok().flatten(),
                broadcast: inet(fd, name, libc::SIOCGIFBRDADDR).ok().flatten(),
                netmask: inet(fd, name, libc::SIOCGIFNETMASK).ok().flatten(),
            });
        }
        Ok(link)
    }

    /// SIOCGIFCONF: one name per IPv4 address label, growing the buffer until it fits.
    pub fn ifconf(fd: &OwnedFd) -> io::Result<Vec<Vec<u8>>> {
        let mut count = 30usize;
        loop {
            let mut reqs = vec![
                IfReq {
                    name: [0; IFNAMSIZ],
                    data: [0; UNION],
                };
                count
            ];
            let size = std::mem::size_of::<IfReq>();
            let mut conf = IfConf {
                len: (count * size).min(libc::c_int::MAX as usize) as libc::c_int,
                buf: reqs.as_mut_ptr(),
            };
            // SAFETY: conf describes `reqs`, which outlives the call; the kernel writes
            // at most conf.len bytes into it.
            let rc = unsafe {
                libc::ioctl(
                    fd.as_raw_fd(),
                    libc::SIOCGIFCONF as _,
                    &mut conf as *mut IfConf,
                )
            };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            let used = usize::try_from(conf.len).unwrap_or(0) / size;
            if used >= count && count < 1 << 20 {
                count *= 2;
                continue;
            }
            return Ok(reqs
                .iter()
                .take(used)
                .map(|r| {
                    let end = r.name.iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ);
                    r.name[..end].to_vec()
                })
                .collect());
        }
    }
}

/// C's atoi over a run of digits: strtol saturates at LONG_MAX, then the cast to int
/// keeps the low 32 bits.
fn atoi_digits(digits: &[u8]) -> i32 {
    let mut v: i64 = 0;
    for &d in digits {
        v = v.saturating_mul(10).saturating_add((d - b'0') as i64);
    }
    v as i32
}

/// Splits a trailing `:<digits>` alias off a name (net-tools' cutalias).
fn cut_alias(name: &[u8]) -> (&[u8], Option<&[u8]>) {
    let digits = name.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let colon = name.len() - digits;
    if digits > 0 && colon > 0 && name[colon - 1] == b':' {
        (&name[..colon - 1], Some(&name[colon..]))
    } else {
        (name, None)
    }
}

fn c_strcmp(a: &[u8], b: &[u8]) -> Ordering {
    a.cmp(b)
}

/// net-tools' nstrcmp: names compare by their text before the trailing number, then
/// by that number, then by the alias number (`eth2 < eth10`, `eth0:2 < eth0:10`).
pub fn natural_cmp(a_full: &[u8], b_full: &[u8]) -> Ordering {
    let (a, a_alias) = cut_alias(a_full);
    let (b, b_alias) = cut_alias(b_full);
    let stem = |s: &[u8]| s.len() - s.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    let (ai, bi) = (stem(a), stem(b));
    let common = ai.min(bi);
    // strncmp stops at the first NUL; names never hold one, so a slice compare does.
    let ord = a[..common].cmp(&b[..common]);
    if ord != Ordering::Equal {
        return ord;
    }
    if ai != bi {
        return ai.cmp(&bi);
    }
    let ord = atoi_digits(&a[ai..]).cmp(&atoi_digits(&b[bi..]));
    if ord != Ordering::Equal {
        return ord;
    }
    let ord = c_strcmp(a, b);
    if ord != Ordering::Equal {
        return ord;
    }
    let av = a_alias.map_or(-1, atoi_digits);
    let bv = b_alias.map_or(-1, atoi_digits);
    if av != bv {
        return av.cmp(&bv);
    }
    match (a_alias, b_alias) {
        (Some(x), Some(y)) => c_strcmp(x, y),
        _ => Ordering::Equal,
    }
}

/// netstat's interface list: /proc/net/dev names and SIOCGIFCONF labels, sorted by
/// [`natural_cmp`], duplicates dropped. (net-tools inserts one by one from the back;
/// nstrcmp is a total order that calls only identical names equal, so sorting gives
/// the same list in O(n log n).)
pub fn interface_order<I: IntoIterator<Item = Vec<u8>>>(names: I) -> Vec<Vec<u8>> {
    let mut list: Vec<Vec<u8>> = names.into_iter().collect();
    list.sort_by(|a, b| natural_cmp(a, b));
    list.dedup();
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV: &[u8] = b"Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0\naverylongname12:123456789 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n";

    #[test]
    fn parses_dev() {
        let t = parse_dev(DEV, "dev");
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert_eq!(t.rows[0].name, b"lo");
        assert_eq!(t.rows[0].counters.rx_packets, 2);
        assert_eq!(t.rows[1].name, b"averylongname12");
        assert_eq!(t.rows[1].counters.rx_bytes, 123456789);
        assert_eq!(t.rows[1].counters.rx_fifo, 4);
        assert_eq!(t.rows[1].counters.tx_carrier, 14);
    }

    #[test]
    fn old_alias_names_keep_their_number() {
        assert_eq!(split_name(b"  eth0:1: 5 6").0, b"eth0:1");
        assert_eq!(split_name(b"eth0:5 6").0, b"eth0");
    }

    #[test]
    fn natural_order_matches_net_tools() {
        use Ordering::*;
        let cases: &[(&str, &str, Ordering)] = &[
            ("eth1", "eth1", Equal),
            ("eth0:1", "eth0:1", Equal),
            ("a", "aa", Less),
            ("eth1", "eth20", Less),
            ("eth20", "eth100", Less),
            ("eth", "eth2", Less),
            ("eth0:1", "eth0:2", Less),
            ("eth1:10", "eth13:10", Less),
            ("eth1:1", "eth1:13", Less),
            ("a", "a:", Less),
            ("eth2:10", "eth2:1", Greater),
            ("eth3:2", "eth2:3", Greater),
            ("a1b12", "a1b2", Greater),
            ("eth1", "eth01", Greater),
            ("eth01:1", "eth1:01", Less),
            ("eth01:01", "eth1:1", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(natural_cmp(a.as_bytes(), b.as_bytes()), *want, "{a} vs {b}");
        }
        let names = ["lo", "eth10", "ifb7", "eth2", "eth2:1", "eth2", "veth1"];
        let order = interface_order(names.iter().map(|n| n.as_bytes().to_vec()));
        let order: Vec<_> = order.iter().map(|n| String::from_utf8_lossy(n)).collect();
        assert_eq!(order, ["eth2", "eth2:1", "eth10", "ifb7", "lo", "veth1"]);
    }

    /// net-tools' if_cache_add: insert after the last smaller entry found from the back.
    fn insertion_order(names: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut list: Vec<Vec<u8>> = Vec::new();
        'next: for name in names {
            let mut at = 0;
            for i in (0..list.len()).rev() {
                match natural_cmp(&list[i], name) {
                    Ordering::Equal => continue 'next,
                    Ordering::Less => {
                        at = i + 1;
                        break;
                    }
                    Ordering::Greater => {}
                }
            }
            list.insert(at, name.clone());
        }
        list
    }

    #[test]
    fn sorting_equals_net_tools_insertion() {
        let alphabet = b"ae0019:";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..400 {
            let mut names = Vec::new();
            for _ in 0..12 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let len = 1 + (seed % 6) as usize;
                let name: Vec<u8> = (0..len)
                    .map(|i| alphabet[((seed >> (8 + 5 * i)) % 7) as usize])
                    .collect();
                names.push(name);
            }
            assert_eq!(interface_order(names.clone()), insertion_order(&names));
        }
    }

    #[test]
    fn parses_if_inet6() {
        let data = b"00000000000000000000000000000001 01 80 10 80       lo\nfe8000000000000024f887fffe940153 03 40 20 c0       va\nzz\n";
        let t = parse_if_inet6(data, "if_inet6");
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].address, Ipv6Addr::LOCALHOST);
        assert_eq!((t.rows[0].prefix_len, t.rows[0].scope), (128, 0x10));
        assert_eq!(t.rows[1].name, b"va");
        assert_eq!(t.warnings[0].line, 3);
    }
}
