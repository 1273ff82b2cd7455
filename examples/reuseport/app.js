// A small HTTP app for `baton run --mode reuseport` on Node.js: it listens on the first
// address of $BATON_LISTEN (else 127.0.0.1:$PORT) with SO_REUSEPORT, answers GET with
// its version, and on SIGTERM stops accepting, closes idle keep-alive connections,
// finishes its requests and exits 0.
//
// Node sets SO_REUSEPORT itself from 22.12 / 23.1 on (net's `reusePort`). Older Node
// (Debian 12 ships 18) cannot: there the socket comes bound with SO_REUSEPORT as fd 3
// from reuseport-listen.py, started in front of node (LISTEN_FDS=1, as systemd does).
'use strict';
const http = require('http');

const argv = process.argv.slice(2);
const version = argv.includes('--version') ? argv[argv.indexOf('--version') + 1] : 'v1';
const [major, minor] = process.versions.node.split('.').map(Number);
const hasReusePort = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);

const server = http.createServer((req, res) => {
  const body = version + '\n';
  res.writeHead(200, {'X-Version': version, 'Content-Length': Buffer.byteLength(body)});
  res.end(body);
});
server.on('error', (err) => {
  console.error(`app.js ${version}: ${err.message}`);
  process.exit(1);
});

if (process.env.LISTEN_FDS === '1' && process.env.LISTEN_PID === String(process.pid)) {
  server.listen({fd: 3});
} else if (hasReusePort) {
  const shared = (process.env.BATON_LISTEN || '').split(/\s+/).filter(Boolean);
  const addr = shared.length ? shared[0] : `127.0.0.1:${process.env.PORT}`;
  const colon = addr.lastIndexOf(':');
  server.listen({host: addr.slice(0, colon).replace(/^\[|\]$/g, ''),
                 port: Number(addr.slice(colon + 1)), reusePort: true});
} else {
  console.error(`app.js: Node ${process.versions.node} cannot set SO_REUSEPORT ` +
                '(22.12 or 23.1 needed): start it through reuseport-listen.py');
  process.exit(1);
}

process.on('SIGTERM', () => {
  server.close(() => {
    console.error(`app.js ${version}: drained, exiting`);
    process.exit(0);
  });
  server.closeIdleConnections();
});
