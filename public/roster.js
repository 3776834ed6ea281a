// Who is in the meeting: oneself and the others, each a peer object
// { id, name, audio, video, screen, hand, handAt, role } as the server sends it, the
// others kept in join order. Pure state, no DOM and no I/O: the page feeds
// it what the signalling client hears and reacts to its 'change' event.
//
// Every getter returns a copy; the roster's own objects never leave it, so
// the only way to change who is in the meeting is through its methods.
// Each copy carries a label, the name to show: the name, or when someone
// else in the meeting has a name that looks the same (names.js nameKey),
// the name and the person's tag ("Ann #4821"), so that nobody can pass
// for another by taking their name, and each page labels a person alike.

import { nameKey, tagOf } from './names.js';

const SELF = { id: '', name: '', audio: false, video: false, screen: false, hand: false, role: 'guest' };
// How long after the server lost our seat those who were there are known
// when they come back: their pages reconnect within seconds.
const BACK_MS = 30000;

const validAt = (at) => Number.isFinite(at) && at > 0;

export class Roster extends EventTarget {
    #self = { ...SELF };
    #others = new Map();
    // Raised hands: when each went up, so that the first raised sorts
    // first ({ at, n, server, kept }: #raiseTime), by id, and one's own (0:
    // down).
    #raisedAt = new Map();
    #selfRaisedAt = 0;
    #raises = 0;
    // After the server lost our seat (clear): who was in the meeting, by
    // name (nameKey: a list, as two may look alike), with when their hand
    // went up (0: down), for BACK_MS. Each comes back under a new id and is
    // matched once by name: #back (no "joined" for them), #handBack (within
    // BACK_MS their hand keeps its place in the order, and going up again
    // is no news: their page sends it after its join).
    #before = new Map();
    #beforeUntil = 0;
    #back = new Set();
    #handBack = new Map();

    /**
     * When a hand went up, { at, n, server }: at the server's time if it
     * says (handAt, the same on every page), else now; n the order heard
     * of, for a tie; server the server's time last seen for it.
     */
    #raiseTime(at) {
        return { at: validAt(at) ? at : Date.now(), n: ++this.#raises, server: validAt(at) ? at : 0 };
    }

