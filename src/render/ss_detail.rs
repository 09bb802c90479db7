//! ss's per-socket details, the text iproute2 6.1's ss appends after the address
//! columns (and after `users:(...)`): `-o` timers, `-e` uid/ino/sk/cgroup/v6only and
//! shutdown marks, `-m` skmem, `-i` the tcp_info line, `--tos`, `--cgroup`,
//! `--inet-sockopt`, and for packet sockets `-e`'s ring/fanout lines and `-b`.
//!
//! Each function appends to the caller's buffer exactly what ss's `out()` calls
//! would, including the `\n\t` that starts the `-i`/`-m` line (a space with `-O`).
//! Names from the kernel or from other users (congestion control, ULP, cgroup
//! paths) go through the one escaper; ss prints them raw.

use crate::escape::escape;
use crate::netlink::ss_attrs::{
    u16_at, u32_at, u8_at, InetDiag, NetlinkDiag, PacketDiag, SkMemInfo, TcpInfo, UnixDiag,
    TCPI_OPT_ECN, TCPI_OPT_ECN_SEEN, TCPI_OPT_SACK, TCPI_OPT_SYN_DATA, TCPI_OPT_TIMESTAMPS,
    TCPI_OPT_WSCALE,
};
use crate::proc::cgroup::CgroupPaths;
use crate::proc::inet::TcpTail;
use std::io::Write;

/// Which of ss's detail options are on. Note that ss's `-e` and `-b` also turn on
/// `-o` ([`DetailOptions::timers`]); [`DetailOptions::from_flags`] does that.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DetailOptions {
    /// `-o`: timers (and tcp_info's ts/sack/ecn/fastopen flags with `-i`).
    pub timers: bool,
    /// `-e`
    pub extended: bool,
    /// `-m`
    pub memory: bool,
    /// `-i`
    pub info: bool,
    /// `--tos`
    pub tos: bool,
    /// `--cgroup`
    pub cgroup: bool,
    /// `--inet-sockopt`
    pub inet_sockopt: bool,
    /// `-b`
    pub bpf: bool,
    /// `-O`: no line breaks inside a socket's text.
    pub oneline: bool,
    /// `-n`: rates as plain numbers of bits per second.
    pub numeric: bool,
}

impl DetailOptions {
    /// The options as ss derives them from its flags: `-e` and `-b` imply `-o`.
    #[allow(clippy::too_many_arguments)]
    pub fn from_flags(
        o: bool,
        e: bool,
        m: bool,
        i: bool,
        b: bool,
        tos: bool,
        cgroup: bool,
        inet_sockopt: bool,
        oneline: bool,
        numeric: bool,
    ) -> DetailOptions {
        DetailOptions {
            timers: o || e || b,
            extended: e,
            memory: m,
            info: i,
            tos,
            cgroup,
            inet_sockopt,
            bpf: b,
            oneline,
            numeric,
        }
    }

    /// Whether any option adds text after the address columns.
    pub fn any(&self) -> bool {
        self.timers
            || self.extended
            || self.memory
            || self.info
            || self.tos
            || self.cgroup
            || self.inet_sockopt
            || self.bpf
    }
}

const AF_INET6: u8 = 10;
const IPPROTO_UDP: u8 = 17;
const TCP_LISTEN: u8 = 10;

macro_rules! out {
    ($buf:expr, $($arg:tt)*) => {{
        // Writing to a Vec cannot fail.
        let _ = write!($buf, $($arg)*);
    }};
}

/// The details of one inet socket (`payload` is the reply after its nlmsghdr).
/// `protocol` is the IPPROTO_* the dump asked for; an INET_DIAG_PROTOCOL
/// attribute overrides it, as in ss. A payload too short for its header adds
/// nothing.
pub fn inet_payload(
    buf: &mut Vec<u8>,
    payload: &[u8],
    protocol: u8,
    opts: &DetailOptions,
    cgroups: &CgroupPaths,
) {
    if let Some(d) = InetDiag::parse(payload) {
        inet(buf, &d, protocol, opts, cgroups);
    }
}

