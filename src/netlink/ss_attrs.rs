//! The parts of sock_diag replies that `ss` shows beyond the address columns: the
//! inet_diag_msg / unix_diag_msg / packet_diag_msg header fields and the attributes
//! behind them (tcp_info, meminfo, congestion control, tos, shutdown, cgroup, ...).
//!
//! Every reader borrows the reply and never panics: a missing or short attribute
//! reads as zeros past its end, as ss's fixed-size structs would with a zero-filled
//! tail (ss itself only zero-fills tcp_info; for the others it reads whatever follows
//! in its buffer, which we cannot and do not reproduce).

use super::attributes;

/// sizeof(struct inet_diag_msg).
pub const INET_MSG_LEN: usize = 72;
/// sizeof(struct unix_diag_msg).
pub const UNIX_MSG_LEN: usize = 16;
/// sizeof(struct packet_diag_msg).
pub const PACKET_MSG_LEN: usize = 16;

// enum inet_diag attribute numbers (linux/inet_diag.h).
pub const INET_DIAG_MEMINFO: u16 = 1;
pub const INET_DIAG_INFO: u16 = 2;
pub const INET_DIAG_VEGASINFO: u16 = 3;
pub const INET_DIAG_CONG: u16 = 4;
pub const INET_DIAG_TOS: u16 = 5;
pub const INET_DIAG_TCLASS: u16 = 6;
pub const INET_DIAG_SKMEMINFO: u16 = 7;
pub const INET_DIAG_SHUTDOWN: u16 = 8;
pub const INET_DIAG_DCTCPINFO: u16 = 9;
pub const INET_DIAG_PROTOCOL: u16 = 10;
pub const INET_DIAG_SKV6ONLY: u16 = 11;
pub const INET_DIAG_MARK: u16 = 15;
pub const INET_DIAG_BBRINFO: u16 = 16;
pub const INET_DIAG_CLASS_ID: u16 = 17;
pub const INET_DIAG_MD5SIG: u16 = 18;
pub const INET_DIAG_ULP_INFO: u16 = 19;
pub const INET_DIAG_CGROUP_ID: u16 = 21;
pub const INET_DIAG_SOCKOPT: u16 = 22;

/// The `idiag_ext` bits ss sets in its request for each of its options, so the
/// dumping side asks for exactly what the formatter will look at.
pub mod ext {
    use super::*;
    const fn bit(attr: u16) -> u8 {
        1 << (attr - 1)
    }
    /// `-m`: INET_DIAG_MEMINFO and INET_DIAG_SKMEMINFO.
    pub const MEM: u8 = bit(INET_DIAG_MEMINFO) | bit(INET_DIAG_SKMEMINFO);
    /// `-i`: tcp_info, the congestion control's own info, its name.
    pub const INFO: u8 = bit(INET_DIAG_INFO) | bit(INET_DIAG_VEGASINFO) | bit(INET_DIAG_CONG);
    /// `--tos`: TOS and TCLASS (the latter also brings CLASS_ID).
    pub const TOS: u8 = bit(INET_DIAG_TOS) | bit(INET_DIAG_TCLASS);

    /// The idiag_ext byte for ss's `-m`, `-i` and `--tos`.
    pub fn for_options(mem: bool, info: bool, tos: bool) -> u8 {
        (if mem { MEM } else { 0 }) | (if info { INFO } else { 0 }) | (if tos { TOS } else { 0 })
    }
}

pub const UNIX_DIAG_NAME: u16 = 0;
pub const UNIX_DIAG_VFS: u16 = 1;
pub const UNIX_DIAG_PEER: u16 = 2;
pub const UNIX_DIAG_ICONS: u16 = 3;
pub const UNIX_DIAG_RQLEN: u16 = 4;
pub const UNIX_DIAG_MEMINFO: u16 = 5;
pub const UNIX_DIAG_SHUTDOWN: u16 = 6;
pub const UNIX_DIAG_UID: u16 = 7;

pub const PACKET_DIAG_INFO: u16 = 0;
pub const PACKET_DIAG_RX_RING: u16 = 2;
pub const PACKET_DIAG_TX_RING: u16 = 3;
pub const PACKET_DIAG_FANOUT: u16 = 4;
pub const PACKET_DIAG_UID: u16 = 5;
pub const PACKET_DIAG_MEMINFO: u16 = 6;
pub const PACKET_DIAG_FILTER: u16 = 7;

