// A WebSocket echo server (npm ws) on 127.0.0.1, port chosen by the kernel: prints
// "listening <port>" once ready. Plain HTTP requests get 200 "ok" (readiness checks). Every
// message comes back as it came (text as text, binary as binary).
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('ok');
});
const wss = new WebSocketServer({ server });
wss.on('connection', (socket, req) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.send(JSON.stringify({ hello: req.headers['x-forwarded-for'] || '' }));
});
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
process.on('SIGTERM', () => process.exit(0));
