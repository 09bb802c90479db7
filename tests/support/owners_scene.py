"""Processes holding sockets for tests/owners_bpf.rs, run as PID 1 of a fresh net+pid+
mount namespace (unshare --net --pid --fork --mount-proc): when it ends, the kernel
kills everything else in the namespace.

    owners_scene.py PORT

Holders: this process (TCP listener, an established pair, UDP, unix listener, a
socketpair); a forked child sharing all of them and adding its own, renamed with a space
in its comm; a process in a nested pid namespace; a process whose leader thread has
exited (its thread holds a socket); a process with a thread that unshared its fd table
(a socket only that thread sees) and non-socket descriptors between the sockets.
Prints "ready" once every holder is set up, then waits for stdin to close.
"""
import ctypes
import os
import socket
import subprocess
import sys
import threading
import time

CLONE_FILES = 0x400
PR_SET_NAME = 15

libc = ctypes.CDLL(None, use_errno=True)
port = int(sys.argv[1])
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

ready_r, ready_w = os.pipe()


def tcp_listener(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p))
    s.listen(8)
    return s


def sleep_forever():
    while True:
        time.sleep(3600)


def child(setup):
    """Forks a holder: setup() runs in the child, which then tells the parent."""
    pid = os.fork()
    if pid == 0:
        try:
            keep = setup()
            os.write(ready_w, b"x")
            sleep_forever()
            del keep
        finally:
            os._exit(1)
    return pid


listener = tcp_listener(port)
client = socket.create_connection(("127.0.0.1", port))
server, _ = listener.accept()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", port))
unix_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
unix_listener.bind("\0rnt-owners-scene-%d" % port)
unix_listener.listen(8)
pair = socket.socketpair()
holders = 0


def renamed():
    libc.prctl(PR_SET_NAME, b"rnt owner kid", 0, 0, 0)
    return tcp_listener(port + 1)


child(renamed)
holders += 1

# A nested pid namespace: its listener's holder is numbered here as this namespace sees it.
nested = subprocess.Popen(
    ["unshare", "--pid", "--fork", "--kill-child", sys.executable, "-c",
     "import socket,os,time\n"
     "s=socket.socket(); s.bind(('127.0.0.1', %d)); s.listen(1)\n"
     "os.write(%d, b'x')\n"
     "time.sleep(1e6)" % (port + 2, ready_w)],
    pass_fds=[ready_w],
)
holders += 1


def leader_exits():
    def hold():
        keep = tcp_listener(port + 3)
        os.write(ready_w, b"x")
        sleep_forever()
        del keep
    threading.Thread(target=hold).start()
    # The leader thread exits; the process lives on in its other thread, and
    # /proc/PID/fd (the leader's table) is empty.
    libc.pthread_exit(None)


pid = os.fork()
if pid == 0:
    try:
        leader_exits()
    finally:
        os._exit(1)
holders += 1


def own_table():
    dev_null = [os.open("/dev/null", os.O_RDONLY) for _ in range(3)]
    first = tcp_listener(port + 4)
    more = [os.open("/dev/null", os.O_RDONLY) for _ in range(3)]
    started = threading.Event()

    def private():
        if libc.unshare(CLONE_FILES) != 0:
            os._exit(2)
        # Only this thread's table holds it: not in /proc/PID/fd.
        private.sock = tcp_listener(port + 5)
        started.set()
        sleep_forever()
    threading.Thread(target=private, daemon=True).start()
    started.wait()
    return dev_null, first, more


child(own_table)
holders += 1

got = 0
while got < holders:
    got += len(os.read(ready_r, holders - got))
print("ready", flush=True)
sys.stdin.read()
