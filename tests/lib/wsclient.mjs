// A small promise client over npm `ws` for protocol tests of huddle-sidecar.
//
//   const a = await connect(sidecar.wsUrl);
//   const welcome = await a.join('room-1', 'Ann');
//   a.send({ type: 'chat', text: 'hi' });
//   const msg = await a.next('chat');          // next chat; others stay buffered
//   await a.expectNone((m) => m.type === 'peer-joined');
//
// Every text frame received is parsed as JSON and kept, in order, until a
// next() takes it. Frames that are not JSON are kept as {type: '<non-json>', raw}.
import http from 'node:http';
import WebSocket from 'ws';

const DEFAULT_TIMEOUT = 5000;

/** next()/expectNone() accept a type name or a predicate. */
function matcher(match) {
    if (typeof match === 'function') return match;
    if (match === undefined) return () => true;
    return (m) => m.type === match;
}

export class Client {
    constructor(ws) {
        this.ws = ws;
        this.buffer = [];
        this.received = [];
        this.waiters = [];
        this.closeInfo = null;
        this.pings = 0;
        this.closedPromise = new Promise((resolve) => {
            ws.on('close', (code, reason) => {
                this.closeInfo = { code, reason: reason.toString() };
                for (const w of this.waiters.splice(0)) w.onClose(this.closeInfo);
                resolve(this.closeInfo);
            });
        });
        ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
        ws.on('ping', () => { this.pings++; });
        // A server that drops the TCP connection shows up as close 1006; an
        // error here (ECONNRESET, EPIPE while sending) must not crash the test.
        ws.on('error', (err) => { this.lastError = err; });
    }

    get protocol() { return this.ws.protocol; }

    get socket() { return this.ws._socket; }

    onMessage(data, isBinary) {
        let m;
        const text = data.toString();
        try {
            m = JSON.parse(text);
        } catch {
            m = { type: '<non-json>', raw: text };
        }
        if (isBinary) m = { type: '<binary>', raw: text };
        this.received.push(m);
        const i = this.waiters.findIndex((w) => w.pred(m));
        if (i >= 0) {
            const [w] = this.waiters.splice(i, 1);
            w.resolve(m);
        } else {
            this.buffer.push(m);
        }
    }

    /** Sends obj as one JSON text frame; resolves once written. */
    send(obj) {
        return this.sendRaw(JSON.stringify(obj));
    }

    /**
     * Sends data (string or Buffer) as a text frame (binary: true for a
     * binary frame). With fragments: n, the payload is cut into n frames
     * (first text/binary, then continuations); fin: false leaves the
     * message unfinished.
     */
    async sendRaw(data, { binary = false, fragments = 1, fin = true } = {}) {
        const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
        const n = Math.max(1, fragments);
        const step = Math.ceil(buf.length / n) || 1;
        for (let i = 0; i < n; i++) {
            const part = buf.subarray(i * step, Math.min(buf.length, (i + 1) * step));
            const last = i === n - 1;
            await this.sendFrame(part, { binary, fin: last ? fin : false });
        }
    }

    /** One frame; resolves when ws has written it, rejects on error. */
    sendFrame(buf, { binary = false, fin = true } = {}) {
        return new Promise((resolve, reject) => {
            this.ws.send(buf, { binary, fin, compress: false }, (err) => (err ? reject(err) : resolve()));
        });
    }

    /**
     * Resolves with the next message matching match (type name or
     * predicate), taking it out of the buffer; rejects after timeoutMs or
     * when the connection closes first.
     */
    next(match, timeoutMs = DEFAULT_TIMEOUT) {
        const pred = matcher(match);
        const i = this.buffer.findIndex(pred);
        if (i >= 0) return Promise.resolve(this.buffer.splice(i, 1)[0]);
        const what = typeof match === 'string' ? match : 'a matching message';
        if (this.closeInfo) {
            return Promise.reject(new Error(`waiting for ${what}: connection closed ${JSON.stringify(this.closeInfo)}; buffered ${this.dump()}`));
        }
        return new Promise((resolve, reject) => {
            const w = {
                pred,
                resolve: (m) => { clearTimeout(w.timer); resolve(m); },
                onClose: (info) => {
                    clearTimeout(w.timer);
                    reject(new Error(`waiting for ${what}: connection closed ${JSON.stringify(info)}; buffered ${this.dump()}`));
                },
            };
            w.timer = setTimeout(() => {
                this.waiters.splice(this.waiters.indexOf(w), 1);
                reject(new Error(`no ${what} within ${timeoutMs} ms; buffered ${this.dump()}`));
            }, timeoutMs);
            this.waiters.push(w);
        });
    }

    /** The next error message; asserts nothing. */
    nextError(timeoutMs) { return this.next('error', timeoutMs); }

