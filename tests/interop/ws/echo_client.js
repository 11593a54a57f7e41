// A WebSocket client (npm ws): connects to argv[2] (a ws:// URL) with Host argv[3], takes the
// server's greeting, sends text and binary messages (one of 1 MiB), checks each echo byte for
// byte, closes with 1000 and waits for the server's close. Prints "echoed <n> messages" and exits
// 0; anything else exits 1 with the reason on stderr (2 after 30 s without an end).
'use strict';
const crypto = require('crypto');
const WebSocket = require('ws');

const [url, host] = process.argv.slice(2);
const messages = [Buffer.from('hello'), crypto.randomBytes(1 << 20)];
for (let i = 0; i < 20; i++) messages.push(crypto.randomBytes(1 + i * 997));
const fail = (why) => { console.error(why); process.exit(1); };
setTimeout(() => { console.error('no end after 30 s'); process.exit(2); }, 30000).unref();

const socket = new WebSocket(url, { headers: { Host: host }, perMessageDeflate: false });
let greeted = false;
let next = 0;
socket.on('message', (data, isBinary) => {
  if (!greeted) {
    greeted = true;
    if (isBinary || !JSON.parse(data.toString()).hasOwnProperty('hello')) fail('bad greeting: ' + data);
    socket.send(messages[0], { binary: false });
    return;
  }
  const sent = messages[next];
  if (isBinary !== (next !== 0) || !Buffer.from(data).equals(sent)) fail('echo ' + next + ' differs');
  next += 1;
  if (next < messages.length) socket.send(messages[next], { binary: true });
  else socket.close(1000, 'done');
});
socket.on('close', (code) => {
  if (code !== 1000 || next !== messages.length) fail('closed with ' + code + ' after ' + next + ' echoes');
  console.log('echoed ' + next + ' messages');
  process.exit(0);
});
socket.on('error', (e) => fail('error: ' + e.message));
