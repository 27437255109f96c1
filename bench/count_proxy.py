#!/usr/bin/env python3
"""A loopback TCP proxy that counts STS actions in the request bytes.

usage: count_proxy.py UPSTREAM_PORT COUNT_FILE [--port-file FILE]

Listens on a free 127.0.0.1 port (written to --port-file, else printed on
stdout), forwards every connection to 127.0.0.1:UPSTREAM_PORT and counts the
occurrences of `Action=AssumeRole` and `Action=GetCallerIdentity` in what the
clients send (the same markers tests/common/mod.rs counts). After every change
COUNT_FILE is rewritten atomically as JSON:

    {"AssumeRole": 3, "GetCallerIdentity": 1, "connections": 4}

The counts are printed to stderr again on SIGTERM / SIGINT. Only loopback
addresses are ever used.
"""
import json
import os
import signal
import socket
import sys
import threading

# As in tests/common/mod.rs. (`Action=AssumeRole` would also match
# AssumeRoleWithWebIdentity / WithSAML, which nothing here calls.)
MARKERS = {b"Action=AssumeRole": "AssumeRole", b"Action=GetCallerIdentity": "GetCallerIdentity"}

counts = {"AssumeRole": 0, "GetCallerIdentity": 0, "connections": 0}
lock = threading.Lock()
count_file = None


def save():
    tmp = f"{count_file}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(counts, f)
    os.replace(tmp, count_file)


def bump(name, n=1):
    with lock:
        counts[name] += n
        save()


def scan(window, start_new):
    """Counts markers in window that end inside the new bytes (index >= start_new)."""
    found = {}
    for needle, name in MARKERS.items():
        i = window.find(needle)
        while i != -1:
            if i + len(needle) > start_new:
                found[name] = found.get(name, 0) + 1
            i = window.find(needle, i + 1)
    return found


def pump(src, dst, count):
    tail = b""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if count:
                window = tail + data
                for name, n in scan(window, len(tail)).items():
                    bump(name, n)
                tail = window[-40:]
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def handle(client, upstream_port):
    try:
        server = socket.create_connection(("127.0.0.1", upstream_port))
    except OSError:
        client.close()
        return
    bump("connections")
    t1 = threading.Thread(target=pump, args=(client, server, True), daemon=True)
    t2 = threading.Thread(target=pump, args=(server, client, False), daemon=True)
    t1.start()
    t2.start()
    t1.join()
    t2.join()
    client.close()
    server.close()


def main():
    global count_file
    args = sys.argv[1:]
    port_file = None
    if "--port-file" in args:
        i = args.index("--port-file")
        port_file = args[i + 1]
        del args[i : i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    upstream_port = int(args[0])
    count_file = args[1]
    save()

    def stop(*_):
        with lock:
            print(json.dumps(counts), file=sys.stderr, flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    port = listener.getsockname()[1]
    if port_file:
        with open(port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(port_file + ".tmp", port_file)
    else:
        print(port, flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=handle, args=(client, upstream_port), daemon=True).start()


if __name__ == "__main__":
    main()