/// Reads `N` bytes at `at`, zeros where the slice ends first.
fn bytes<const N: usize>(data: &[u8], at: usize) -> [u8; N] {
    let mut b = [0u8; N];
    if let Some(src) = data.get(at..) {
        let n = src.len().min(N);
        b[..n].copy_from_slice(&src[..n]);
    }
    b
}

/// Native-endian readers that zero-fill past the end.
pub fn u8_at(data: &[u8], at: usize) -> u8 {
    data.get(at).copied().unwrap_or(0)
}
pub fn u16_at(data: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes(bytes(data, at))
}
pub fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bytes(data, at))
}
pub fn u64_at(data: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(bytes(data, at))
}

/// The first attribute of each type wins, as iproute2's parse_rtattr keeps it.
fn first<'a>(slot: &mut Option<&'a [u8]>, value: &'a [u8]) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

/// struct inet_diag_msg and the attributes ss reads, borrowed from one reply.
#[derive(Clone, Copy, Debug, Default)]
pub struct InetDiag<'a> {
    pub family: u8,
    pub state: u8,
    pub timer: u8,
    pub retrans: u8,
    pub sport: u16,
    pub dport: u16,
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub ifindex: u32,
    /// The socket cookie ss prints as `sk:`.
    pub cookie: u64,
    /// Milliseconds until the timer fires.
    pub expires: u32,
    pub rqueue: u32,
    pub wqueue: u32,
    pub uid: u32,
    pub inode: u32,
    pub meminfo: Option<&'a [u8]>,
    pub info: Option<&'a [u8]>,
    pub vegas: Option<&'a [u8]>,
    pub cong: Option<&'a [u8]>,
    pub tos: Option<&'a [u8]>,
    pub tclass: Option<&'a [u8]>,
    pub skmeminfo: Option<&'a [u8]>,
    pub shutdown: Option<&'a [u8]>,
    pub dctcp: Option<&'a [u8]>,
    pub protocol: Option<&'a [u8]>,
    pub v6only: Option<&'a [u8]>,
    pub mark: Option<&'a [u8]>,
    pub bbr: Option<&'a [u8]>,
    pub class_id: Option<&'a [u8]>,
    pub md5sig: Option<&'a [u8]>,
    pub ulp: Option<&'a [u8]>,
    pub cgroup_id: Option<&'a [u8]>,
    pub sockopt: Option<&'a [u8]>,
}

