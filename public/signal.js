// Signalling client: one websocket to the sidecar speaking protocol v1.
// It joins, keeps the resume token, answers for liveness with app-level
// pings, and reconnects with backoff and jitter (also when its join is
// answered `unavailable`) until leave() is called
// (within 300 ms, without backoff, after close 1012 "service restart"), or
// until a host removed one or ended the meeting (`ended`, close 1000
// "removed" / "meeting ended"): then never again. Messages are dispatched
// to handlers registered with on(type, fn).

// A ping goes every PING_EVERY_MS; a server that has sent nothing since a
// ping PONG_DEADLINE_MS old (seen within a second: 7 to 13 s after it went
// silent) is left for another. A sidecar that stalled or was cut off keeps
// our seat in Redis for its resume grace counted from when the others
// found it dead (7 to 15 s after), so that we take it back elsewhere
// before it ends. Timed from the ping, not from the last message: a tab
// whose timers the browser slowed to one a minute is not taken for dead.
const PING_EVERY_MS = 5000;
const PONG_DEADLINE_MS = 7000;
const LIVENESS_TICK_MS = 1000;
// When the browser says the network went (probe()), a ping then must be
// answered within this (seen within a second): 2 to 3 s.
const PROBE_DEADLINE_MS = 2000;
// An upgrade not answered within this is given up: nginx may have passed
// it to a sidecar that stalled, which would hold it for as long as the
// stall lasts, and the next may go elsewhere. Times the failed opens
// before it (up to 4), for a slow network, but not while our seat waits
// for us: each try then counts.
const OPEN_DEADLINE_MS = 4000;
const SERVICE_RESTART = 1012;
const BACK_SOON = 4001;
const RESTART_JITTER_MS = 300;
// Backoff caps: 8 s, but 2 s while our seat waits for us (the resume
// grace after a drop), so that a page back on the network a moment before
// the grace ends still takes its seat back.
const RETRY_MAX_MS = 8000;
const RETRY_MAX_SEAT_WAITS_MS = 2000;

/**
 * Whether a close ends the session for good: 'removed' or 'ended' for
 * 1000 "removed" / "meeting ended" (a host's doing), else null.
 */
export function finalClose(code, reason) {
    if (code !== 1000) return null;
    return { removed: 'removed', 'meeting ended': 'ended' }[reason] || null;
}

export class Signaling {
    #url;
    // Milliseconds that only go forward (not the wall clock, which may jump
    // back); a test gives its own.
    #now;
    #join;
    #token;
    #handlers = new Map();
    #ws = null;
    #resume = null;
    // The number of the last resume sent: each is numbered above the one
    // before, so that a server reading an old one late (it stalled) can
    // tell it from this page's newer connection, and refuse it.
    #resumeAttempt = 0;
    // The socket networkBack() opened last, which the next one leaves be.
    #openedOnline = null;
    #id = null;
    #attempt = 0;
    #openFails = 0;
    #closed = false;
    #timers = {};
    #lastPingAt = 0;
    // When the oldest ping not answered yet (nothing received since) went,
    // or null.
    #unansweredSince = null;
    // How long the sidecar keeps a dropped seat (welcome.limits), and when
    // the last socket that held ours closed.
    #graceMs = 0;
    #droppedAt = 0;
    // Whether this socket's join was answered with a welcome: until then
    // (joining, knocking at a locked meeting) the sidecar answers anything
    // but ping and leave with not-joined, and enough errors close the
    // socket, the knock with it.
    #seated = false;
    // The socket whose join was answered knocking (null once that knock
    // ended), and one given up while it knocked, left open: closing it
    // would end the knock (a close that reaches the sidecar ends it), and
    // the next socket takes the knock over with its token, the sidecar
    // closing this one `replaced`.
    #knockOn = null;
    #leftKnocking = null;
    #knockId = null;

    /**
     * url: ws(s)://.../ws; join(): the join message fields to send; token:
     * the join token sent with every join (never shown), or null; resume:
     * a resume token to send with the first join (the way back kept by
     * this tab's page before a reload, access.js), or null; attempt: the
     * number of the last resume that page sent (0: none); clock: what
     * times the pings and the grace (performance.now, or a test's).
     */
    constructor(url, join, { token = null, resume = null, attempt = 0, clock = () => performance.now() } = {}) {
        this.#url = url;
        this.#join = join;
        this.#token = token;
        this.#resume = resume;
        this.#resumeAttempt = attempt;
        this.#now = clock;
    }

