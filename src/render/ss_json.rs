//! `--json`'s `details` object of an rss row (docs/json.md `ss_details`): what the
//! detail options (-o -e -m -i --tos --cgroup --inet-sockopt) print as text, as numbers. Each
//! field is null unless its option is on and the kernel sent the value (in a
//! sock_diag reply, or in the /proc file a row was read from).

use crate::netlink::inet::SsInetSocket;
use crate::netlink::nldiag::DiagNetlinkSocket;
use crate::netlink::packet::DiagPacketSocket;
use crate::netlink::ss_attrs::{
    u32_at, u64_at, u8_at, InetDiag, NetlinkDiag, PacketDiag, PacketRing, SkMemInfo, TcpInfo,
    UnixDiag,
};
use crate::netlink::unix::DiagUnixSocket;
use crate::proc::cgroup::CgroupPaths;
use crate::render::ss_detail::{self, DetailOptions, ProcTcp};
use serde_json::{json, Value};

/// tcp_info's option bits (TCPI_OPT_*).
const TS: u8 = 1;
const SACK: u8 = 2;
const WSCALE: u8 = 4;
const ECN: u8 = 8;
const ECN_SEEN: u8 = 16;
const SYN_DATA: u8 = 32;

/// Whether any option that fills `details` is on.
pub fn wanted(o: &DetailOptions) -> bool {
    o.timers || o.extended || o.memory || o.info || o.tos || o.cgroup || o.inet_sockopt
}

/// The `ss_details` object with every field null.
fn empty() -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    for k in [
        "timer",
        "cookie",
        "fwmark",
        "cgroup_id",
        "cgroup",
        "shutdown",
        "tos",
        "tclass",
        "class_id",
        "skmem",
        "tcp_info",
        "sk",
        "cb",
        "groups",
        "packet",
        "inet_sockopt",
    ] {
        m.insert(k.into(), Value::Null);
    }
    m
}

fn skmem(m: &SkMemInfo) -> Value {
    json!({
        "rmem_alloc": m.rmem_alloc,
        "rcvbuf": m.rcvbuf,
        "wmem_alloc": m.wmem_alloc,
        "sndbuf": m.sndbuf,
        "fwd_alloc": m.fwd_alloc,
        "wmem_queued": m.wmem_queued,
        "optmem": m.optmem,
        "backlog": m.backlog,
        "drops": m.drops,
    })
}

/// The `<->` marks as ss prints them.
fn shutdown(mask: u8) -> String {
    let l = if mask & 1 != 0 { '-' } else { '<' };
    let r = if mask & 2 != 0 { '-' } else { '>' };
    format!("{l}-{r}")
}

fn cgroup_path(id: u64, cgroups: &CgroupPaths) -> Value {
    match cgroups.path(id) {
        Some(p) => Value::String(crate::escape::json_text(p).into_owned()),
        None => Value::Null,
    }
}