impl<'a> InetDiag<'a> {
    /// Parses one reply payload (after the nlmsghdr). `None` when it is too short to
    /// hold the header.
    pub fn parse(data: &'a [u8]) -> Option<InetDiag<'a>> {
        let head = data.get(..INET_MSG_LEN)?;
        let mut d = InetDiag {
            family: head[0],
            state: head[1],
            timer: head[2],
            retrans: head[3],
            sport: u16::from_be_bytes([head[4], head[5]]),
            dport: u16::from_be_bytes([head[6], head[7]]),
            src: bytes(head, 8),
            dst: bytes(head, 24),
            ifindex: u32_at(head, 40),
            // ss: ((u64)cookie[1] << 32) | cookie[0].
            cookie: (u64::from(u32_at(head, 48)) << 32) | u64::from(u32_at(head, 44)),
            expires: u32_at(head, 52),
            rqueue: u32_at(head, 56),
            wqueue: u32_at(head, 60),
            uid: u32_at(head, 64),
            inode: u32_at(head, 68),
            ..InetDiag::default()
        };
        for (kind, value) in attributes(&data[INET_MSG_LEN..]) {
            let slot = match kind {
                INET_DIAG_MEMINFO => &mut d.meminfo,
                INET_DIAG_INFO => &mut d.info,
                INET_DIAG_VEGASINFO => &mut d.vegas,
                INET_DIAG_CONG => &mut d.cong,
                INET_DIAG_TOS => &mut d.tos,
                INET_DIAG_TCLASS => &mut d.tclass,
                INET_DIAG_SKMEMINFO => &mut d.skmeminfo,
                INET_DIAG_SHUTDOWN => &mut d.shutdown,
                INET_DIAG_DCTCPINFO => &mut d.dctcp,
                INET_DIAG_PROTOCOL => &mut d.protocol,
                INET_DIAG_SKV6ONLY => &mut d.v6only,
                INET_DIAG_MARK => &mut d.mark,
                INET_DIAG_BBRINFO => &mut d.bbr,
                INET_DIAG_CLASS_ID => &mut d.class_id,
                INET_DIAG_MD5SIG => &mut d.md5sig,
                INET_DIAG_ULP_INFO => &mut d.ulp,
                INET_DIAG_CGROUP_ID => &mut d.cgroup_id,
                INET_DIAG_SOCKOPT => &mut d.sockopt,
                _ => continue,
            };
            first(slot, value);
        }
        Some(d)
    }

    /// The fwmark (INET_DIAG_MARK, only sent to CAP_NET_ADMIN), 0 when absent.
    pub fn mark(&self) -> u32 {
        self.mark.map_or(0, |v| u32_at(v, 0))
    }

    /// The cgroup v2 id, 0 when absent.
    pub fn cgroup(&self) -> u64 {
        self.cgroup_id.map_or(0, |v| u64_at(v, 0))
    }

    pub fn tcp_info(&self) -> Option<TcpInfo> {
        self.info.map(TcpInfo::parse)
    }
}

/// struct tcp_info as iproute2 6.1 knows it (232 bytes). Shorter replies (older
/// kernels) read as zeros past their end; longer ones (newer kernels) are cut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo {
    pub state: u8,
    pub ca_state: u8,
    pub retransmits: u8,
    pub probes: u8,
    pub backoff: u8,
    pub options: u8,
    pub snd_wscale: u8,
    pub rcv_wscale: u8,
    pub delivery_rate_app_limited: bool,
    pub rto: u32,
    pub ato: u32,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    pub unacked: u32,
    pub sacked: u32,
    pub lost: u32,
    pub retrans: u32,
    pub fackets: u32,
    pub last_data_sent: u32,
    pub last_ack_sent: u32,
    pub last_data_recv: u32,
    pub last_ack_recv: u32,
    pub pmtu: u32,
    pub rcv_ssthresh: u32,
    pub rtt: u32,
    pub rttvar: u32,
    pub snd_ssthresh: u32,
    pub snd_cwnd: u32,
    pub advmss: u32,
    pub reordering: u32,
    pub rcv_rtt: u32,
    pub rcv_space: u32,
    pub total_retrans: u32,
    pub pacing_rate: u64,
    pub max_pacing_rate: u64,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub segs_out: u32,
    pub segs_in: u32,
    pub notsent_bytes: u32,
    pub min_rtt: u32,
    pub data_segs_in: u32,
    pub data_segs_out: u32,
    pub delivery_rate: u64,
    pub busy_time: u64,
    pub rwnd_limited: u64,
    pub sndbuf_limited: u64,
    pub delivered: u32,
    pub delivered_ce: u32,
    pub bytes_sent: u64,
    pub bytes_retrans: u64,
    pub dsack_dups: u32,
    pub reord_seen: u32,
    pub rcv_ooopack: u32,
    pub snd_wnd: u32,
}

pub const TCP_INFO_LEN: usize = 232;

// tcpi_options bits.
pub const TCPI_OPT_TIMESTAMPS: u8 = 1;
pub const TCPI_OPT_SACK: u8 = 2;
pub const TCPI_OPT_WSCALE: u8 = 4;
pub const TCPI_OPT_ECN: u8 = 8;
pub const TCPI_OPT_ECN_SEEN: u8 = 16;
pub const TCPI_OPT_SYN_DATA: u8 = 32;