    /**
     * Waits ms and throws if a message matching match is buffered or
     * arrives meanwhile. The only way to show that nothing came.
     */
    async expectNone(match, ms = 250) {
        const pred = matcher(match);
        const seenBefore = this.buffer.find(pred);
        if (seenBefore) throw new Error(`unexpected message: ${JSON.stringify(seenBefore)}`);
        const start = this.received.length;
        await new Promise((r) => setTimeout(r, ms));
        const got = this.received.slice(start).find(pred);
        if (got) throw new Error(`unexpected message: ${JSON.stringify(got)}`);
    }

    /** Resolves {code, reason} when the connection closes. */
    closed(timeoutMs = DEFAULT_TIMEOUT) {
        if (this.closeInfo) return Promise.resolve(this.closeInfo);
        return new Promise((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms; buffered ${this.dump()}`)), timeoutMs);
            this.closedPromise.then((info) => { clearTimeout(t); resolve(info); });
        });
    }

    /** Sends join and resolves with the welcome; throws on an error answer. */
    async join(room, name, extra = {}) {
        await this.send({ type: 'join', room, name, ...extra });
        const m = await this.next((x) => x.type === 'welcome' || (x.type === 'error' && x.ref === 'join')
            || (x.type === 'error' && x.ref === undefined));
        if (m.type !== 'welcome') throw new Error(`join ${room} answered ${JSON.stringify(m)}`);
        this.welcome = m;
        this.id = m.id;
        return m;
    }

    /** Close frame with code (or none when code is undefined). */
    close(code, reason) {
        if (code === undefined) this.ws.close();
        else this.ws.close(code, reason);
        return this.closed();
    }

    /** Drops the TCP connection without a close frame. */
    drop() {
        this.ws._socket?.destroy();
        return this.closed();
    }

    /** Stops reading from the socket so the server's queue for us fills. */
    pause() { this.ws._socket.pause(); }

    resume() { this.ws._socket.resume(); }

    /** Ends the connection however it is; never throws. */
    terminate() {
        try { this.ws.terminate(); } catch { /* gone */ }
    }

    dump() {
        const s = JSON.stringify(this.buffer.map((m) => (m.type === 'signal' || m.raw ? { type: m.type } : m)));
        return s.length > 1500 ? `${s.slice(0, 1500)}...` : s;
    }
}

/**
 * Opens a websocket to url. Options: origin, protocols (array), headers,
 * autoPong (default true), ca (PEM to trust for wss:// URLs). Resolves with
 * a Client once open; rejects with err.status set when the server answers
 * the upgrade with an HTTP status.
 */
export function connect(url, { origin, protocols, headers, autoPong = true, timeoutMs = 15000, ca } = {}) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(url, protocols, {
            origin, headers, autoPong, perMessageDeflate: false, handshakeTimeout: timeoutMs, ca,
        });
        const client = new Client(ws);
        ws.once('open', () => resolve(client));
        ws.once('unexpected-response', (req, res) => {
            const err = new Error(`upgrade answered HTTP ${res.statusCode}`);
            err.status = res.statusCode;
            res.resume();
            req.destroy();
            reject(err);
        });
        ws.once('error', (err) => reject(err));
    });
}

/**
 * A bare HTTP upgrade request with the given extra headers, no websocket
 * library in between. Resolves {status, headers, socket}; the caller
 * destroys the socket.
 */
export function rawUpgrade(url, headers = {}) {
    const u = new URL(url.replace(/^ws/, 'http'));
    return new Promise((resolve, reject) => {
        const req = http.request({
            host: u.hostname, port: u.port, path: u.pathname, method: 'GET',
            headers: {
                Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
                'Sec-WebSocket-Key': Buffer.from('0123456789abcdef').toString('base64'),
                ...headers,
            },
        });
        req.on('upgrade', (res, socket) => resolve({ status: res.statusCode, headers: res.headers, socket }));
        req.on('response', (res) => { res.resume(); resolve({ status: res.statusCode, headers: res.headers, socket: res.socket }); });
        req.on('error', reject);
        req.end();
    });
}

let roomSeq = 0;
/** A room id nobody else in this test run uses. */
export function uniqueRoom(prefix = 'r') {
    roomSeq++;
    return `${prefix}-${process.pid}-${roomSeq}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Proves a sidecar still serves: a fresh connection joins a fresh room and
 * gets its welcome, then a second one sees it. Throws otherwise.
 */
export async function expectAlive(url, opts = {}) {
    const room = uniqueRoom('alive');
    const a = await connect(url, opts);
    const b = await connect(url, opts);
    try {
        const wa = await a.join(room, 'alive-a');
        const wb = await b.join(room, 'alive-b');
        if (wb.peers.length !== 1 || wb.peers[0].id !== wa.id) {
            throw new Error(`second client's welcome does not list the first: ${JSON.stringify(wb)}`);
        }
        await a.next((m) => m.type === 'peer-joined' && m.peer.id === wb.id);
    } finally {
        a.terminate();
        b.terminate();
    }
}
