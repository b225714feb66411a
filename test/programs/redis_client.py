"""A redis client for test/e2e/redis.test.ts: over a UNIX socket, SETs N numbered keys (in
pipelined batches, pausing between them so a checkpoint lands mid-run), then GETs every one
back and checks it. Prints what it did and a checksum of every value read; exits 1 on the
first wrong or missing value."""
import hashlib
import socket
import sys
import time


def command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Replies:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self.line()
        if line[:1] == b"$":
            n = int(line[1:])
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if line[:1] == b"-":
            raise SystemExit("redis error: " + line.decode())
        return line[1:]


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    r = Replies(s)
    batch = 2000
    for start in range(0, n, batch):
        keys = range(start, min(n, start + batch))
        s.sendall(b"".join(command("SET", "key:%d" % i, "value-%d-%d" % (i, i * 7919 % 1000003)) for i in keys))
        for _ in keys:
            if r.reply() != b"OK":
                raise SystemExit("SET failed")
        time.sleep(0.02)
    print("set %d" % n)
    digest = hashlib.sha256()
    for start in range(0, n, batch):
        keys = range(start, min(n, start + batch))
        s.sendall(b"".join(command("GET", "key:%d" % i) for i in keys))
        for i in keys:
            v = r.reply()
            if v != b"value-%d-%d" % (i, i * 7919 % 1000003):
                print("key:%d is %r" % (i, v))
                sys.exit(1)
            digest.update(v)
        time.sleep(0.01)
    s.sendall(command("DBSIZE"))
    print("get %d ok, dbsize %s" % (n, r.reply().decode()))
    print("checksum " + digest.hexdigest())


main()