impl TcpInfo {
    pub fn parse(v: &[u8]) -> TcpInfo {
        let b: [u8; TCP_INFO_LEN] = bytes(v, 0);
        let w = |at| u32_at(&b, at);
        let q = |at| u64_at(&b, at);
        // The C bitfields `snd_wscale:4, rcv_wscale:4` and `app_limited:1` are
        // allocated from the low bit on little-endian targets, the high bit on big.
        let (snd_wscale, rcv_wscale, app_limited) = if cfg!(target_endian = "little") {
            (b[6] & 0xf, b[6] >> 4, b[7] & 1 != 0)
        } else {
            (b[6] >> 4, b[6] & 0xf, b[7] & 0x80 != 0)
        };
        TcpInfo {
            state: b[0],
            ca_state: b[1],
            retransmits: b[2],
            probes: b[3],
            backoff: b[4],
            options: b[5],
            snd_wscale,
            rcv_wscale,
            delivery_rate_app_limited: app_limited,
            rto: w(8),
            ato: w(12),
            snd_mss: w(16),
            rcv_mss: w(20),
            unacked: w(24),
            sacked: w(28),
            lost: w(32),
            retrans: w(36),
            fackets: w(40),
            last_data_sent: w(44),
            last_ack_sent: w(48),
            last_data_recv: w(52),
            last_ack_recv: w(56),
            pmtu: w(60),
            rcv_ssthresh: w(64),
            rtt: w(68),
            rttvar: w(72),
            snd_ssthresh: w(76),
            snd_cwnd: w(80),
            advmss: w(84),
            reordering: w(88),
            rcv_rtt: w(92),
            rcv_space: w(96),
            total_retrans: w(100),
            pacing_rate: q(104),
            max_pacing_rate: q(112),
            bytes_acked: q(120),
            bytes_received: q(128),
            segs_out: w(136),
            segs_in: w(140),
            notsent_bytes: w(144),
            min_rtt: w(148),
            data_segs_in: w(152),
            data_segs_out: w(156),
            delivery_rate: q(160),
            busy_time: q(168),
            rwnd_limited: q(176),
            sndbuf_limited: q(184),
            delivered: w(192),
            delivered_ce: w(196),
            bytes_sent: q(200),
            bytes_retrans: q(208),
            dsack_dups: w(216),
            reord_seen: w(220),
            rcv_ooopack: w(224),
            snd_wnd: w(228),
        }
    }
}

/// The seven to nine u32 counters of SK_MEMINFO (INET_DIAG_SKMEMINFO,
/// UNIX_DIAG_MEMINFO, PACKET_DIAG_MEMINFO): r, rb, t, tb, f, w, o, bl, d.
/// `backlog` and `drops` are `None` when the kernel's array is too short for them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkMemInfo {
    pub rmem_alloc: u32,
    pub rcvbuf: u32,
    pub wmem_alloc: u32,
    pub sndbuf: u32,
    pub fwd_alloc: u32,
    pub wmem_queued: u32,
    pub optmem: u32,
    pub backlog: Option<u32>,
    pub drops: Option<u32>,
}

impl SkMemInfo {
    pub fn parse(v: &[u8]) -> SkMemInfo {
        let w = |i: usize| u32_at(v, i * 4);
        let opt = |i: usize| (v.len() >= (i + 1) * 4).then(|| w(i));
        SkMemInfo {
            rmem_alloc: w(0),
            rcvbuf: w(1),
            wmem_alloc: w(2),
            sndbuf: w(3),
            fwd_alloc: w(4),
            wmem_queued: w(5),
            optmem: w(6),
            backlog: opt(7),
            drops: opt(8),
        }
    }
}

/// struct unix_diag_msg and the attributes ss reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct UnixDiag<'a> {
    pub sock_type: u8,
    pub state: u8,
    pub inode: u32,
    pub cookie: u64,
    pub name: Option<&'a [u8]>,
    pub vfs: Option<&'a [u8]>,
    pub peer: Option<&'a [u8]>,
    pub icons: Option<&'a [u8]>,
    pub rqlen: Option<&'a [u8]>,
    pub meminfo: Option<&'a [u8]>,
    pub shutdown: Option<&'a [u8]>,
    pub uid: Option<&'a [u8]>,
}

impl<'a> UnixDiag<'a> {
    pub fn parse(data: &'a [u8]) -> Option<UnixDiag<'a>> {
        let head = data.get(..UNIX_MSG_LEN)?;
        let mut d = UnixDiag {
            sock_type: head[1],
            state: head[2],
            inode: u32_at(head, 4),
            cookie: (u64::from(u32_at(head, 12)) << 32) | u64::from(u32_at(head, 8)),
            ..UnixDiag::default()
        };
        for (kind, value) in attributes(&data[UNIX_MSG_LEN..]) {
            let slot = match kind {
                UNIX_DIAG_NAME => &mut d.name,
                UNIX_DIAG_VFS => &mut d.vfs,
                UNIX_DIAG_PEER => &mut d.peer,
                UNIX_DIAG_ICONS => &mut d.icons,
                UNIX_DIAG_RQLEN => &mut d.rqlen,
                UNIX_DIAG_MEMINFO => &mut d.meminfo,
                UNIX_DIAG_SHUTDOWN => &mut d.shutdown,
                UNIX_DIAG_UID => &mut d.uid,
                _ => continue,
            };
            first(slot, value);
        }
        Some(d)
    }

    /// (inode, st_dev as the kernel encodes it) of a bound path.
    pub fn vfs(&self) -> Option<(u32, u32)> {
        self.vfs.map(|v| (u32_at(v, 0), u32_at(v, 4)))
    }

    /// The accept queue of a listener: inodes of the waiting connections.
    pub fn incoming(&self) -> impl Iterator<Item = u32> + 'a {
        self.icons
            .unwrap_or_default()
            .chunks_exact(4)
            .map(|c| u32_at(c, 0))
    }
}