fn tcp_info(d: &InetDiag, i: &TcpInfo) -> Value {
    let has = |opt: u8| i.options & opt != 0;
    let cong = d.cong.and_then(|c| {
        let name = c.split(|&b| b == 0).next().unwrap_or_default();
        let name = &name[..name.len().min(15)];
        (!name.is_empty()).then(|| crate::escape::json_text(name).into_owned())
    });
    let fields: [(&str, Value); 55] = [
        ("congestion", json!(cong)),
        ("ts", json!(has(TS))),
        ("sack", json!(has(SACK))),
        ("ecn", json!(has(ECN))),
        ("ecnseen", json!(has(ECN_SEEN))),
        ("fastopen", json!(has(SYN_DATA))),
        ("snd_wscale", json!(has(WSCALE).then_some(i.snd_wscale))),
        ("rcv_wscale", json!(has(WSCALE).then_some(i.rcv_wscale))),
        ("ca_state", json!(i.ca_state)),
        ("rto_us", json!(i.rto)),
        ("backoff", json!(i.backoff)),
        ("rtt_us", json!(i.rtt)),
        ("rttvar_us", json!(i.rttvar)),
        ("ato_us", json!(i.ato)),
        ("snd_mss", json!(i.snd_mss)),
        ("pmtu", json!(i.pmtu)),
        ("rcv_mss", json!(i.rcv_mss)),
        ("advmss", json!(i.advmss)),
        ("snd_cwnd", json!(i.snd_cwnd)),
        ("snd_ssthresh", json!(i.snd_ssthresh)),
        ("bytes_sent", json!(i.bytes_sent)),
        ("bytes_retrans", json!(i.bytes_retrans)),
        ("bytes_acked", json!(i.bytes_acked)),
        ("bytes_received", json!(i.bytes_received)),
        ("segs_out", json!(i.segs_out)),
        ("segs_in", json!(i.segs_in)),
        ("data_segs_out", json!(i.data_segs_out)),
        ("data_segs_in", json!(i.data_segs_in)),
        ("pacing_rate", json!(i.pacing_rate)),
        ("max_pacing_rate", json!(i.max_pacing_rate)),
        ("delivery_rate", json!(i.delivery_rate)),
        ("app_limited", json!(i.delivery_rate_app_limited)),
        ("busy_time_us", json!(i.busy_time)),
        ("rwnd_limited_us", json!(i.rwnd_limited)),
        ("sndbuf_limited_us", json!(i.sndbuf_limited)),
        ("delivered", json!(i.delivered)),
        ("delivered_ce", json!(i.delivered_ce)),
        ("last_data_sent_ms", json!(i.last_data_sent)),
        ("last_data_recv_ms", json!(i.last_data_recv)),
        ("last_ack_recv_ms", json!(i.last_ack_recv)),
        ("unacked", json!(i.unacked)),
        ("retrans", json!(i.retrans)),
        ("total_retrans", json!(i.total_retrans)),
        ("lost", json!(i.lost)),
        ("sacked", json!(i.sacked)),
        ("reordering", json!(i.reordering)),
        ("reord_seen", json!(i.reord_seen)),
        ("dsack_dups", json!(i.dsack_dups)),
        ("rcv_rtt_us", json!(i.rcv_rtt)),
        ("rcv_space", json!(i.rcv_space)),
        ("rcv_ssthresh", json!(i.rcv_ssthresh)),
        ("notsent_bytes", json!(i.notsent_bytes)),
        ("min_rtt_us", json!(i.min_rtt)),
        ("rcv_ooopack", json!(i.rcv_ooopack)),
        ("snd_wnd", json!(i.snd_wnd)),
    ];
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

const TIMER_NAMES: [&str; 6] = ["off", "on", "keepalive", "timewait", "persist", "unknown"];

fn timer(kind: u8, expires_ms: u32, retransmits: i64) -> Value {
    json!({
        "name": TIMER_NAMES[usize::from(kind.min(5))],
        "expires_ms": expires_ms,
        "retransmits": retransmits,
    })
}

/// `details` of a TCP row read from /proc/net/tcp: the timer (-o) and the file's
/// `sk` (-e), as ss's tcp_show_line() prints them; the file has no tcp_info.
fn proc_tcp(s: &SsInetSocket, tail: &crate::proc::inet::TcpTail, o: &DetailOptions) -> Value {
    let v = ProcTcp::new(&s.sock, tail, ss_detail::user_hz());
    let mut m = empty();
    if o.timers && v.timer != 0 {
        m["timer"] = timer(v.timer, v.timeout_ms, v.retrans.into());
    }
    if o.extended {
        m["sk"] = json!(tail.sk);
    }
    Value::Object(m)
}

/// `details` of an inet row; null when no detail option is on or the row has
/// neither a sock_diag reply nor a /proc/net/tcp record (udp and raw from /proc).
pub fn inet(s: &SsInetSocket, o: &DetailOptions, cgroups: &CgroupPaths) -> Value {
    if let (None, Some(tail)) = (&s.raw, s.proc_tail.as_deref().filter(|_| wanted(o))) {
        return proc_tcp(s, tail, o);
    }
    let Some(d) = s
        .raw
        .as_deref()
        .filter(|_| wanted(o))
        .and_then(InetDiag::parse)
    else {
        return Value::Null;
    };
    let mut m = empty();
    if o.timers && d.timer != 0 {
        m["timer"] = timer(d.timer, d.expires, d.retrans.into());
    }
    if o.extended {
        m["cookie"] = json!(d.cookie);
        m["fwmark"] = json!(d.mark());
        if let Some(v) = d.shutdown {
            m["shutdown"] = json!(shutdown(u8_at(v, 0)));
        }
    }
    if o.extended || o.cgroup {
        if let Some(v) = d.cgroup_id {
            let id = u64_at(v, 0);
            m["cgroup_id"] = json!(id);
            m["cgroup"] = cgroup_path(id, cgroups);
        }
    }
    if o.tos {
        m["tos"] = json!(d.tos.map(|v| u8_at(v, 0)));
        m["tclass"] = json!(d.tclass.map(|v| u8_at(v, 0)));
        m["class_id"] = json!(d.class_id.map(|v| u32_at(v, 0)));
    }
    if o.inet_sockopt {
        if let Some(v) = d.sockopt.filter(|v| v.len() >= 2) {
            m["inet_sockopt"] =
                json!(ss_detail::inet_sockopt_names(v[0], v[1]).collect::<Vec<_>>());
        }
    }
    if o.memory {
        if let Some(v) = d.skmeminfo {
            m["skmem"] = skmem(&SkMemInfo::parse(v));
        }
    }
    if o.info {
        if let Some(info) = d.tcp_info() {
            m["tcp_info"] = tcp_info(&d, &info);
        }
    }
    Value::Object(m)
}

/// `details` of a unix row: `skmem` (-m) and `shutdown` (-e); the rest null.
pub fn unix(s: &DiagUnixSocket, o: &DetailOptions) -> Value {
    let Some(d) = s
        .raw
        .as_deref()
        .filter(|_| wanted(o))
        .and_then(UnixDiag::parse)
    else {
        return Value::Null;
    };
    let mut m = empty();
    if o.memory {
        if let Some(v) = d.meminfo {
            m["skmem"] = skmem(&SkMemInfo::parse(v));
        }
    }
    if o.extended {
        if let Some(v) = d.shutdown {
            m["shutdown"] = json!(shutdown(u8_at(v, 0)));
        }
    }
    Value::Object(m)
}

fn ring(r: PacketRing) -> Value {
    json!({
        "block_size": r.block_size,
        "block_nr": r.block_nr,
        "frame_size": r.frame_size,
        "frame_nr": r.frame_nr,
        "retire_tmo": r.retire_tmo,
        "features": r.features,
    })
}

/// `details` of a packet row: `cookie` and `packet` (-e), `skmem` (-m); for a row
/// read from /proc/net/packet, nothing (ss prints `sk:0` there, not the file's).
pub fn packet(s: &DiagPacketSocket, o: &DetailOptions) -> Value {
    if !wanted(o) {
        return Value::Null;
    }
    let Some(d) = s.raw.as_deref().and_then(PacketDiag::parse) else {
        return if s.from_proc {
            Value::Object(empty())
        } else {
            Value::Null
        };
    };
    let mut m = empty();
    if o.extended {
        m["cookie"] = json!(d.cookie);
        let fanout = d.fanout.map(|v| {
            let f = u32_at(v, 0);
            let kind = match ss_detail::fanout_type(f >> 16) {
                Some(name) => name.to_string(),
                None => format!("{:#x}", f >> 16),
            };
            json!({ "id": f & 0xffff, "type": kind })
        });
        m["packet"] = match d.info() {
            Some(info) => json!({
                "version": info.version,
                "copy_thresh": info.copy_thresh,
                "flags": ss_detail::PACKET_FLAGS
                    .iter()
                    .filter(|(bit, _)| info.flags & bit != 0)
                    .map(|(_, name)| *name)
                    .collect::<Vec<_>>(),
                "rx_ring": d.rx_ring.map(|v| ring(PacketDiag::ring(v))),
                "tx_ring": d.tx_ring.map(|v| ring(PacketDiag::ring(v))),
                "fanout": fanout,
            }),
            None => Value::Null,
        };
    }
    if o.memory {
        if let Some(v) = d.meminfo {
            m["skmem"] = skmem(&SkMemInfo::parse(v));
        }
    }
    Value::Object(m)
}

/// `details` of a netlink row: `groups` (-e), `skmem` (-m); a row read from
/// /proc/net/netlink has the file's `sk` and `cb` (its Dump column) with -e too.
pub fn netlink(s: &DiagNetlinkSocket, o: &DetailOptions) -> Value {
    if !wanted(o) {
        return Value::Null;
    }
    let mut m = empty();
    if let Some(ids) = s.file_ids {
        if o.extended {
            m["sk"] = json!(ids.sk);
            m["cb"] = json!(ids.cb);
            m["groups"] = json!(ids.groups);
        }
        return Value::Object(m);
    }
    let Some(d) = s.raw.as_deref().and_then(NetlinkDiag::parse) else {
        return Value::Null;
    };
    if o.extended {
        m["groups"] = json!(d.groups());
    }
    if o.memory {
        if let Some(v) = d.meminfo {
            m["skmem"] = skmem(&SkMemInfo::parse(v));
        }
    }
    Value::Object(m)
}

/// The rows as `ss_socket` objects (docs/json.md), with the names `naming` gives
/// and their details as values.
pub fn sockets(
    naming: &crate::ss::view::Naming<'_>,
    rows: &[crate::ss::Row],
    ns: &crate::netns::NetNs,
) -> Vec<Value> {
    use crate::render::ss as view;
    use crate::ss::Row;
    let ctx = naming.context(false);
    let details = naming.details();
    let tag = view::NamespaceTag {
        inode: ns.inode,
        name: ns.name.as_deref(),
    };
    rows.iter()
        .map(|row| {
            let (mut v, d) = match row {
                Row::Netlink(s) => (view::netlink_json(&ctx, s, &tag), netlink(s, &details)),
                Row::Packet(s) => {
                    let mut v = view::packet_json(&ctx, s, &tag);
                    // -b lists a packet socket's filter without --all-filters too.
                    if details.bpf && v["filter"].is_null() {
                        v["filter"] =
                            crate::render::ss_filters::diag_json(view::packet_diag_filter(s));
                    }
                    (v, packet(s, &details))
                }
                Row::Unix(s) => (view::unix_json(&ctx, s, &tag), unix(s, &details)),
                Row::Inet(s, table) => return inet_socket(naming, &ctx, s, *table, &tag),
            };
            v["details"] = d;
            v
        })
        .collect()
}

/// The `ss_socket` object of an inet row, with its details as values.
fn inet_socket(
    naming: &crate::ss::view::Naming<'_>,
    ctx: &crate::render::ss::RowContext<'_>,
    s: &SsInetSocket,
    table: crate::render::ss::Table,
    tag: &crate::render::ss::NamespaceTag<'_>,
) -> Value {
    let mut v = crate::render::ss::inet_json(ctx, s, table, tag);
    v["details"] = inet(s, &naming.details(), naming.cgroups());
    v
}

/// One `-E` line, the `ss_event` document: a socket of namespace `ns` the kernel
/// reported destroyed, read at `time` (seconds since the epoch; the message has no
/// time of its own). The destroy message carries no owner uid and no inode (the
/// kernel zeroes both): `uid` is null, `inode` 0, and no process holds it any more.
pub fn event(
    naming: &crate::ss::view::Naming<'_>,
    s: &SsInetSocket,
    ns: &crate::netns::NetNs,
    time: f64,
) -> Value {
    let tag = crate::render::ss::NamespaceTag {
        inode: ns.inode,
        name: ns.name.as_deref(),
    };
    // ss's dg_proto is unset under -E: a port is named by either protocol.
    let table = crate::render::ss::Table::Any;
    let mut socket = inet_socket(naming, &naming.context(false), s, table, &tag);
    socket["uid"] = Value::Null;
    json!({
        "schema": 1,
        "view": "ss_event",
        "event": "destroy",
        "time": time,
        "namespace": namespace(ns),
        "socket": socket,
    })
}

/// The `ss_event` line saying that the kernel dropped events of namespace `ns`
/// (ENOBUFS: rss's queue was full); `socket` is null.
pub fn lost(ns: &crate::netns::NetNs, time: f64) -> Value {
    json!({
        "schema": 1,
        "view": "ss_event",
        "event": "lost",
        "time": time,
        "namespace": namespace(ns),
        "socket": null,
    })
}

/// The `namespace` object of docs/json.md.
pub fn namespace(ns: &crate::netns::NetNs) -> Value {
    json!({
        "inode": ns.inode,
        "name": ns.name,
        "pid": ns.pid,
        "own": ns.own,
    })
}

/// The `ss` document; `summaries` (-s's `ss_summary` objects) null without -s.
pub fn document(
    namespaces: Vec<Value>,
    sockets: Vec<Value>,
    summaries: Option<Vec<Value>>,
) -> Value {
    json!({
        "schema": 1,
        "view": "ss",
        "namespaces": namespaces,
        "sockets": sockets,
        "summary": summaries,
    })
}
