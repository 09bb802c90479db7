"""Holds sockets for the ss detail tests inside the private network namespace it is
started in (`unshare --net`): unix stream/dgram/seqpacket sockets (a bound listener
with one accepted and one waiting connection, a half-shut socketpair, an abstract
datagram socket), packet sockets (raw on lo with TPACKET_V2 rx ring, fanout and a
classic BPF filter; a plain dgram one), a netlink route socket in two multicast
groups and TCP on loopback (a listener, an
established pair with data, a half-closed pair). DIR is a fresh directory for the
unix paths; CGROUP, when not "-", a cgroup v2 directory the holder moves into first
(its sockets then carry that cgroup). Prints "ready PORT" and waits for stdin to
close."""
import ctypes
import os
import socket
import struct
import subprocess
import sys

d = sys.argv[1]
if len(sys.argv) > 2 and sys.argv[2] != "-":
    with open(os.path.join(sys.argv[2], "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
keep = []

lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
lst.bind(os.path.join(d, "listener"))
lst.listen(4)
c1 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c1.connect(os.path.join(d, "listener"))
a1, _ = lst.accept()
c1.sendall(b"q" * 300)
c2 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c2.connect(os.path.join(d, "listener"))  # left in the accept queue
keep += [lst, c1, a1, c2]
p1, p2 = socket.socketpair()
p1.shutdown(socket.SHUT_WR)
keep += [p1, p2]
dg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
dg.bind("\0rss-detail-dgram-" + str(os.getpid()))
keep.append(dg)
sq = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
sq.bind(os.path.join(d, "seq"))
keep.append(sq)

ETH_P_ALL = 3
SOL_PACKET = 263
PACKET_VERSION, PACKET_RX_RING, PACKET_FANOUT = 10, 5, 18
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
raw.bind(("lo", 0))
raw.setsockopt(SOL_PACKET, PACKET_VERSION, 1)  # TPACKET_V2
raw.setsockopt(SOL_PACKET, PACKET_RX_RING, struct.pack("IIII", 4096, 2, 2048, 4))
raw.setsockopt(SOL_PACKET, PACKET_FANOUT, (os.getpid() & 0xffff) | (0 << 16))
# ret #0: a filter that drops everything, so the socket stays quiet.
prog = struct.pack("HBBI", 0x06, 0, 0, 0)
buf = ctypes.create_string_buffer(prog)
fprog = struct.pack("HL", 1, ctypes.addressof(buf))
SO_ATTACH_FILTER = 26
raw.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
keep.append(raw)
pdg = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0806))
keep.append(pdg)

nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
nl.bind((0, 0x11))  # RTMGRP_LINK | RTMGRP_IPV4_IFADDR
keep.append(nl)

tl = socket.socket()
tl.bind(("127.0.0.1", 0))
tl.listen(4)
port = tl.getsockname()[1]
tc = socket.create_connection(("127.0.0.1", port))
ts, _ = tl.accept()
tc.sendall(b"t" * 5000)
ts.recv(1000)  # 4000 bytes stay unread
hc = socket.create_connection(("127.0.0.1", port))
hs, _ = tl.accept()
hc.shutdown(socket.SHUT_WR)
assert hs.recv(1) == b""  # the FIN has arrived
keep += [tl, tc, ts, hc, hs]
t6 = socket.socket(socket.AF_INET6)
t6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
t6.bind(("::1", port))
t6.listen(1)
keep.append(t6)

print(f"ready {port}", flush=True)
sys.stdin.read()