/// struct packet_diag_msg and the attributes ss reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct PacketDiag<'a> {
    pub sock_type: u8,
    /// The protocol number in host order, as ss keeps it.
    pub num: u16,
    pub inode: u32,
    pub cookie: u64,
    pub info: Option<&'a [u8]>,
    pub rx_ring: Option<&'a [u8]>,
    pub tx_ring: Option<&'a [u8]>,
    pub fanout: Option<&'a [u8]>,
    pub uid: Option<&'a [u8]>,
    pub meminfo: Option<&'a [u8]>,
    pub filter: Option<&'a [u8]>,
}

/// struct packet_diag_info.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketInfo {
    pub index: u32,
    pub version: u32,
    pub reserve: u32,
    pub copy_thresh: u32,
    pub tstamp: u32,
    pub flags: u32,
}

/// struct packet_diag_ring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketRing {
    pub block_size: u32,
    pub block_nr: u32,
    pub frame_size: u32,
    pub frame_nr: u32,
    pub retire_tmo: u32,
    pub sizeof_priv: u32,
    pub features: u32,
}

impl<'a> PacketDiag<'a> {
    pub fn parse(data: &'a [u8]) -> Option<PacketDiag<'a>> {
        let head = data.get(..PACKET_MSG_LEN)?;
        let mut d = PacketDiag {
            sock_type: head[1],
            num: u16_at(head, 2),
            inode: u32_at(head, 4),
            cookie: (u64::from(u32_at(head, 12)) << 32) | u64::from(u32_at(head, 8)),
            ..PacketDiag::default()
        };
        for (kind, value) in attributes(&data[PACKET_MSG_LEN..]) {
            let slot = match kind {
                PACKET_DIAG_INFO => &mut d.info,
                PACKET_DIAG_RX_RING => &mut d.rx_ring,
                PACKET_DIAG_TX_RING => &mut d.tx_ring,
                PACKET_DIAG_FANOUT => &mut d.fanout,
                PACKET_DIAG_UID => &mut d.uid,
                PACKET_DIAG_MEMINFO => &mut d.meminfo,
                PACKET_DIAG_FILTER => &mut d.filter,
                _ => continue,
            };
            first(slot, value);
        }
        Some(d)
    }

    pub fn info(&self) -> Option<PacketInfo> {
        self.info.map(|v| PacketInfo {
            index: u32_at(v, 0),
            version: u32_at(v, 4),
            reserve: u32_at(v, 8),
            copy_thresh: u32_at(v, 12),
            tstamp: u32_at(v, 16),
            flags: u32_at(v, 20),
        })
    }

    pub fn ring(v: &[u8]) -> PacketRing {
        PacketRing {
            block_size: u32_at(v, 0),
            block_nr: u32_at(v, 4),
            frame_size: u32_at(v, 8),
            frame_nr: u32_at(v, 12),
            retire_tmo: u32_at(v, 16),
            sizeof_priv: u32_at(v, 20),
            features: u32_at(v, 24),
        }
    }

    pub fn uid(&self) -> u32 {
        self.uid.map_or(0, |v| u32_at(v, 0))
    }
}

/// sizeof(struct netlink_diag_msg).
pub const NETLINK_MSG_LEN: usize = 28;
pub const NETLINK_DIAG_MEMINFO: u16 = 0;
pub const NETLINK_DIAG_GROUPS: u16 = 1;

/// struct netlink_diag_msg and the attributes ss reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct NetlinkDiag<'a> {
    pub protocol: u8,
    pub state: u8,
    pub portid: u32,
    pub dst_portid: u32,
    pub dst_group: u32,
    pub inode: u32,
    pub meminfo: Option<&'a [u8]>,
    pub groups: Option<&'a [u8]>,
}

