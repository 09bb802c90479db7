#!/usr/bin/env python3
"""Socket fixture for the rnetstat differential tests.

Usage:
    sockets.py            open the standard socket population (see main())
    sockets.py hostile    re-exec with a hostile argv[0]/comm holding one TCP listener

The process prints `key=value` lines on stdout (keys may repeat), then a line
`ready`, then sleeps until stdin is closed or it receives SIGTERM/SIGINT. On
exit it removes its temporary directory.

Keys:
    pid=N            pid of the process holding every socket
    tcp_port=N       a TCP port owned by the fixture (listener or connection end)
    udp_port=N       a UDP port owned by the fixture
    unix_path=P      a filesystem path a unix socket is bound to
    abstract=@NAME   an abstract unix name as the kernel shows it (NULs as '@')
    raw=available|unavailable   whether the raw ICMP sockets could be opened
    tmpdir=P         the fixture's temporary directory
    <name>=N         extra informational ports (tcp_lo4, udp_any6, ...)

Every socket is static once `ready` is printed: nothing is read or written
afterwards, so the lines netstat prints for them never change.

The standard population holds an flock on $TMPDIR/rnetstat-test-fixture.lock
while it lives, so only one such fixture exists at a time on the machine (its
raw-socket lines cannot be told apart from another fixture's).
"""

import ctypes
import errno
import fcntl
import os
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import time

HOSTILE_NAME = "ev\x1b[31mil\nname"

SOL_RAW = 255  # linux/socket.h
ICMP_FILTER = 1  # linux/icmp.h: bit n set = drop ICMP type n
ICMP6_FILTER = 1  # linux/icmpv6.h: bit n set = block ICMPv6 type n

_kept = []  # every socket is kept referenced here so none gets closed
_out = []  # (key, value) pairs, printed at the end


def emit(key, value):
    _out.append((key, str(value)))


def keep(sock):
    _kept.append(sock)
    return sock


def port_has_service_name(port):
    """netstat without -n prints service names; avoid ports that have one."""
    for proto in ("tcp", "udp"):
        try:
            socket.getservbyport(port, proto)
            return True
        except OSError:
            pass
    return False


def bind_unnamed_port(sock, host):
    """Bind sock to (host, ephemeral port) whose number has no service name."""
    rejected = []
    try:
        for _ in range(200):
            candidate = socket.socket(sock.family, sock.type, sock.proto)
            if sock.family == socket.AF_INET6:
                v6only = sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
                candidate.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
            candidate.bind((host, 0))
            port = candidate.getsockname()[1]
            rejected.append(candidate)
            if not port_has_service_name(port):
                # Release the probe and bind the real socket to that port.
                candidate.close()
                rejected.pop()
                try:
                    sock.bind((host, port))
                except OSError as e:
                    # Another process's connect() can take the freed port before we
                    # bind it (ephemeral ports churn on a busy machine): try another.
                    if e.errno != errno.EADDRINUSE:
                        raise
                    continue
                return port
        raise RuntimeError("no ephemeral port without a service name")
    finally:
        for s in rejected:
            s.close()


def tcp_listener(family, host, v6only=None):
    s = keep(socket.socket(family, socket.SOCK_STREAM))
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
    port = bind_unnamed_port(s, host)
    s.listen(8)
    emit("tcp_port", port)
    return s, port


def tcp_connect(family, bind_host, dest, listener):
    """Connect a client to listener; keep both ends; return (client, server)."""
    c = keep(socket.socket(family, socket.SOCK_STREAM))
    if family == socket.AF_INET6:
        c.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    port = bind_unnamed_port(c, bind_host)
    emit("tcp_port", port)
    c.connect(dest)
    a, _ = listener.accept()
    keep(a)
    # Linger 0: when the fixture exits (even by SIGKILL) both ends are reset
    # instead of leaving TIME_WAIT entries behind that would show up next to
    # the next fixture's sockets.
    for s in (c, a):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return c, a


def udp_socket(family, host, v6only=None):
    s = keep(socket.socket(family, socket.SOCK_DGRAM))
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
    port = bind_unnamed_port(s, host)
    emit("udp_port", port)
    return s, port


def set_comm(name):
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_name = 15
    libc.prctl(pr_set_name, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def wait_forever(tmpdir=None):
    def cleanup_and_exit(*_args):
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, cleanup_and_exit)
    signal.signal(signal.SIGINT, cleanup_and_exit)

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        cleanup_and_exit()

    threading.Thread(target=watch_stdin, daemon=True).start()
    while True:
        time.sleep(3600)