/// [`inet_payload`] on a parsed reply.
pub fn inet(
    buf: &mut Vec<u8>,
    d: &InetDiag,
    protocol: u8,
    opts: &DetailOptions,
    cgroups: &CgroupPaths,
) {
    let protocol = d.protocol.map_or(protocol, |v| u8_at(v, 0));
    if opts.timers {
        timer(buf, d.timer, d.expires, d.retrans.into());
    }
    if opts.extended {
        sock_details(buf, d.uid, d.inode, d.cookie, d.mark(), d.cgroup(), cgroups);
        if d.family == AF_INET6 {
            if let Some(v) = d.v6only {
                out!(buf, " v6only:{}", u8_at(v, 0));
            }
        }
        if let Some(v) = d.shutdown {
            shutdown(buf, u8_at(v, 0));
        }
    }
    if opts.tos {
        if let Some(v) = d.tos {
            hex_alt(buf, " tos:", u8_at(v, 0).into());
        }
        if let Some(v) = d.tclass {
            hex_alt(buf, " tclass:", u8_at(v, 0).into());
        }
        if let Some(v) = d.class_id {
            hex_alt(buf, " class_id:", u32_at(v, 0));
        }
    }
    if opts.cgroup {
        if let Some(v) = d.cgroup_id {
            cgroup(buf, crate::netlink::ss_attrs::u64_at(v, 0), cgroups);
        }
    }
    if opts.inet_sockopt {
        if let Some(v) = d.sockopt.filter(|v| v.len() >= 2) {
            inet_sockopt(buf, v[0], v[1], opts.oneline);
        }
    }
    if opts.memory || (opts.info && protocol != IPPROTO_UDP) {
        buf.extend_from_slice(if opts.oneline { b"" } else { b"\n\t" });
        tcp_show_info(buf, d, opts);
    }
}

/// `timer:(name,remaining,retransmits)`: ss's tcp_timer_print.
pub fn timer(buf: &mut Vec<u8>, timer: u8, expires_ms: u32, retrans: i32) {
    const NAMES: [&str; 6] = ["off", "on", "keepalive", "timewait", "persist", "unknown"];
    if timer == 0 {
        return;
    }
    buf.extend_from_slice(b" timer:(");
    buf.extend_from_slice(NAMES[usize::from(timer.min(5))].as_bytes());
    buf.push(b',');
    ms_timer(buf, expires_ms);
    out!(buf, ",{})", retrans);
}

/// The clock ticks per second of /proc's timer columns (ss's get_user_hz()).
pub fn user_hz() -> u32 {
    use nix::unistd::{sysconf, SysconfVar};
    static HZ: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *HZ.get_or_init(|| match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(hz)) if hz > 0 && hz <= i64::from(i32::MAX) => hz as u32,
        // Linux's USER_HZ everywhere but Alpha.
        _ => 100,
    })
}

/// What ss's tcp_show_line() derives from a /proc/net/tcp record for its details.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProcTcp {
    pub timer: u8,
    /// The timer's ticks rounded up to milliseconds.
    pub timeout_ms: u32,
    /// Retransmits for the retransmit timer, probes for the others.
    pub retrans: i32,
    /// Seconds; 0 for the initial 3 s.
    pub rto: f64,
    pub ato: f64,
    pub quick: i32,
    pub cwnd: u32,
    pub ssthresh: i32,
}

impl ProcTcp {
    pub fn new(s: &crate::proc::inet::InetSocket, tail: &TcpTail, hz: u32) -> ProcTcp {
        let (mut rto, mut ato, mut quick, mut cwnd, mut ssthresh) =
            (tail.rto, tail.ato, tail.quick, tail.cwnd, tail.ssthresh);
        // ss's field count below 12 (nine before the tail): its defaults.
        if tail.read < 3 {
            (rto, ato, quick, cwnd, ssthresh) = (0, 0, 0, 2, -1);
        }
        let hz_f = f64::from(hz.max(1));
        ProcTcp {
            timer: s.timer,
            timeout_ms: (s.timer_ticks as u32)
                .wrapping_mul(1000)
                .wrapping_add(hz.wrapping_sub(1))
                / hz.max(1),
            retrans: if s.timer != 1 {
                s.timeout as u32 as i32
            } else {
                s.retransmits as u32 as i32
            },
            rto: if f64::from(rto) != 3.0 * hz_f {
                f64::from(rto) / hz_f
            } else {
                0.0
            },
            ato: f64::from(ato) / hz_f,
            quick: quick / 2,
            cwnd,
            ssthresh: if ssthresh == -1 { 0 } else { ssthresh },
        }
    }
}

/// The details ss's tcp_show_line() prints for a record of /proc/net/tcp: `-o`
/// the timer, `-e` uid/ino/sk and any text after the known columns, `-i` what the
/// record has of tcp_info, on the same line (ss starts no `\n\t` line here; its
/// unset reordering prints as 0, and the timer's count as `retrans:N/0`).
pub fn proc_tcp(
    buf: &mut Vec<u8>,
    s: &crate::proc::inet::InetSocket,
    tail: &TcpTail,
    hz: u32,
    opts: &DetailOptions,
) {
    let v = ProcTcp::new(s, tail, hz);
    if opts.timers {
        timer(buf, v.timer, v.timeout_ms, v.retrans);
    }
    if opts.extended {
        sock_details(
            buf,
            s.uid,
            s.inode as u32,
            tail.sk,
            0,
            0,
            &CgroupPaths::default(),
        );
        if tail.read >= 8 {
            buf.extend_from_slice(b" opt:\"");
            buf.extend_from_slice(escape(&tail.rest).as_bytes());
            buf.push(b'"');
        }
    }
    if opts.info {
        if v.rto != 0.0 {
            buf.extend_from_slice(b" rto:");
            put_g(buf, v.rto, 6);
        }
        if v.ato != 0.0 {
            buf.extend_from_slice(b" ato:");
            put_g(buf, v.ato, 6);
        }
        if v.quick != 0 {
            out!(buf, " qack:{}", v.quick);
        }
        if v.quick & 1 != 0 {
            buf.extend_from_slice(b" bidir");
        }
        if v.cwnd != 0 {
            out!(buf, " cwnd:{}", v.cwnd);
        }
        if v.ssthresh != 0 {
            out!(buf, " ssthresh:{}", v.ssthresh);
        }
        if v.retrans != 0 {
            out!(buf, " retrans:{}/0", v.retrans as u32);
        }
        buf.extend_from_slice(b" reordering:0");
    }
}