impl<'a> NetlinkDiag<'a> {
    pub fn parse(data: &'a [u8]) -> Option<NetlinkDiag<'a>> {
        let head = data.get(..NETLINK_MSG_LEN)?;
        let mut d = NetlinkDiag {
            protocol: head[2],
            state: head[3],
            portid: u32_at(head, 4),
            dst_portid: u32_at(head, 8),
            dst_group: u32_at(head, 12),
            inode: u32_at(head, 16),
            ..NetlinkDiag::default()
        };
        for (kind, value) in attributes(&data[NETLINK_MSG_LEN..]) {
            let slot = match kind {
                NETLINK_DIAG_MEMINFO => &mut d.meminfo,
                NETLINK_DIAG_GROUPS => &mut d.groups,
                _ => continue,
            };
            first(slot, value);
        }
        Some(d)
    }

    /// The first word of the group bitmap, as ss reads it (`*(unsigned long *)`,
    /// then kept in an unsigned int): groups 1 to 32. 0 when the bitmap is empty.
    pub fn groups(&self) -> u32 {
        self.groups.map_or(0, |v| u64_at(v, 0) as u32)
    }
}

/// How a `TCPDIAG_FILE` (an `ss -D` dump) ended.
#[derive(Debug)]
pub enum FileEnd {
    /// NLMSG_DONE: the only clean end (ss stops at the first one, so a dump of
    /// both families shows only the IPv4 part).
    Done,
    /// The file ended inside or instead of a message: ss writes
    /// "Unexpected EOF reading $TCPDIAG_FILE" (no newline) to stderr.
    Eof,
    /// An NLMSG_ERROR message: its errno (negated as the kernel sends it), or
    /// `None` when the message is too short to hold one ("ERROR truncated").
    Error(Option<i32>),
    /// A message longer than [`MAX_FILE_MESSAGE`] (where ss overruns its 16 KiB
    /// buffer); reading stops there.
    TooLong,
    /// Reading failed (ss: "Reading header from $TCPDIAG_FILE: ..." or
    /// "Reading $TCPDIAG_FILE: ...", with `in_header` telling which).
    Read {
        error: std::io::Error,
        in_header: bool,
    },
}

/// The largest message read from a `TCPDIAG_FILE`: ss's buffer is 16 KiB.
pub const MAX_FILE_MESSAGE: usize = 16384;

/// The messages of a `TCPDIAG_FILE` as ss 6.1 reads them (tcp_show_netlink_file):
/// a 16-byte nlmsghdr, then NLMSG_ALIGN(nlmsg_len - 16) bytes, until NLMSG_DONE.
/// Calls `f` with each reply payload (every other message type is taken as an
/// inet_diag reply, as ss does) and says how the file ended. Reads as it goes:
/// the file may be large, or a pipe.
pub fn tcpdiag_file(mut r: impl std::io::Read, mut f: impl FnMut(&[u8])) -> FileEnd {
    use std::io::Read;
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    let mut buf = Vec::with_capacity(MAX_FILE_MESSAGE);
    loop {
        let mut head = [0u8; 16];
        match read_full(&mut r, &mut head) {
            Ok(true) => {}
            Ok(false) => return FileEnd::Eof,
            Err(error) => {
                return FileEnd::Read {
                    error,
                    in_header: true,
                }
            }
        }
        let len = u32_at(&head, 0);
        let kind = u16_at(&head, 4);
        // ss computes NLMSG_ALIGN(nlmsg_len - 16) in 64-bit unsigned arithmetic: a
        // length under 13 wraps to a huge read, 13 to 16 round to an empty body.
        let body = u64::from(len).wrapping_sub(16).wrapping_add(3) & !3;
        if body > (MAX_FILE_MESSAGE - 16) as u64 {
            return FileEnd::TooLong;
        }
        buf.clear();
        match (&mut r).take(body).read_to_end(&mut buf) {
            Ok(n) if n as u64 == body => {}
            Ok(_) => return FileEnd::Eof,
            Err(error) => {
                return FileEnd::Read {
                    error,
                    in_header: false,
                }
            }
        }
        match kind {
            NLMSG_DONE => return FileEnd::Done,
            NLMSG_ERROR => {
                return FileEnd::Error((len >= 16 + 4 + 16).then(|| u32_at(&buf, 0) as i32))
            }
            _ => {}
        }
        // The payload ss parses ends at nlmsg_len, not at the aligned read.
        let end = (len as usize).saturating_sub(16).min(buf.len());
        f(&buf[..end]);
    }
}

/// Fills `out` completely (`Ok(true)`), or meets the end of the input first.
fn read_full(r: &mut impl std::io::Read, out: &mut [u8]) -> std::io::Result<bool> {
    let mut got = 0;
    while got < out.len() {
        match r.read(&mut out[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&(4 + value.len() as u16).to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(value);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    #[test]
    fn short_tcp_info_reads_as_zero_filled() {
        let mut v = vec![0u8; 104];
        v[6] = 0x97; // snd_wscale 7, rcv_wscale 9
        v[7] = 1;
        v[8..12].copy_from_slice(&204_000u32.to_ne_bytes());
        v[100..104].copy_from_slice(&5u32.to_ne_bytes());
        let t = TcpInfo::parse(&v);
        assert_eq!((t.snd_wscale, t.rcv_wscale), (7, 9));
        assert!(t.delivery_rate_app_limited);
        assert_eq!((t.rto, t.total_retrans, t.snd_wnd), (204_000, 5, 0));
        // Longer than ours: cut.
        let mut long = vec![0u8; 300];
        long[228..232].copy_from_slice(&65535u32.to_ne_bytes());
        assert_eq!(TcpInfo::parse(&long).snd_wnd, 65535);
    }

    #[test]
    fn inet_header_and_first_attribute_wins() {
        let mut m = vec![0u8; INET_MSG_LEN];
        m[0] = 10;
        m[1] = 1;
        m[44..48].copy_from_slice(&0xdead_beefu32.to_ne_bytes());
        m[48..52].copy_from_slice(&0x1u32.to_ne_bytes());
        m[64..68].copy_from_slice(&1000u32.to_ne_bytes());
        m.extend(attr(INET_DIAG_SHUTDOWN, &[2]));
        m.extend(attr(INET_DIAG_SHUTDOWN, &[3]));
        m.extend(attr(INET_DIAG_CGROUP_ID, &77u64.to_ne_bytes()));
        let d = InetDiag::parse(&m).unwrap();
        assert_eq!(d.cookie, 0x1_dead_beef);
        assert_eq!(d.uid, 1000);
        assert_eq!(d.shutdown, Some(&[2u8][..]));
        assert_eq!(d.cgroup(), 77);
        assert_eq!(d.mark(), 0);
        assert!(InetDiag::parse(&m[..71]).is_none());
    }

    fn message(kind: u16, payload: &[u8], len: Option<u32>) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&len.unwrap_or(16 + payload.len() as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(payload);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    #[test]
    fn tcpdiag_file_ends_as_ss_reads_it() {
        let read = |data: &[u8]| {
            let mut payloads = Vec::new();
            let end = tcpdiag_file(data, |p| payloads.push(p.to_vec()));
            (payloads, end)
        };
        let mut data = message(20, &[1, 2, 3, 4, 5], None);
        data.extend(message(3, &[0; 4], None));
        data.extend(message(20, &[9], None));
        let (p, end) = read(&data);
        assert_eq!(p, vec![vec![1, 2, 3, 4, 5]]);
        assert!(matches!(end, FileEnd::Done));
        // Cut inside the second message.
        let (p, end) = read(&data[..30]);
        assert_eq!(p.len(), 1);
        assert!(matches!(end, FileEnd::Eof));
        let mut err = message(2, &(-2i32).to_ne_bytes(), Some(36));
        err.extend([0; 16]);
        assert!(matches!(read(&err).1, FileEnd::Error(Some(-2))));
        assert!(matches!(
            read(&message(2, &[], None)).1,
            FileEnd::Error(None)
        ));
        // Lengths under 16: 13..=16 read no body, smaller ones a huge one.
        assert!(matches!(read(&message(20, &[], Some(14))).1, FileEnd::Eof));
        assert!(matches!(
            read(&message(20, &[], Some(4))).1,
            FileEnd::TooLong
        ));
        assert!(matches!(
            read(&message(20, &[0; 20000], None)).1,
            FileEnd::TooLong
        ));
    }

    #[test]
    fn skmeminfo_knows_its_optional_tail() {
        let v: Vec<u8> = (1u32..=8).flat_map(|x| x.to_ne_bytes()).collect();
        let s = SkMemInfo::parse(&v);
        assert_eq!((s.rmem_alloc, s.optmem), (1, 7));
        assert_eq!((s.backlog, s.drops), (Some(8), None));
        assert_eq!(
            SkMemInfo::parse(&v[..6]).rcvbuf,
            u32::from_ne_bytes([v[4], v[5], 0, 0])
        );
    }
}
