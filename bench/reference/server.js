// The tutorial's signalling server, written for huddle's benchmark
// (bench/loadgen.c drives it and huddle-sidecar with the same scenarios):
// Express serves the page, socket.io (websocket transport only) carries
//   join-room (room, peerId)   -> the joiner gets "welcome" with the ids
//                                 present; the room gets "user-connected"
//   chat ({text})              -> everyone in the room, the sender too,
//                                 gets {from, text, ts} (as huddle's chat)
//   signal ({to, data})        -> the peer "to" gets {from, data}
//   disconnect                 -> the room gets "user-disconnected"
// As in the tutorial, a peer id is a socket.io room of its own, so a relay
// is io.to(peerId). No validation and no rate limits (the tutorial has
// none). PORT (default 3000) on 127.0.0.1; prints "listening <port>".
// With REDIS_URL, several of these share rooms the way socket.io scales
// out: its Redis adapter (@socket.io/redis-adapter, node-redis), as
// huddle's sidecars share rooms through Redis. With REDIS_SOCKET (a path)
// it reaches that Redis on its Unix socket instead.
'use strict';
const http = require('node:http');
const express = require('express');
const { Server } = require('socket.io');

const app = express();
app.get('/', (req, res) => res.send('huddle benchmark reference'));
const server = http.createServer(app);
const io = new Server(server, { transports: ['websocket'], serveClient: false });

io.on('connection', (socket) => {
    socket.on('join-room', async (room, peerId) => {
        if (socket.data.room) return;
        socket.data.room = room;
        socket.data.peerId = peerId;
        // Everyone in the room, on every server (with the Redis adapter).
        const present = (await io.in(room).fetchSockets()).map((s) => s.data.peerId);
        socket.join(room);
        socket.join(peerId);
        socket.emit('welcome', { id: peerId, room, peers: present });
        socket.to(room).emit('user-connected', peerId);
        socket.on('disconnect', () => socket.to(room).emit('user-disconnected', peerId));
    });
    socket.on('chat', (msg) => {
        const { room, peerId } = socket.data;
        if (!room || typeof msg?.text !== 'string') return;
        io.to(room).emit('chat', { from: peerId, text: msg.text, ts: Date.now() });
    });
    socket.on('signal', (msg) => {
        if (!socket.data.room || typeof msg?.to !== 'string') return;
        io.to(msg.to).emit('signal', { from: socket.data.peerId, data: msg.data });
    });
});

async function main() {
    if (process.env.REDIS_URL || process.env.REDIS_SOCKET) {
        const { createClient } = require('redis');
        const { createAdapter } = require('@socket.io/redis-adapter');
        const pub = createClient(process.env.REDIS_SOCKET
            ? { socket: { path: process.env.REDIS_SOCKET } } : { url: process.env.REDIS_URL });
        const sub = pub.duplicate();
        await Promise.all([pub.connect(), sub.connect()]);
        io.adapter(createAdapter(pub, sub));
    }
    const port = Number(process.env.PORT || 3000);
    server.listen(port, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
}
main().catch((err) => {
    console.error(err);
    process.exit(1);
});