/// `-e` of a packet socket read from /proc/net/packet: ss's sock_details_print()
/// on what the file gave (it never sets the `sk` it read).
pub fn proc_packet(buf: &mut Vec<u8>, uid: u32, inode: u64, opts: &DetailOptions) {
    if opts.extended {
        sock_details(buf, uid, inode as u32, 0, 0, 0, &CgroupPaths::default());
    }
}

/// `-e` of a netlink socket read from /proc/net/netlink: the file's `sk`, its Dump
/// column as `cb`, and its groups.
pub fn proc_netlink(buf: &mut Vec<u8>, sk: u64, cb: u64, groups: u32, opts: &DetailOptions) {
    if opts.extended {
        out!(buf, " sk={:x} cb={:x} groups=0x{:08x}", sk, cb, groups);
    }
}

/// ss's print_ms_timer: `1min2sec`, `2.345ms`-style spellings of milliseconds.
pub fn ms_timer(buf: &mut Vec<u8>, timeout: u32) {
    let mut secs = timeout / 1000;
    let minutes = secs / 60;
    secs %= 60;
    let mut msecs = timeout % 1000;
    if minutes != 0 {
        msecs = 0;
        out!(buf, "{}min", minutes);
        if minutes > 9 {
            secs = 0;
        }
    }
    if secs != 0 {
        if secs > 9 {
            msecs = 0;
        }
        out!(buf, "{}{}", secs, if msecs != 0 { "." } else { "sec" });
    }
    if msecs != 0 {
        out!(buf, "{:03}ms", msecs);
    }
}

/// ss's sock_details_print (inet and packet `-e`).
fn sock_details(
    buf: &mut Vec<u8>,
    uid: u32,
    inode: u32,
    cookie: u64,
    mark: u32,
    cgroup_id: u64,
    cgroups: &CgroupPaths,
) {
    if uid != 0 {
        out!(buf, " uid:{}", uid);
    }
    out!(buf, " ino:{} sk:{:x}", inode, cookie);
    if mark != 0 {
        out!(buf, " fwmark:{:#x}", mark);
    }
    if cgroup_id != 0 {
        cgroup(buf, cgroup_id, cgroups);
    }
}

fn cgroup(buf: &mut Vec<u8>, id: u64, cgroups: &CgroupPaths) {
    match cgroups.path(id) {
        Some(p) => {
            buf.extend_from_slice(b" cgroup:");
            buf.extend_from_slice(escape(p).as_bytes());
        }
        None => {
            out!(buf, " cgroup:unreachable:{:x}", id);
        }
    }
}

/// The `<->` marks: `-` where that direction is shut down.
fn shutdown(buf: &mut Vec<u8>, mask: u8) {
    buf.push(b' ');
    buf.push(if mask & 1 != 0 { b'-' } else { b'<' });
    buf.push(b'-');
    buf.push(if mask & 2 != 0 { b'-' } else { b'>' });
}

/// C's `%#x`: no prefix for zero.
fn hex_alt(buf: &mut Vec<u8>, label: &str, v: u32) {
    buf.extend_from_slice(label.as_bytes());
    if v == 0 {
        buf.push(b'0');
    } else {
        out!(buf, "{:#x}", v);
    }
}

fn inet_sockopt(buf: &mut Vec<u8>, a: u8, b: u8, oneline: bool) {
    buf.extend_from_slice(if oneline {
        b" inet-sockopt: ("
    } else {
        b"\n\tinet-sockopt: ("
    });
    for name in inet_sockopt_names(a, b) {
        buf.push(b' ');
        buf.extend_from_slice(name.as_bytes());
    }
    buf.push(b')');
}