    /**
     * The raise r as the server's time at says now: a new time is a new
     * raise (the hand went down and up meanwhile), except for a hand that
     * keeps its place from before the server restarted (kept: the time of
     * its sending again is only noted). Unchanged without a new time.
     */
    #restamp(r, at) {
        if (!validAt(at) || at === r.server) return r;
        return r.kept ? { ...r, server: at } : this.#raiseTime(at);
    }

    /** Records whether id's hand is up (at: the server's time of it, if it says). */
    #hand(id, up, at) {
        const cur = this.#raisedAt.get(id);
        if (!up) {
            this.#raisedAt.delete(id);
            return;
        }
        const back = cur ? null : this.#handWasUp(id);
        this.#raisedAt.set(id, cur ? this.#restamp(cur, at) : back ? { ...back, kept: true, server: validAt(at) ? at : 0 } : this.#raiseTime(at));
        this.#handBack.delete(id);
    }

    /** When id's hand went up before the server restarted, if it was and that is recent (0: not). */
    #handWasUp(id) {
        return Date.now() <= this.#beforeUntil ? this.#handBack.get(id) || 0 : 0;
    }

    /** Matches a newcomer to someone of before the server restarted, by name. */
    #matchBack(p) {
        const waiting = Date.now() <= this.#beforeUntil && this.#before.get(nameKey(p.name || ''));
        if (!waiting || !waiting.length) return;
        const at = waiting.shift();
        this.#back.add(p.id);
        if (at) this.#handBack.set(p.id, at);
    }

    /** The label of id called name: tagged when someone else in the meeting has a name that looks the same. */
    #label(id, name) {
        const key = nameKey(name);
        const twin = id && [this.#self, ...this.#others.values()].some((q) => q.id && q.id !== id && nameKey(q.name) === key);
        return twin ? `${name} #${tagOf(id)}` : name;
    }

    /** A copy of p (oneself or another) with its label. */
    #copy(p) {
        return { ...p, label: this.#label(p.id, p.name) };
    }

    /**
     * The label of someone not in the meeting yet: a knock (id: the knock's,
     * which becomes the seat's, so the tag stays the same once let in).
     */
    labelFor(id, name) {
        return this.#label(id, name);
    }

    /** Fires 'change' with detail { what, id } after every change. */
    #changed(what, id) {
        this.dispatchEvent(new CustomEvent('change', { detail: { what, id } }));
    }

    /** A copy of one's own peer object. */
    self() {
        return this.#copy(this.#self);
    }

    selfId() {
        return this.#self.id;
    }

    /** Whether one is a host of the meeting. */
    isHost() {
        return this.#self.role === 'host';
    }

    /** Merges fields (name, audio, video, screen, hand, role, id) into oneself. */
    setSelf(fields) {
        if ('hand' in fields) {
            if (!fields.hand) this.#selfRaisedAt = 0;
            else if (!this.#selfRaisedAt) this.#selfRaisedAt = this.#raiseTime(fields.handAt);
        }
        Object.assign(this.#self, fields);
        this.#changed('self', this.#self.id);
    }

    /**
     * The server's time of one's own hand going up (its peer-state back, a
     * welcome's self), while it is up: the newest one counts, except after
     * the server restarted, when the hand sent again keeps its place as the
     * others' do (clear).
     */
    selfHandAt(at) {
        if (!this.#self.hand || !this.#selfRaisedAt) return;
        const r = this.#restamp(this.#selfRaisedAt, at);
        if (r === this.#selfRaisedAt) return;
        this.#selfRaisedAt = r;
        this.#changed('self', this.#self.id);
    }

    has(id) {
        return this.#others.has(id);
    }

    /** A copy of the peer id, or null when it is not in the meeting. */
    get(id) {
        const p = this.#others.get(id);
        return p ? this.#copy(p) : null;
    }

    /** The label of the peer id (see above), or null when it is not in the meeting. */
    nameOf(id) {
        const p = this.#others.get(id);
        return p ? this.#copy(p).label : null;
    }

    /** How many others are in the meeting (oneself not counted). */
    get size() {
        return this.#others.size;
    }

    /** Copies of the others, in the order they joined. */
    others() {
        return [...this.#others.values()].map((p) => this.#copy(p));
    }

    /**
     * Copies of oneself, then of the others by label: the order in which
     * the people list and the X-ray table show everyone.
     */
    listed() {
        return [this.self(), ...this.others().sort((a, b) => a.label.localeCompare(b.label))];
    }

    ids() {
        return [...this.#others.keys()];
    }

    /**
     * Copies of everyone whose hand is up, oneself included, the first
     * raised first, by the server's times (without them, hands already up
     * when one joined come in join order). A hand lowered and raised
     * again goes to the end.
     */
    hands() {
        const up = [...this.#raisedAt].map(([id, at]) => ({ at, p: this.#others.get(id) }));
        if (this.#selfRaisedAt) up.push({ at: this.#selfRaisedAt, p: this.#self });
        return up.sort((x, y) => x.at.at - y.at.at || x.at.n - y.at.n).map(({ p }) => this.#copy(p));
    }

    /**
     * Puts peer p in the meeting (replacing what was known of it). Returns
     * true when p was not in it before, false when it was; null (and no
     * change) for a peer without an id, or oneself.
     */
    add(p) {
        if (!p || !p.id || p.id === this.#self.id) return null;
        const fresh = !this.#others.has(p.id);
        if (fresh) this.#matchBack(p);
        this.#others.set(p.id, { ...p }); // a known id keeps its place
        this.#hand(p.id, !!p.hand, p.handAt);
        this.#changed('add', p.id);
        return fresh;
    }

    /**
     * Merges p's fields into the known peer p.id. Returns { peer, raised,
     * role } (peer: a copy after the merge; raised: the hand went up just
     * now, and was not up before the server restarted; role: the new role
     * when it changed, else null), or null when p.id is not in the meeting.
     */
    update(p) {
        const cur = p && this.#others.get(p.id);
        if (!cur) return null;
        const raised = cur.hand === false && !!p.hand && !this.#handWasUp(p.id);
        const role = p.role !== undefined && p.role !== cur.role ? p.role : null;
        Object.assign(cur, p);
        if (!('handAt' in p)) delete cur.handAt; // a peer object says it while the hand is up
        this.#hand(p.id, !!cur.hand, cur.handAt);
        this.#changed('update', p.id);
        return { peer: this.#copy(cur), raised, role };
    }

    /** Takes id out of the meeting; returns its last copy, or null. */
    remove(id) {
        const p = this.#others.get(id);
        if (!p) return null;
        const last = this.#copy(p);
        this.#others.delete(id);
        this.#raisedAt.delete(id);
        this.#back.delete(id);
        this.#handBack.delete(id);
        this.#changed('remove', id);
        return last;
    }

    /**
     * Forgets every other peer (the server lost our seat). For BACK_MS
     * those forgotten are known by name when they come back (cameBack).
     */
    clear() {
        this.#before = new Map();
        for (const p of this.#others.values()) {
            const key = nameKey(p.name || '');
            this.#before.set(key, [...(this.#before.get(key) || []), this.#raisedAt.get(p.id) || 0]);
        }
        this.#beforeUntil = Date.now() + BACK_MS;
        if (this.#selfRaisedAt) this.#selfRaisedAt = { ...this.#selfRaisedAt, kept: true };
        this.#back.clear();
        this.#handBack.clear();
        this.#others.clear();
        this.#raisedAt.clear();
        this.#changed('clear', '');
    }

    /** Whether peer id is someone who was in the meeting before the server restarted (clear). */
    cameBack(id) {
        return this.#back.has(id);
    }

    /**
     * What to do to make the roster equal to list (a welcome's or a roster
     * message's peers), without doing it: gone are the ids to remove, fresh
     * the peers to add (in list order, no duplicates, never oneself or a
     * peer without an id), known the peers to update.
     */
    plan(list) {
        const ids = new Set(list.map((p) => p.id));
        const gone = this.ids().filter((id) => !ids.has(id));
        const fresh = [];
        const known = [];
        const seen = new Set();
        for (const p of list) {
            if (this.#others.has(p.id) || seen.has(p.id)) known.push(p);
            else if (p.id && p.id !== this.#self.id) fresh.push(p);
            seen.add(p.id);
        }
        return { gone, fresh, known };
    }
}
