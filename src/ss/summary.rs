//! `ss -s`'s numbers: /proc/net/sockstat{,6} and Tcp CurrEstab of /proc/net/snmp,
//! read as ss's get_sockstat() and get_snmp_int() read them.

use crate::cli::ss as cli;
use crate::proc::ProcRoot;
use crate::ss::ProcEnv;

/// What `ss -s` prints, and ss's messages about what it could not read.
#[derive(Default)]
pub struct Summary {
    pub sockstat: Sockstat,
    pub estab: i32,
    pub messages: Vec<String>,
}

/// Reads the counters of the calling thread's namespace (--all-netns enters one
/// per thread, so thread-self, not self), or the files ss's environment names
/// (PROC_NET_SOCKSTAT, PROC_NET_SOCKSTAT6, PROC_NET_SNMP, PROC_ROOT).
pub fn read(root: &ProcRoot, env: &ProcEnv) -> Summary {
    let file = |var: &str, name: &str| {
        if env.forced(var) {
            crate::proc::read_file(&env.path(var, &format!("net/{name}")))
        } else {
            root.read(&format!("thread-self/net/{name}"))
        }
    };
    let mut s = Summary::default();
    match file("PROC_NET_SOCKSTAT", "sockstat") {
        Ok(data) => {
            s.sockstat.read(&data);
            if let Ok(data6) = file("PROC_NET_SOCKSTAT6", "sockstat6") {
                s.sockstat.read(&data6);
            }
        }
        Err(e) => s
            .messages
            .push(format!("ss: get_sockstat: {}", cli::strerror(&e))),
    }
    let estab = match file("PROC_NET_SNMP", "snmp") {
        Ok(data) => snmp_value(&data, b"Tcp:", b"CurrEstab"),
        Err(e) => {
            s.messages
                .push(format!("ss: get_snmpstat: {}", cli::strerror(&e)));
            Some(0)
        }
    };
    s.estab = estab.unwrap_or_else(|| {
        s.messages.push("ss: get_snmpstat: No such process".into());
        0
    });
    s
}

/// struct ssummary: the numbers ss takes from sockstat.
#[derive(Default)]
pub struct Sockstat {
    pub socks: i32,
    pub tcp_total: i32,
    pub tcp_orphans: i32,
    pub tcp_tws: i32,
    pub tcp4_hashed: i32,
    pub udp4: i32,
    pub raw4: i32,
    pub frag4: i32,
    pub tcp6_hashed: i32,
    pub udp6: i32,
    pub raw6: i32,
    pub frag6: i32,
}

impl Sockstat {
    /// get_sockstat_line(): `ID: name N name N ...`, the Nth value of a known ID.
    fn read(&mut self, data: &[u8]) {
        for line in data.split(|&b| b == b'\n') {
            let mut f = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
            let Some(id) = f.next() else { continue };
            let values: Vec<i32> = f
                .skip(1)
                .step_by(2)
                .map(|v| {
                    std::str::from_utf8(v)
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                })
                .collect();
            let v = |i: usize| values.get(i).copied().unwrap_or(0);
            match id {
                b"sockets:" => self.socks = v(0),
                b"UDP:" => self.udp4 = v(0),
                b"UDP6:" => self.udp6 = v(0),
                b"RAW:" => self.raw4 = v(0),
                b"RAW6:" => self.raw6 = v(0),
                b"TCP6:" => self.tcp6_hashed = v(0),
                b"FRAG:" => self.frag4 = v(0),
                b"FRAG6:" => self.frag6 = v(0),
                b"TCP:" => {
                    self.tcp4_hashed = v(0);
                    self.tcp_orphans = v(1);
                    self.tcp_tws = v(2);
                    self.tcp_total = v(3);
                }
                _ => {}
            }
        }
    }
}

/// get_snmp_int(): the value under `key` in the line pair starting with `proto`.
fn snmp_value(data: &[u8], proto: &[u8], key: &[u8]) -> Option<i32> {
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    for pair in lines.windows(2) {
        let (names, values) = (pair[0], pair[1]);
        if !names.starts_with(proto) || !values.starts_with(proto) {
            continue;
        }
        let pos = names.split(|&b| b == b' ').position(|n| n == key)?;
        let value = values.split(|&b| b == b' ').nth(pos)?;
        return std::str::from_utf8(value).ok()?.parse().ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockstat_and_snmp_as_ss_reads_them() {
        let mut s = Sockstat::default();
        s.read(b"sockets: used 25\nTCP: inuse 1 orphan 2 tw 3 alloc 4 mem 5\nUDP: inuse 6 mem 7\nRAW: inuse 8\nFRAG: inuse 9 memory 10\n");
        s.read(b"TCP6: inuse 11\nUDP6: inuse 12\n");
        assert_eq!(
            (
                s.socks,
                s.tcp4_hashed,
                s.tcp_orphans,
                s.tcp_tws,
                s.tcp_total
            ),
            (25, 1, 2, 3, 4)
        );
        assert_eq!(
            (s.udp4, s.raw4, s.frag4, s.tcp6_hashed, s.udp6),
            (6, 8, 9, 11, 12)
        );
        let snmp = b"Ip: Forwarding X\nIp: 1 2\nTcp: RtoAlgorithm CurrEstab InSegs\nTcp: 1 42 7\n";
        assert_eq!(snmp_value(snmp, b"Tcp:", b"CurrEstab"), Some(42));
        assert_eq!(snmp_value(snmp, b"Udp:", b"CurrEstab"), None);
    }
}