/// The flags set in INET_DIAG_SOCKOPT's two bytes (`a`, `b`), by ss's names.
pub fn inet_sockopt_names(a: u8, b: u8) -> impl Iterator<Item = &'static str> {
    // The bitfields of struct inet_diag_sockopt, in declaration order.
    const FIRST: [&str; 8] = [
        "recverr",
        "is_icsk",
        "freebind",
        "hdrincl",
        "mc_loop",
        "transparent",
        "mc_all",
        "nodefrag",
    ];
    const SECOND: [&str; 3] = ["bind_addr_no_port", "recverr_rfc4884", "defer_connect"];
    let bit = |byte: u8, i: usize| {
        if cfg!(target_endian = "little") {
            byte & (1 << i) != 0
        } else {
            byte & (0x80 >> i) != 0
        }
    };
    let first = FIRST
        .into_iter()
        .enumerate()
        .filter(move |&(i, _)| bit(a, i));
    let second = SECOND
        .into_iter()
        .enumerate()
        .filter(move |&(i, _)| bit(b, i));
    first.chain(second).map(|(_, name)| name)
}

/// `skmem:(r..,rb..,t..,tb..,f..,w..,o..[,bl..][,d..])`.
pub fn skmem(buf: &mut Vec<u8>, m: &SkMemInfo) {
    out!(
        buf,
        " skmem:(r{},rb{},t{},tb{},f{},w{},o{}",
        m.rmem_alloc,
        m.rcvbuf,
        m.wmem_alloc,
        m.sndbuf,
        m.fwd_alloc,
        m.wmem_queued,
        m.optmem
    );
    if let Some(bl) = m.backlog {
        out!(buf, ",bl{}", bl);
    }
    if let Some(d) = m.drops {
        out!(buf, ",d{}", d);
    }
    buf.push(b')');
}

/// ss's tcp_show_info: memory, the tcp_info line, the ULP.
fn tcp_show_info(buf: &mut Vec<u8>, d: &InetDiag, opts: &DetailOptions) {
    if let Some(v) = d.skmeminfo {
        skmem(buf, &SkMemInfo::parse(v));
    } else if let Some(v) = d.meminfo {
        out!(
            buf,
            " mem:(r{},w{},f{},t{})",
            u32_at(v, 0),
            u32_at(v, 4),
            u32_at(v, 8),
            u32_at(v, 12)
        );
    }
    if let Some(info) = d.tcp_info() {
        tcp_info(buf, d, &info, opts);
    }
    if let Some(ulp) = d.ulp {
        ulp_info(buf, ulp);
    }
}