    /**
     * The token a reloaded page may come back with: the latest welcome's
     * while this socket holds the seat, for leave() then ends the seat and
     * the sidecar keeps the token as a return ticket. null otherwise: a
     * seat waiting in its grace would be taken back under its old id by a
     * page that has none of its connections.
     */
    get wayBack() {
        return this.open && this.#seated && !this.#closed ? this.#resume : null;
    }

    /** The number of the last resume sent (0: none), which the next one passes. */
    get resumeAttempt() {
        return this.#resumeAttempt;
    }

    on(type, fn) {
        this.#handlers.set(type, fn);
        return this;
    }

    #emit(type, msg) {
        const fn = this.#handlers.get(type);
        if (fn) fn(msg);
    }

    get open() {
        return this.#ws !== null && this.#ws.readyState === WebSocket.OPEN;
    }

    connect() {
        this.#closed = false;
        clearTimeout(this.#timers.retry);
        let ws;
        try {
            ws = new WebSocket(this.#url, 'huddle.v1');
        } catch (err) {
            this.#scheduleRetry(String(err));
            return;
        }
        this.#ws = ws;
        this.#seated = false;
        this.#timers.open = setTimeout(() => {
            if (this.#ws !== ws || ws.readyState !== WebSocket.CONNECTING) return;
            this.#openFails++;
            this.#abandon('timeout');
        }, OPEN_DEADLINE_MS * (this.#seatWaits() ? 1 : Math.min(this.#openFails + 1, 4)));
        ws.onopen = () => {
            if (this.#ws !== ws) return; // given up while it opened
            clearTimeout(this.#timers.open);
            this.#openFails = 0;
            const msg = { type: 'join', ...this.#join() };
            if (this.#resume) {
                msg.resume = this.#resume;
                msg.attempt = ++this.#resumeAttempt;
            }
            if (this.#token) msg.token = this.#token;
            ws.send(JSON.stringify(msg));
            this.#startPing();
        };
        ws.onmessage = (ev) => {
            if (this.#ws === ws) this.#receive(ev.data);
        };
        ws.onclose = (ev) => {
            if (this.#ws !== ws) return;
            this.#ws = null;
            clearTimeout(this.#timers.open);
            this.#stopPing();
            if (this.#closed) return;
            if (this.#seated) this.#droppedAt = this.#now();
            const final = finalClose(ev.code, ev.reason);
            if (final) {
                // Removed or ended without the `ended` message: same end.
                this.#closed = true;
                this.#emit('ended', { type: 'ended', reason: final, by: null });
                return;
            }
            // 1012: the sidecar is being restarted (a drain). Our seat waits
            // in grace; come back at once, spread a little so a whole
            // sidecar's clients do not arrive at the same instant.
            if (ev.code === SERVICE_RESTART) this.#scheduleRetry(ev.code, Math.round(Math.random() * RESTART_JITTER_MS));
            else this.#scheduleRetry(ev.code);
        };
        ws.onerror = () => { /* onclose follows and handles it */ };
    }

    #receive(text) {
        let msg;
        try {
            msg = JSON.parse(text);
        } catch {
            return;
        }
        if (!msg || typeof msg.type !== 'string') return;
        this.#unansweredSince = null;
        this.#followKnock(msg);
        if (msg.type === 'welcome') {
            const resumed = this.#id !== null && msg.id === this.#id;
            const previousId = this.#id;
            this.#id = msg.id;
            this.#resume = msg.resume || null;
            this.#graceMs = Number(msg.limits && msg.limits.resumeGraceMs) || 0;
            this.#attempt = 0;
            this.#seated = true;
            this.#emit('welcome', { ...msg, resumed, previousId });
            return;
        }
        if (msg.type === 'error' && msg.code === 'unavailable' && msg.ref === 'join' && !this.#seated) {
            // The sidecar cannot seat anyone now (cut off from Redis, out
            // of memory): this socket is given up, and the join tried
            // again later as after a drop.
            this.#emit('error', msg);
            this.#abandon('unavailable');
            return;
        }
        if (msg.type === 'error' && msg.code === 'rate-limited' && msg.ref === 'join' && !this.#seated
            && (this.#id !== null || this.#leftKnocking !== null)) {
            // Our way back refused for the joins' pace (many coming back
            // at once from one address, say an office after a drain): not
            // the person's doing, so no word of it; tried again as after
            // a drop (within 2 s while the seat waits), and so is the
            // take-over of a knock left open.
            this.#abandon('rate-limited');
            return;
        }
        if (msg.type === 'ended') {
            // A host removed us or ended the meeting: the close follows; no reconnect.
            this.#closed = true;
            clearTimeout(this.#timers.retry);
            this.#stopPing();
        }
        this.#emit(msg.type, msg);
    }

    /** Keeps track of this page's knock from the answers to its joins. */
    #followKnock(msg) {
        const knocking = msg.type === 'knocking';
        const welcome = msg.type === 'welcome';
        if (!knocking && !welcome && !(msg.type === 'error' && msg.ref === 'join')) return;
        if (knocking && typeof msg.token === 'string') {
            // Waiting in a locked meeting's lobby: a socket that drops
            // before the sidecar notices comes back with the knock's
            // token and takes its place in the line (the hosts see no new
            // knock); and once a host lets us in, it is the seat's.
            this.#resume = msg.token;
        }
        this.#knockOn = knocking ? this.#ws : null;
        // This socket took the knock over: the one left open holds it no
        // more, and goes (so does one whose knock had ended). Let in as
        // the knock, the sidecar closed it as it seated this one; in with
        // another id (the knock had ended, the door opened), it goes.
        // Refused, it still knocks until leave() closes it.
        if (knocking || (welcome && msg.id !== this.#knockId)) this.#closeLeftKnocking();
        if (welcome) this.#leftKnocking = null;
        if (knocking) this.#knockId = msg.id;
    }

    /**
     * Sends msg; false when it was not sent: no open socket, or not seated
     * yet (only ping and leave go before the welcome). A person's action
     * then is not lost silently: the caller says it was not sent, and the
     * state one has by then is sent after the welcome (app.js syncSelf).
     */
    send(msg) {
        if (!this.open || (!this.#seated && msg.type !== 'ping' && msg.type !== 'leave')) return false;
        this.#ws.send(JSON.stringify(msg));
        return true;
    }

    /** Whether a seat of ours waits in its grace since our socket dropped. */
    #seatWaits() {
        return this.#id !== null && this.#now() - this.#droppedAt < this.#graceMs;
    }

    /** Reconnect delay: 0.5 s doubling to 8 s (2 s while our seat waits
     * for us), with up to 50% jitter (or delay as given, which does not
     * count as a failed attempt). */
    #scheduleRetry(why, delay) {
        if (delay === undefined) {
            const waits = this.#seatWaits();
            const base = Math.min(waits ? RETRY_MAX_SEAT_WAITS_MS : RETRY_MAX_MS, 500 * 2 ** this.#attempt);
            delay = Math.round(base / 2 + Math.random() * base / 2);
            this.#attempt++;
        }
        this.#emit('down', { delay, attempt: this.#attempt, why, joined: this.#id !== null });
        this.#timers.retry = setTimeout(() => this.connect(), delay);
    }

    /** Reconnect at once (a person pressed "retry now"); not while a socket is open or opening. */
    retryNow() {
        if (this.#ws !== null || this.#closed) return;
        clearTimeout(this.#timers.retry);
        this.connect();
    }

    /**
     * The network is back (`online`): reconnect at once, also when a socket
     * is still opening: opened while the network was down, it may fail only
     * at its deadline (4 s, or more), which a seat's grace may not have
     * left. A socket open stays, and so does one this opened (the
     * browser may say `online` several times in a row).
     */
    networkBack() {
        const ws = this.#ws;
        if (ws !== null && ws.readyState === WebSocket.CONNECTING && ws !== this.#openedOnline) this.#dropSocket();
        this.retryNow();
        this.#openedOnline = this.#ws;
    }

    #startPing() {
        this.#stopPing();
        // The join just sent wants an answer as a ping does.
        this.#lastPingAt = this.#unansweredSince = this.#now();
        this.#timers.ping = setInterval(() => {
            if (!this.open) return;
            const now = this.#now();
            if (this.#unansweredSince !== null && now - this.#unansweredSince > PONG_DEADLINE_MS) {
                // The server went silent: drop the socket and resume
                // elsewhere. "Back soon": a server only slow (it stalled)
                // that reads this close later keeps the seat for our
                // resume; a close without a code would be a leave.
                this.#abandon('timeout', BACK_SOON, 'back soon');
                return;
            }
            if (now - this.#lastPingAt < PING_EVERY_MS) return;
            this.#ping(now, now);
        }, LIVENESS_TICK_MS);
    }

    #stopPing() {
        clearInterval(this.#timers.ping);
    }

    /**
     * The browser says the network went (`offline`): a ping now, which
     * must be answered within PROBE_DEADLINE_MS rather than the usual 7 s.
     * A socket that still works answers, and nothing changes (the event
     * is not always right: a VPN coming up, one interface of two going);
     * a dead one is given up as a silent server's is, and the page says
     * it reconnects 2 to 3 s after the network went instead of 7 to 13.
     * As for every ping, any message that comes counts as its answer; a
     * link slower than 2 s each way is given up on a wrong `offline`.
     */
    probe() {
        if (!this.open) return;
        const now = this.#now();
        this.#ping(now, now - (PONG_DEADLINE_MS - PROBE_DEADLINE_MS));
    }

    /**
     * Sends a ping at now, its PONG_DEADLINE_MS counted from since (now,
     * or earlier for a shorter deadline), unless an unanswered one's
     * counts from earlier still.
     */
    #ping(now, since) {
        this.#lastPingAt = now;
        this.#unansweredSince = Math.min(this.#unansweredSince ?? since, since);
        this.send({ type: 'ping', t: Math.round(now) });
    }

    /**
     * Gives this socket up without waiting for its close (whose handler
     * then ignores it) and tries again; a seat it held waits in its grace.
     */
    #abandon(why, code, reason) {
        this.#stopPing();
        if (this.#seated) this.#droppedAt = this.#now();
        if (this.#ws !== null && this.#ws === this.#knockOn) {
            this.#closeLeftKnocking();
            this.#leaveKnocking(this.#letGo());
        } else {
            this.#dropSocket(code, reason);
        }
        this.#scheduleRetry(why);
    }

    /**
     * Leaves ws, given up while it knocked, open. The knock may end while
     * the page is away, its answer (a host's denial, the timeout) sent
     * there and read once the network is back: that is the page's answer
     * (the next socket's token no longer names a knock), as if it came on
     * the socket in use. Anything else it says is past.
     */
    #leaveKnocking(ws) {
        this.#leftKnocking = ws;
        ws.onmessage = (ev) => {
            let msg;
            try {
                msg = JSON.parse(ev.data);
            } catch {
                return;
            }
            if (this.#leftKnocking !== ws || !msg || msg.type !== 'error' || msg.ref !== 'join') return;
            if (msg.code !== 'denied' && msg.code !== 'knock-timeout') return;
            this.#closeLeftKnocking();
            this.#emit('error', msg);
        };
    }

    /** Closes a socket given up while it knocked: the knock ends (a leave). */
    #closeLeftKnocking() {
        try {
            if (this.#leftKnocking) this.#leftKnocking.close(1000);
        } catch { /* already closing */ }
        this.#leftKnocking = null;
    }

    /** Lets go of the socket in use, whose close handler (and a late open's) then ignores it; returns it. */
    #letGo() {
        const ws = this.#ws;
        this.#ws = null;
        clearTimeout(this.#timers.open);
        return ws;
    }

    /** Closes the socket without waiting for its close (#letGo). */
    #dropSocket(code, reason) {
        const ws = this.#letGo();
        try {
            ws.close(code, reason);
        } catch { /* already closing */ }
    }

    /**
     * Goes without leaving: closes with 4001 "back soon", and the sidecar
     * keeps the seat for a while (docs/protocol.md) for the token of
     * wayBack to take back. For a page reloaded while alone in its meeting.
     */
    away() {
        this.#closed = true;
        clearTimeout(this.#timers.retry);
        this.#stopPing();
        if (this.#ws) {
            try {
                this.#ws.close(BACK_SOON, 'back soon');
            } catch { /* already closing */ }
        }
        this.#ws = null;
    }

    /** Leaves (sends `leave` unless the server already ended the seat) and closes. */
    leave() {
        const ended = this.#closed;
        this.#closed = true;
        clearTimeout(this.#timers.retry);
        this.#stopPing();
        this.#closeLeftKnocking();
        if (this.#ws) {
            try {
                if (!ended) this.send({ type: 'leave' });
                this.#ws.close(1000);
            } catch { /* already closing */ }
        }
        this.#ws = null;
    }
}

/** The sidecar's URL on this origin: ws: or wss: after the page's scheme. */
export function socketUrl(loc = location) {
    return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}
