"""TCP sockets with every timer ss's /proc fallback prints, made inside a private
network namespace (lo up, veth v0/v1 with 192.0.2.1/24 on v0 and a permanent
neighbour 192.0.2.2 that never answers, set up by the caller), plus a packet, a UDP
and netlink sockets. Prints "ready PID" and waits for stdin to close.

    proc_scene.py
"""
import os
import socket
import sys
import time

keep = []


def listener(family, addr, port, backlog=8):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(backlog)
    keep.append(s)
    return s


def pair(family, addr, port, keepalive=False):
    lst = listener(family, addr, port)
    c = socket.socket(family, socket.SOCK_STREAM)
    if keepalive:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 3600)
    c.connect((addr, port))
    s, _ = lst.accept()
    keep.extend([c, s])
    return c, s


# Established with a keepalive timer and data both ways (ato, qack), unread bytes.
c, s = pair(socket.AF_INET, "127.0.0.1", 7100, keepalive=True)
c.send(b"x" * 1000)
s.recv(10)
s.send(b"y" * 300)
c6, s6 = pair(socket.AF_INET6, "::1", 7101, keepalive=True)
c6.send(b"z" * 50)

# A retransmit timer: a SYN to a neighbour that never answers.
syn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
syn.setblocking(False)
try:
    syn.connect(("192.0.2.2", 7102))
except BlockingIOError:
    pass
keep.append(syn)

# Unacknowledged data towards the same neighbour is not possible without a peer; a
# peer whose window is full makes the sender probe (persist) instead.
zc, zs = pair(socket.AF_INET, "127.0.0.1", 7103)
zs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
zc.setblocking(False)
try:
    while True:
        zc.send(b"w" * 65536)
except BlockingIOError:
    pass

# A TIME-WAIT (the active closer) and a CLOSE-WAIT / FIN-WAIT-2 pair.
tc, ts = pair(socket.AF_INET, "127.0.0.1", 7104)
tc.close()
ts.close()
keep.remove(tc)
keep.remove(ts)
fc, fs = pair(socket.AF_INET, "127.0.0.1", 7105)
fc.shutdown(socket.SHUT_WR)

# The other tables ss reads from /proc with -e.
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 7106))
keep.append(u)
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
p.bind(("lo", 0))
keep.append(p)
for proto in (0, 15):
    n = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
    n.bind((0, 1 if proto == 15 else 0))
    keep.append(n)

# Loopback delivers the FINs as close() returns; wait (at most 5 s) for the TIME-WAIT
# anyway, so a loaded machine cannot show the test a FIN-WAIT instead.
for _ in range(500):
    with open("/proc/net/tcp") as f:
        if any(line.split()[3] == "06" for line in f.readlines()[1:]):
            break
    time.sleep(0.01)

print("ready", os.getpid(), flush=True)
sys.stdin.read()