fn tcp_info(buf: &mut Vec<u8>, d: &InetDiag, i: &TcpInfo, opts: &DetailOptions) {
    let has = |opt: u8| i.options & opt != 0;
    if opts.timers {
        for (opt, name) in [
            (TCPI_OPT_TIMESTAMPS, " ts"),
            (TCPI_OPT_SACK, " sack"),
            (TCPI_OPT_ECN, " ecn"),
            (TCPI_OPT_ECN_SEEN, " ecnseen"),
            (TCPI_OPT_SYN_DATA, " fastopen"),
        ] {
            if has(opt) {
                buf.extend_from_slice(name.as_bytes());
            }
        }
    }
    if let Some(cong) = d.cong {
        // ss copies at most 15 bytes, up to the first NUL.
        let name = cong.split(|&b| b == 0).next().unwrap_or_default();
        let name = &name[..name.len().min(15)];
        if !name.is_empty() {
            buf.push(b' ');
            buf.extend_from_slice(escape(name).as_bytes());
        }
    }
    if has(TCPI_OPT_WSCALE) {
        out!(buf, " wscale:{},{}", i.snd_wscale, i.rcv_wscale);
    }
    if i.rto != 0 && i.rto != 3_000_000 {
        buf.extend_from_slice(b" rto:");
        put_g(buf, f64::from(i.rto) / 1000.0, 6);
    }
    if i.backoff != 0 {
        out!(buf, " backoff:{}", i.backoff);
    }
    if i.rtt != 0 {
        buf.extend_from_slice(b" rtt:");
        put_g(buf, f64::from(i.rtt) / 1000.0, 6);
        buf.push(b'/');
        put_g(buf, f64::from(i.rttvar) / 1000.0, 6);
    }
    if i.ato != 0 {
        buf.extend_from_slice(b" ato:");
        put_g(buf, f64::from(i.ato) / 1000.0, 6);
    }
    // ss keeps these in ints and prints them with %d.
    if i.snd_mss != 0 {
        out!(buf, " mss:{}", i.snd_mss as i32);
    }
    if i.pmtu != 0 {
        out!(buf, " pmtu:{}", i.pmtu);
    }
    if i.rcv_mss != 0 {
        out!(buf, " rcvmss:{}", i.rcv_mss as i32);
    }
    if i.advmss != 0 {
        out!(buf, " advmss:{}", i.advmss as i32);
    }
    if i.snd_cwnd != 0 {
        out!(buf, " cwnd:{}", i.snd_cwnd);
    }
    if i.snd_ssthresh != 0 && i.snd_ssthresh < 0xffff {
        out!(buf, " ssthresh:{}", i.snd_ssthresh);
    }
    for (v, name) in [
        (i.bytes_sent, " bytes_sent:"),
        (i.bytes_retrans, " bytes_retrans:"),
        (i.bytes_acked, " bytes_acked:"),
        (i.bytes_received, " bytes_received:"),
        (i.segs_out.into(), " segs_out:"),
        (i.segs_in.into(), " segs_in:"),
        (i.data_segs_out.into(), " data_segs_out:"),
        (i.data_segs_in.into(), " data_segs_in:"),
    ] {
        if v != 0 {
            out!(buf, "{}{}", name, v);
        }
    }
    if let Some(v) = d.dctcp {
        if u16_at(v, 0) != 0 {
            out!(
                buf,
                " dctcp:(ce_state:{},alpha:{},ab_ecn:{},ab_tot:{})",
                u16_at(v, 2),
                u32_at(v, 4),
                u32_at(v, 8),
                u32_at(v, 12)
            );
        } else {
            buf.extend_from_slice(b" dctcp:fallback_mode");
        }
    }
    if let Some(v) = d.bbr {
        let bw = (u64::from(u32_at(v, 4)) << 32) | u64::from(u32_at(v, 0));
        buf.extend_from_slice(b" bbr:(bw:");
        bandwidth(buf, bw as f64 * 8.0, opts.numeric);
        buf.extend_from_slice(b"bps,mrtt:");
        put_g(buf, f64::from(u32_at(v, 8)) / 1000.0, 6);
        let pacing_gain = u32_at(v, 12);
        if pacing_gain != 0 {
            buf.extend_from_slice(b",pacing_gain:");
            put_g(buf, f64::from(pacing_gain) / 256.0, 6);
        }
        let cwnd_gain = u32_at(v, 16);
        if cwnd_gain != 0 {
            buf.extend_from_slice(b",cwnd_gain:");
            put_g(buf, f64::from(cwnd_gain) / 256.0, 6);
        }
        buf.push(b')');
    }
    // The send rate uses vegas's rtt sample when that module reports one.
    let mut rtt = f64::from(i.rtt);
    if let Some(v) = d.vegas {
        let vrtt = u32_at(v, 8);
        if u32_at(v, 0) != 0 && vrtt != 0 && vrtt != 0x7fff_ffff {
            rtt = f64::from(vrtt);
        }
    }
    if rtt > 0.0 && i.snd_mss != 0 && i.snd_cwnd != 0 {
        let send = f64::from(i.snd_cwnd) * f64::from(i.snd_mss) * 8_000_000.0 / rtt;
        if send != 0.0 {
            buf.extend_from_slice(b" send ");
            bandwidth(buf, send, opts.numeric);
            buf.extend_from_slice(b"bps");
        }
    }
    for (v, name) in [
        (i.last_data_sent, " lastsnd:"),
        (i.last_data_recv, " lastrcv:"),
        (i.last_ack_recv, " lastack:"),
    ] {
        if v != 0 {
            out!(buf, "{}{}", name, v);
        }
    }
    if i.pacing_rate != 0 && i.pacing_rate != u64::MAX {
        buf.extend_from_slice(b" pacing_rate ");
        bandwidth(buf, i.pacing_rate as f64 * 8.0, opts.numeric);
        buf.extend_from_slice(b"bps");
        if i.max_pacing_rate != 0 && i.max_pacing_rate != u64::MAX {
            buf.push(b'/');
            bandwidth(buf, i.max_pacing_rate as f64 * 8.0, opts.numeric);
            buf.extend_from_slice(b"bps");
        }
    }
    if i.delivery_rate != 0 {
        buf.extend_from_slice(b" delivery_rate ");
        bandwidth(buf, i.delivery_rate as f64 * 8.0, opts.numeric);
        buf.extend_from_slice(b"bps");
    }
    if i.delivered != 0 {
        out!(buf, " delivered:{}", i.delivered);
    }
    if i.delivered_ce != 0 {
        out!(buf, " delivered_ce:{}", i.delivered_ce);
    }
    if i.delivery_rate_app_limited {
        buf.extend_from_slice(b" app_limited");
    }
    if i.busy_time != 0 {
        out!(buf, " busy:{}ms", i.busy_time / 1000);
        let busy = i.busy_time as f64;
        if i.rwnd_limited != 0 {
            out!(
                buf,
                " rwnd_limited:{}ms({:.1}%)",
                i.rwnd_limited / 1000,
                100.0 * i.rwnd_limited as f64 / busy
            );
        }
        if i.sndbuf_limited != 0 {
            out!(
                buf,
                " sndbuf_limited:{}ms({:.1}%)",
                i.sndbuf_limited / 1000,
                100.0 * i.sndbuf_limited as f64 / busy
            );
        }
    }
    if i.unacked != 0 {
        out!(buf, " unacked:{}", i.unacked);
    }
    if i.retrans != 0 || i.total_retrans != 0 {
        out!(buf, " retrans:{}/{}", i.retrans, i.total_retrans);
    }
    if i.lost != 0 {
        out!(buf, " lost:{}", i.lost);
    }
    if i.sacked != 0 && d.state != TCP_LISTEN {
        out!(buf, " sacked:{}", i.sacked);
    }
    if i.dsack_dups != 0 {
        out!(buf, " dsack_dups:{}", i.dsack_dups);
    }
    if i.fackets != 0 {
        out!(buf, " fackets:{}", i.fackets);
    }
    if i.reordering != 3 {
        out!(buf, " reordering:{}", i.reordering as i32);
    }
    if i.reord_seen != 0 {
        out!(buf, " reord_seen:{}", i.reord_seen as i32);
    }
    if i.rcv_rtt != 0 {
        buf.extend_from_slice(b" rcv_rtt:");
        put_g(buf, f64::from(i.rcv_rtt) / 1000.0, 6);
    }
    if i.rcv_space != 0 {
        out!(buf, " rcv_space:{}", i.rcv_space as i32);
    }
    if i.rcv_ssthresh != 0 {
        out!(buf, " rcv_ssthresh:{}", i.rcv_ssthresh);
    }
    if i.notsent_bytes != 0 {
        out!(buf, " notsent:{}", i.notsent_bytes);
    }
    if i.min_rtt != 0 && i.min_rtt != u32::MAX {
        buf.extend_from_slice(b" minrtt:");
        put_g(buf, f64::from(i.min_rtt) / 1000.0, 6);
    }
    if i.rcv_ooopack != 0 {
        out!(buf, " rcv_ooopack:{}", i.rcv_ooopack);
    }
    if i.snd_wnd != 0 {
        out!(buf, " snd_wnd:{}", i.snd_wnd);
    }
}