def flush_output():
    for key, value in _out:
        sys.stdout.write(f"{key}={value}\n")
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def take_global_lock():
    """Serialize fixtures across processes (e.g. two `cargo test` runs).

    Raw sockets have no port, so the raw lines of two fixtures would be
    identical; holding this lock for the fixture's lifetime keeps them apart.
    The kernel releases it when the process exits.
    """
    path = os.path.join(tempfile.gettempdir(), "rnetstat-test-fixture.lock")
    try:
        # Read-only and without O_CREAT when it exists: works whoever created
        # it (fs.protected_regular refuses O_CREAT on others' files in /tmp).
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def main():
    _lock_fd = take_global_lock()  # held until exit
    pid = os.getpid()
    emit("pid", pid)
    tmpdir = tempfile.mkdtemp(prefix=f"rnetstat-test-{pid}-")
    emit("tmpdir", tmpdir)

    # --- TCP listeners -------------------------------------------------------
    lo4, p = tcp_listener(socket.AF_INET, "127.0.0.1")
    emit("tcp_lo4", p)
    any4, p = tcp_listener(socket.AF_INET, "0.0.0.0")
    emit("tcp_any4", p)
    lo6, p = tcp_listener(socket.AF_INET6, "::1", v6only=True)
    emit("tcp_lo6", p)
    any6, p = tcp_listener(socket.AF_INET6, "::", v6only=False)
    emit("tcp_any6", p)

    # --- established TCP (both ends held) ------------------------------------
    c4, a4 = tcp_connect(socket.AF_INET, "127.0.0.1", ("127.0.0.1", lo4.getsockname()[1]), lo4)
    c6, a6 = tcp_connect(socket.AF_INET6, "::1", ("::1", lo6.getsockname()[1]), lo6)
    # v6 client talking to a v4 listener through a v4-mapped address
    tcp_connect(
        socket.AF_INET6,
        "::ffff:127.0.0.1",
        ("::ffff:127.0.0.1", any4.getsockname()[1]),
        any4,
    )
    # v4 client talking to the dual-stack [::] listener (accepted side is v4-mapped)
    tcp_connect(socket.AF_INET, "127.0.0.1", ("127.0.0.1", any6.getsockname()[1]), any6)
    # Leave a few unread bytes: Recv-Q of the accepted end is non-zero but constant.
    c4.sendall(b"hello")
    c6.sendall(b"hi6")

    # --- UDP ------------------------------------------------------------------
    u4, p = udp_socket(socket.AF_INET, "0.0.0.0")
    emit("udp_any4", p)
    u6, p = udp_socket(socket.AF_INET6, "::", v6only=True)
    emit("udp_any6", p)
    uc4, p = udp_socket(socket.AF_INET, "127.0.0.1")
    uc4.connect(("127.0.0.1", u4.getsockname()[1]))
    emit("udp_conn4", p)
    uc6, p = udp_socket(socket.AF_INET6, "::1", v6only=True)
    uc6.connect(("::1", u6.getsockname()[1]))
    emit("udp_conn6", p)
    # Unread datagram: Recv-Q of u4 becomes non-zero and stays constant.
    uc4.send(b"x" * 100)

    # --- raw ------------------------------------------------------------------
    # Bound to loopback (not the wildcard) so the lines are distinguishable from
    # raw sockets other programs may hold.
    # Raw sockets need CAP_NET_RAW; without it they are left out (raw=unavailable).
    try:
        r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    except PermissionError:
        emit("raw", "unavailable")
    else:
        # Block every ICMP type so loopback ICMP traffic (port unreachables
        # from other programs…) never queues up: Recv-Q stays 0.
        r4.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", 0xFFFFFFFF))
        r6.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, b"\xff" * 32)
        keep(r4).bind(("127.0.0.1", 0))
        keep(r6).bind(("::1", 0))
        r6.connect(("::1", 0))
        emit("raw", "available")

    # --- unix -----------------------------------------------------------------
    stream_path = os.path.join(tmpdir, "stream.sock")
    ls = keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    ls.bind(stream_path)
    ls.listen(8)
    emit("unix_path", stream_path)
    cl = keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    cl.connect(stream_path)
    keep(ls.accept()[0])

    dgram_path = os.path.join(tmpdir, "dgram.sock")
    d = keep(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    d.bind(dgram_path)
    emit("unix_path", dgram_path)

    # netstat shows only the part of the path before the first whitespace.
    space_path = os.path.join(tmpdir, "with space.sock")
    ds = keep(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    ds.bind(space_path)
    emit("unix_path", space_path)

    seq_path = os.path.join(tmpdir, "seqpacket.sock")
    sp = keep(socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET))
    sp.bind(seq_path)
    sp.listen(8)
    emit("unix_path", seq_path)

    abstract = f"rnetstat-test-{pid}"
    ab = keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    ab.bind("\0" + abstract)
    ab.listen(8)
    emit("abstract", "@" + abstract)

    # Abstract name with an embedded NUL: the kernel prints it as '@'.
    abn = keep(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    abn.bind(b"\0" + abstract.encode() + b"-nul\0tail")
    emit("abstract", "@" + abstract + "-nul@tail")

    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        for s in socket.socketpair(socket.AF_UNIX, kind):
            keep(s)

    # Let loopback ACKs and datagram delivery settle before anyone looks.
    time.sleep(0.05)
    flush_output()
    wait_forever(tmpdir)


def hostile():
    """Re-exec this script with a hostile argv[0], then run hostile_child()."""
    script = os.path.abspath(__file__)
    os.execv(sys.executable, [HOSTILE_NAME, script, "hostile-child"])


def hostile_child():
    set_comm(HOSTILE_NAME)
    emit("pid", os.getpid())
    lo4, p = tcp_listener(socket.AF_INET, "127.0.0.1")
    emit("tcp_lo4", p)
    flush_output()
    wait_forever()


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "hostile":
        hostile()
    elif mode == "hostile-child":
        hostile_child()
    else:
        main()
