"""Holds sockets inside a network namespace for rnetstat's tests: a TCP listener on
127.0.0.1:PORT and [::1]:PORT, one established loopback connection to it, and an
abstract unix listener. Prints "ready PID CLIENT_PORT V6" and waits for stdin to close."""
import os
import socket
import sys

port = int(sys.argv[1])
tag = sys.argv[2]
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(8)
v6 = 0
try:
    listener6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    listener6.bind(("::1", port))
    listener6.listen(8)
    v6 = 1
except OSError:
    pass
client = socket.create_connection(("127.0.0.1", port))
server, _ = listener.accept()
unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
unix.bind("\0" + tag)
unix.listen(1)
print(f"ready {os.getpid()} {client.getsockname()[1]} {v6}", flush=True)
sys.stdin.read()