// Nested attributes of INET_DIAG_ULP_INFO and its TLS part.
const INET_ULP_INFO_NAME: u16 = 1;
const INET_ULP_INFO_TLS: u16 = 2;
const TLS_INFO_VERSION: u16 = 1;
const TLS_INFO_CIPHER: u16 = 2;
const TLS_INFO_TXCONF: u16 = 3;
const TLS_INFO_RXCONF: u16 = 4;
const TLS_INFO_ZC_RO_TX: u16 = 5;

/// The first attribute of type `kind` in a nested block.
fn nested(data: &[u8], kind: u16) -> Option<&[u8]> {
    crate::netlink::attributes(data).find_map(|(k, v)| (k == kind).then_some(v))
}

fn ulp_info(buf: &mut Vec<u8>, ulp: &[u8]) {
    if let Some(name) = nested(ulp, INET_ULP_INFO_NAME) {
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        buf.extend_from_slice(b" tcp-ulp-");
        buf.extend_from_slice(escape(name).as_bytes());
    }
    let Some(tls) = nested(ulp, INET_ULP_INFO_TLS) else {
        return;
    };
    if let Some(v) = nested(tls, TLS_INFO_VERSION) {
        match u16_at(v, 0) {
            0x0303 => buf.extend_from_slice(b" version: 1.2"),
            0x0304 => buf.extend_from_slice(b" version: 1.3"),
            other => {
                out!(buf, " version: unknown({})", other);
            }
        }
    }
    if let Some(v) = nested(tls, TLS_INFO_CIPHER) {
        match u16_at(v, 0) {
            51 => buf.extend_from_slice(b" cipher: aes-gcm-128"),
            52 => buf.extend_from_slice(b" cipher: aes-gcm-256"),
            _ => {}
        }
    }
    for (kind, name) in [(TLS_INFO_RXCONF, "rxconf"), (TLS_INFO_TXCONF, "txconf")] {
        if let Some(v) = nested(tls, kind) {
            match u16_at(v, 0) {
                1 => out!(buf, " {}: none", name),
                2 => out!(buf, " {}: sw", name),
                3 => out!(buf, " {}: hw", name),
                4 => out!(buf, " {}: hw-record", name),
                other => out!(buf, " {}: unknown({})", name, other),
            };
        }
    }
    if nested(tls, TLS_INFO_ZC_RO_TX).is_some() {
        buf.extend_from_slice(b" zc_ro_tx");
    }
}

/// The details of one unix socket: `-m` skmem, `-e` shutdown marks, bound inode
/// and device, accept queue.
pub fn unix(buf: &mut Vec<u8>, d: &UnixDiag, opts: &DetailOptions) {
    if opts.memory {
        if let Some(v) = d.meminfo {
            skmem(buf, &SkMemInfo::parse(v));
        }
    }
    if opts.extended {
        if let Some(v) = d.shutdown {
            shutdown(buf, u8_at(v, 0));
        }
        if let Some((ino, dev)) = d.vfs() {
            let (major, minor) = glibc_major_minor(dev);
            out!(buf, " ino:{} dev:{}/{}", ino, major, minor);
        }
        if d.icons.is_some() {
            buf.extend_from_slice(b" peers:");
            for ino in d.incoming() {
                out!(buf, " {}", ino);
            }
        }
    }
}

