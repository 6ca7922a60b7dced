#!/usr/bin/env python3
"""A loopback feed server for the soak test: N RSS feeds at /feed/K.xml,
each changing now and then, with ETag and 304 answers, logging every
request as one JSON line (time, path, status) for the analysis."""
import hashlib
import http.server
import json
import sys
import threading
import time

N = int(sys.argv[1])
LOG = open(sys.argv[2], "a", buffering=1)
PORT_FILE = sys.argv[3]
START = time.time()
LOCK = threading.Lock()


def feed(k: int) -> bytes:
    # A new item every 60 seconds per feed, so some fetches carry changes.
    epoch = int((time.time() - START) // 60)
    items = []
    for i in range(epoch, epoch + 20):
        items.append(
            f"<item><title>Feed {k} note {i}</title>"
            f"<link>http://soak.invalid/{k}/{i}</link>"
            f"<guid isPermaLink=\"false\">soak-{k}-{i}</guid>"
            f"<pubDate>{time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(1767225600 + i * 3600))}</pubDate>"
            f"<description>Entry {i} of feed {k}, written for the soak test.</description></item>"
        )
    body = (
        f"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Soak feed {k}</title>"
        f"<link>http://soak.invalid/{k}/</link><description>Soak</description>{''.join(items)}</channel></rss>"
    )
    return body.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        try:
            k = int(self.path.split("/")[-1].split(".")[0])
        except ValueError:
            k = -1
        if not self.path.startswith("/feed/") or not 0 <= k < N:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            status = 404
        else:
            body = feed(k)
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                status = 304
            else:
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                status = 200
        with LOCK:
            LOG.write(json.dumps({"t": time.time(), "path": self.path, "status": status}) + "\n")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
