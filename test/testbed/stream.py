#!/usr/bin/env python3
"""Checksummed records streamed both ways between two hosts of the test bed, without
pause: node2 serves, node1 connects (by address); any other host ticks along. Each side
sends N records and checks every record it receives against what it must be, then writes
result.<host>: the count, the errors and the SHA-256 of all it received. The receiver
slows down for a while, so senders block on full buffers at times.
  stream.py N          run (role by hostname)
  stream.py --expect N TAG   print the SHA-256 an uninterrupted run's receiver of TAG gets
"""
import hashlib
import socket
import sys
import threading
import time

PORT = 47011
SERVER = '10.77.0.12'


def record(tag, i):
    body = hashlib.sha256(f'{tag}{i}'.encode()).hexdigest() * 8
    return f'{tag} {i:08d} {body}\n'.encode()


SIZE = len(record('C', 0))


def expect(n, tag):
    h = hashlib.sha256()
    for i in range(n):
        h.update(record(tag, i))
    return h.hexdigest()


def recv_exact(s, n):
    buf = b''
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError('connection closed')
        buf += d
    return buf


def main():
    if sys.argv[1] == '--expect':
        print(expect(int(sys.argv[2]), sys.argv[3]))
        return
    n = int(sys.argv[1])
    host = socket.gethostname()
    out = open(f'out.{host}', 'a', buffering=1)
    if host not in ('node1', 'node2'):
        for i in range(n // 100):
            out.write(f'{host} tick {i}\n')
            time.sleep(0.1)
        return
    if host == 'node2':
        l = socket.socket()
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind(('0.0.0.0', PORT))
        l.listen(1)
        s, _ = l.accept()
        me, peer = 'S', 'C'
    else:
        for _ in range(400):
            try:
                s = socket.create_connection((SERVER, PORT))
                break
            except OSError:
                time.sleep(0.05)
        me, peer = 'C', 'S'

    def sender():
        for i in range(n):
            s.sendall(record(me, i))
            if i % 15 == 0:
                time.sleep(0.01)

    t = threading.Thread(target=sender)
    t.start()
    h = hashlib.sha256()
    errors = 0
    for i in range(n):
        r = recv_exact(s, SIZE)
        if r != record(peer, i):
            errors += 1
        h.update(r)
        if n // 5 < i < n // 2:
            time.sleep(0.001)   # slower than the sender: its buffers fill
        if i % 1000 == 0:
            out.write(f'{host} received {i}\n')
    t.join()
    with open(f'result.{host}', 'w') as f:
        f.write(f'{me} sent {n} received {n} errors {errors} sha {h.hexdigest()}\n')
    s.close()


main()