/// ss splits the kernel's 32-bit dev_t (major << 20 | minor) with glibc's
/// major()/minor(), which expect the user-space encoding; we print the same numbers.
fn glibc_major_minor(dev: u32) -> (u32, u32) {
    let dev = u64::from(dev);
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// PACKET_DIAG_INFO's flags as ss names them (`flags(running auxdata ...)`).
pub const PACKET_FLAGS: [(u32, &str); 5] = [
    (0x1, "running"),
    (0x2, "auxdata"),
    (0x4, "origdev"),
    (0x8, "vnethdr"),
    (0x10, "loss"),
];

/// A fanout's type (PACKET_FANOUT_*) as ss names it; `None` for ss's hex.
pub fn fanout_type(t: u32) -> Option<&'static str> {
    ["hash", "lb", "cpu", "roll", "random", "qm"]
        .get(t as usize)
        .copied()
}

/// The details of one packet socket: `-e` (uid, ino, sk, then version, flags,
/// rings, fanout), `-b` the attached classic BPF filter, `-m` skmem.
pub fn packet(buf: &mut Vec<u8>, d: &PacketDiag, opts: &DetailOptions) {
    let nl = |buf: &mut Vec<u8>, s: &str| {
        buf.extend_from_slice(if opts.oneline { b" " } else { b"\n\t" });
        buf.extend_from_slice(s.as_bytes());
    };
    if opts.extended {
        sock_details(
            buf,
            d.uid(),
            d.inode,
            d.cookie,
            0,
            0,
            &CgroupPaths::default(),
        );
        if let Some(info) = d.info() {
            nl(buf, "");
            out!(
                buf,
                "ver:{} cpy_thresh:{} flags( ",
                info.version as i32,
                info.copy_thresh as i32
            );
            for (i, (bit, name)) in PACKET_FLAGS.iter().enumerate() {
                if info.flags & bit != 0 {
                    // ss spells every flag after the first with its space.
                    if i > 0 {
                        buf.push(b' ');
                    }
                    buf.extend_from_slice(name.as_bytes());
                }
            }
            if info.flags == 0 {
                buf.push(b'0');
            }
            buf.extend_from_slice(b" )");
        }
        for (ring, name) in [(d.rx_ring, "ring_rx("), (d.tx_ring, "ring_tx(")] {
            if let Some(v) = ring {
                let r = PacketDiag::ring(v);
                nl(buf, name);
                out!(
                    buf,
                    "blk_size:{},blk_nr:{},frm_size:{},frm_nr:{},tmo:{},features:{:#x})",
                    r.block_size as i32,
                    r.block_nr as i32,
                    r.frame_size as i32,
                    r.frame_nr as i32,
                    r.retire_tmo as i32,
                    r.features
                );
            }
        }
        if let Some(v) = d.fanout {
            let fanout = u32_at(v, 0);
            nl(buf, "fanout(");
            out!(buf, "id:{},type:", fanout & 0xffff);
            match fanout_type(fanout >> 16) {
                Some(name) => buf.extend_from_slice(name.as_bytes()),
                None => out!(buf, "{:#x}", fanout >> 16),
            }
            buf.push(b')');
        }
    }
    if opts.bpf {
        if let Some(filter) = d.filter {
            let n = filter.len() / 8;
            buf.extend_from_slice(if opts.oneline { b" " } else { b"\n\t" });
            out!(buf, "bpf filter ({}): ", n);
            for ins in filter.chunks_exact(8) {
                out!(
                    buf,
                    " 0x{:02x} {} {} {},",
                    u16_at(ins, 0),
                    ins[2],
                    ins[3],
                    u32_at(ins, 4)
                );
            }
        }
    }
    if opts.memory {
        if let Some(v) = d.meminfo {
            skmem(buf, &SkMemInfo::parse(v));
        }
    }
}

/// The details of one netlink socket: `-e` (ss has no kernel addresses from
/// sock_diag, so `sk=0 cb=0`) and `-m`, which ss starts with a tab even with `-O`.
pub fn netlink(buf: &mut Vec<u8>, d: &NetlinkDiag, opts: &DetailOptions) {
    if opts.extended {
        out!(buf, " sk=0 cb=0 groups=0x{:08x}", d.groups());
    }
    if opts.memory {
        buf.push(b'\t');
        if let Some(v) = d.meminfo {
            skmem(buf, &SkMemInfo::parse(v));
        }
    }
}

