#!/usr/bin/env python3
"""A private portmapper for tests/rpc_names.rs.

Run as PID 1 of fresh network, mount and PID namespaces (`unshare --net --mount
--pid --fork --kill-child`): mounts a tmpfs on /run (rpcbind's socket and lock file
stay out of the host's /run), brings lo up, starts `rpcbind -f -i`, registers the
programs below itself (PMAPPROC_SET and RPCBPROC_SET over TCP to 127.0.0.1:111),
then holds sockets on the registered ports. Prints `ready PID` (PID as the host sees
this process, for nsenter) and waits for end of input. When it exits, the kernel
ends rpcbind with the PID namespace.
"""
import os
import re
import socket
import struct
import subprocess
import sys
import time

PMAP = 100000

# (program, version, protocol, port): version 2 registrations. Port 40000 twice: lsof
# keeps the first (status), ss the last (nlockmgr). 399999 is not in /etc/rpc.
PMAP_SETS = [
    (100024, 1, 6, 40000),
    (399999, 1, 17, 40001),
    (100005, 3, 17, 40002),
    (100021, 1, 6, 40000),
    (100003, 3, 6, 40003),
    (399998, 1, 6, 40005),
]
# (program, version, netid, universal address): version 3, IPv6 only.
RPCB_SETS = [
    (100011, 1, b"tcp6", b"::.156.68"),  # 40004
]


def call(vers, proc, args):
    s = socket.create_connection(("127.0.0.1", 111), timeout=10)
    try:
        body = struct.pack(">10I", 1, 0, 2, PMAP, vers, proc, 0, 0, 0, 0) + args
        s.sendall(struct.pack(">I", 0x80000000 | len(body)) + body)
        data = b""
        while True:
            head = struct.unpack(">I", recv_exact(s, 4))[0]
            data += recv_exact(s, head & 0x7FFFFFFF)
            if head & 0x80000000:
                return data
    finally:
        s.close()


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("short reply")
        buf += chunk
    return buf


def xdr_string(b):
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def main():
    # What is mounted below /run (the host's `ip netns` names) would be hidden by the
    # tmpfs, and lsof warns about every mount point it cannot stat: leave this mount
    # namespace's copies first (the host's stay).
    with open("/proc/self/mounts", "rb") as f:
        dirs = [line.split(b" ")[1] for line in f if len(line.split(b" ")) > 2]
    octal = re.compile(rb"\\([0-7]{3})")
    below = {octal.sub(lambda m: bytes([int(m.group(1), 8)]), d) for d in dirs}
    below = {d for d in below if d.startswith(b"/run/")}
    for d in sorted(below, key=len, reverse=True):
        subprocess.run([b"umount", b"-l", d], check=False, stderr=subprocess.DEVNULL)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    rpcbind = subprocess.Popen(["rpcbind", "-f", "-i"])
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", 111), timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)
    else:
        sys.exit("rpcbind did not start")
    for prog, vers, prot, port in PMAP_SETS:
        reply = call(2, 1, struct.pack(">4I", prog, vers, prot, port))
        assert reply[-4:] == b"\0\0\0\1", ("PMAPPROC_SET refused", prog)
    for prog, vers, netid, addr in RPCB_SETS:
        args = struct.pack(">2I", prog, vers) + xdr_string(netid) + xdr_string(addr)
        reply = call(3, 1, args + xdr_string(b"superuser"))
        assert reply[-4:] == b"\0\0\0\1", ("RPCBPROC_SET refused", prog)

    held = []

    def sock(family, kind, addr, listen=True):
        s = socket.socket(family, kind)
        s.bind(addr)
        if listen and kind == socket.SOCK_STREAM:
            s.listen()
        held.append(s)
        return s

    server = sock(socket.AF_INET, socket.SOCK_STREAM, ("0.0.0.0", 40000))
    sock(socket.AF_INET, socket.SOCK_DGRAM, ("0.0.0.0", 40001))
    sock(socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 40002))
    sock(socket.AF_INET6, socket.SOCK_STREAM, ("::", 40003))
    sock(socket.AF_INET6, socket.SOCK_STREAM, ("::1", 40004))
    sock(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 40005))
    client = socket.create_connection(("127.0.0.1", 40000))
    held += [client, server.accept()[0]]
    # A connection to a registered port of another address family's loopback.
    v6 = socket.create_connection(("::1", 40004))
    held += [v6]
    print("ready", os.readlink("/proc/self"), flush=True)
    sys.stdin.read()
    rpcbind.kill()
    rpcbind.wait()


main()