/// ss's sprint_bw: bits per second as `%.3g` with k/M/G/T, or `%.0f` under `-n`.
pub fn bandwidth(buf: &mut Vec<u8>, bw: f64, numeric: bool) {
    if numeric {
        out!(buf, "{:.0}", bw);
        return;
    }
    for (scale, unit) in [(1e12, b'T'), (1e9, b'G'), (1e6, b'M'), (1e3, b'k')] {
        if bw >= scale {
            put_g(buf, bw / scale, 3);
            buf.push(unit);
            return;
        }
    }
    put_g(buf, bw, 6);
}

/// C's `%.{precision}g`, appended without allocating.
pub fn put_g(buf: &mut Vec<u8>, v: f64, precision: usize) {
    let p = precision.max(1);
    if !v.is_finite() {
        buf.extend_from_slice(match (v.is_nan(), v < 0.0) {
            (true, _) => b"nan".as_slice(),
            (false, true) => b"-inf",
            (false, false) => b"inf",
        });
        return;
    }
    if v == 0.0 {
        buf.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
        return;
    }
    let start = buf.len();
    out!(buf, "{:.*e}", p - 1, v);
    let e = buf[start..]
        .iter()
        .rposition(|&b| b == b'e')
        .map(|i| start + i);
    let Some(e) = e else { return };
    let exp: i32 = std::str::from_utf8(&buf[e + 1..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        // Scientific: mantissa without trailing zeros, exponent signed, 2+ digits.
        buf.truncate(e);
        strip_zeros(buf, start);
        out!(
            buf,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else {
        buf.truncate(start);
        out!(buf, "{:.*}", (p as i32 - 1 - exp) as usize, v);
        strip_zeros(buf, start);
    }
}

/// Drops trailing zeros of a fraction, and its point when nothing is left after it.
fn strip_zeros(buf: &mut Vec<u8>, start: usize) {
    if !buf[start..].contains(&b'.') {
        return;
    }
    while buf.last() == Some(&b'0') {
        buf.pop();
    }
    if buf.last() == Some(&b'.') {
        buf.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(v: f64, p: usize) -> String {
        let mut b = Vec::new();
        put_g(&mut b, v, p);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn g_matches_c() {
        // Expected strings from C's printf("%.6g") / ("%.3g").
        let cases: &[(f64, usize, &str)] = &[
            (204.0, 6, "204"),
            (0.043, 6, "0.043"),
            (0.0215, 6, "0.0215"),
            (1234567.0, 6, "1.23457e+06"),
            (0.00001234, 6, "1.234e-05"),
            (0.0001, 6, "0.0001"),
            (100000.0, 6, "100000"),
            (999999.5, 6, "1e+06"),
            (1.5, 3, "1.5"),
            (9.995, 3, "9.99"),
            (9.9951, 3, "10"),
            (123.456, 3, "123"),
            (999.9, 3, "1e+03"),
            (2.0 / 3.0, 6, "0.666667"),
            (1e300, 6, "1e+300"),
        ];
        for &(v, p, want) in cases {
            assert_eq!(g(v, p), want, "{v} %.{p}g");
        }
    }

    #[test]
    fn bandwidth_like_sprint_bw() {
        let bw = |v: f64, n: bool| {
            let mut b = Vec::new();
            bandwidth(&mut b, v, n);
            String::from_utf8(b).unwrap()
        };
        assert_eq!(bw(1_234_567_890.0, false), "1.23G");
        assert_eq!(bw(1e12, false), "1T");
        assert_eq!(bw(999.0, false), "999");
        assert_eq!(bw(45_600.0, false), "45.6k");
        assert_eq!(bw(1_234_567_890.4, true), "1234567890");
    }

    #[test]
    fn ms_timer_spellings() {
        let t = |ms: u32| {
            let mut b = Vec::new();
            ms_timer(&mut b, ms);
            String::from_utf8(b).unwrap()
        };
        assert_eq!(t(0), "");
        assert_eq!(t(7), "007ms");
        assert_eq!(t(1500), "1.500ms");
        assert_eq!(t(12_345), "12sec");
        assert_eq!(t(3000), "3sec");
        assert_eq!(t(61_500), "1min1sec");
        assert_eq!(t(60_000), "1min");
        assert_eq!(t(601_000), "10min");
        assert_eq!(t(u32::MAX), "71582min");
    }

    #[test]
    fn timer_names_clamp() {
        let mut b = Vec::new();
        timer(&mut b, 9, 200, 3);
        timer(&mut b, 0, 200, 3);
        timer(&mut b, 2, 7_200_000, 0);
        assert_eq!(
            String::from_utf8(b).unwrap(),
            " timer:(unknown,200ms,3) timer:(keepalive,120min,0)"
        );
    }

    #[test]
    fn glibc_splits_the_kernel_dev_t_as_ss_prints_it() {
        assert_eq!(glibc_major_minor(25), (0, 25));
        assert_eq!(glibc_major_minor((8 << 20) | 1), (0, 0x801));
    }
}
