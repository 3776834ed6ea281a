// Link X-ray, the page half: what this page measured of its links
// (sampler.js) goes to the room as a `links` message every other sample,
// well within the sidecar's bucket; what the others measured of theirs comes back as
// their `links` messages (the latest per person). From both it grades each
// remote tile (a signal-bars badge) and draws the Connections panel: the
// N x N table of who reaches whom, how (direct, relayed, over TCP) and how
// well, in plain words (linkstats.js describe and problem), with the step
// of a repair under way. Names come from people(): always textContent.
import { grade, describe, problem } from './linkstats.js';
import { t } from './i18n.js';
import { el } from './dom.js';

/** The route of a link as a translation key, from both ends' entries (back: the other end's, or null). */
export function routeKey(entry, back) {
    // Relayed at either end; over TCP when either end reaches its TURN server over TCP.
    const relays = [entry, back].filter((e) => e?.path === 'relay');
    if (relays.length) return relays.some((e) => e.proto === 'tcp') ? 'xray.relayTcp' : 'xray.relayUdp';
    if (!entry?.path) return 'xray.routeUnknown';
    return entry.proto === 'tcp' ? 'xray.directTcp' : 'xray.direct';
}

/**
 * The table: for people ([{ id, name }], the rows and the columns in that
 * order), each row's cells, one per column: { to, self } on the diagonal,
 * else { to, entry, back }: entry what the row's person last reported of
 * the link to the column's (undefined: nothing yet), back the reverse.
 * reportOf(id) gives a Map of peer -> entry, or undefined.
 */
export function matrix(people, reportOf) {
    return people.map((a) => ({
        person: a,
        cells: people.map((b) => (a.id === b.id
            ? { to: b, self: true }
            : { to: b, entry: reportOf(a.id)?.get(b.id), back: reportOf(b.id)?.get(a.id) ?? null })),
    }));
}

/**
 * When to send `links`: at half the rate of the sidecar's bucket (burst,
 * then one every intervalMs), so that messages a loaded machine held back
 * and let go together never find that bucket empty (three would have to
 * arrive at once, sent 2 x intervalMs apart). Returns take(now): whether a
 * message may go now (and counts it). A tenth of a token early is allowed:
 * the sample timer is not exact.
 */
export function linksBucket(burst, intervalMs) {
    const every = 2 * intervalMs;
    let tokens = 1;
    let last = null;
    return (now) => {
        if (last !== null) tokens = Math.min(1, tokens + (now - last) / every);
        last = now;
        if (burst < 1 || tokens < 0.9) return false;
        tokens -= 1;
        return true;
    };
}

/** The words of a { key, vars } from linkstats.js. */
const say = (k) => (k ? t(k.key, k.vars) : '');

/** The repair step's words ('' when there is none). */
const repairText = (step) => (step ? t(`xray.repair-${step}`) : '');

/** Signal bars for a grade (four spans, as many lit as the grade earns). */
function bars(g) {
    const b = el('span', `xbars g-${g}`);
    b.setAttribute('aria-hidden', 'true');
    for (let i = 0; i < 4; i++) b.append(el('span'));
    return b;
}

export class XRay {
    #root;
    #grid;
    #send;
    #people;
    #repairStep;
    #stateOf;
    #isVisible;
    #own = new Map();
    #others = new Map();
    // from -> (to -> when that link was first seen connected, in a row): problem()'s connectedMs.
    #since = new Map();
    #take = linksBucket(2, 2000);

    /**
     * root: the Connections pane's table holder; grid: the tiles (ui.js
     * Grid.setLink); send(msg): to the room; people(): [{ id, name, self,
     * away }] oneself first; repairStep(id): the mesh's repair step for that link
     * or null; stateOf(id): its connection's state now (before the first
     * sample says more); isVisible(): whether the panel shows.
     */
    constructor({ root, grid, send, people, repairStep, stateOf = () => null, isVisible }) {
        this.#root = root;
        this.#grid = grid;
        this.#send = send;
        this.#people = people;
        this.#repairStep = repairStep;
        this.#stateOf = stateOf;
        this.#isVisible = isVisible;
    }

    /** The sidecar's limits (welcome.limits): the bucket of `links`. */
    setLimits(limits = {}) {
        const burst = Number(limits.linksBurst) || 2;
        const interval = Number(limits.linksIntervalMs) || 2000;
        this.#take = linksBucket(burst, interval);
    }

    /**
     * One sample of our links (sampler.js 'sample' detail.links): kept,
     * with each link's repair step, sent to the room when linksBucket
     * allows, and shown.
     */
    sample(links, selfId) {
        const own = new Map();
        for (const { id, entry } of links) {
            if (id === selfId || own.has(id)) continue;
            const step = this.#repairStep(id);
            own.set(id, step ? { ...entry, repair: step } : { ...entry });
        }
        for (const { id } of this.#people()) {
            const given = id !== selfId && !own.has(id) && this.#givenUp(id);
            if (given) own.set(id, given);
        }
        this.#own = own;
        this.#track(selfId, own);
        if (this.#take(performance.now())) this.#send({ type: 'links', links: [...own.values()] });
        this.show();
    }

    /** A link given up has no connection to sample: its entry says it failed (null: not given up). */
    #givenUp(id) {
        return this.#repairStep(id) === 'gave-up' ? { peer: id, state: 'failed', repair: 'gave-up' } : null;
    }

    /**
     * Notes, for each link of from (a Map peer -> entry), since when it is
     * connected: a link not connected, under repair (maybe a new
     * connection, whose encoder starts again) or missing from the report
     * (closed) starts anew.
     */
    #track(from, entries) {
        const before = this.#since.get(from) || new Map();
        const now = performance.now();
        const since = new Map();
        for (const [to, e] of entries) {
            if (e.state === 'connected' && !e.repair) since.set(to, before.get(to) ?? now);
        }
        this.#since.set(from, since);
    }

    /** problem() of from's entry about the link to to, with how long it has been connected. */
    #problem(from, to, entry) {
        const at = this.#since.get(from)?.get(to);
        return problem(entry, at === undefined ? 0 : performance.now() - at);
    }

    /** Someone's `links` message: their latest report replaces the one before. */
    receive(m) {
        if (typeof m.from !== 'string' || !Array.isArray(m.links)) return;
        const report = new Map(m.links.map((e) => [e.peer, e]));
        this.#others.set(m.from, report);
        this.#track(m.from, report);
        if (this.#isVisible()) this.render();
    }

    /** id left: its report and our entry about it go. */
    forget(id) {
        this.#others.delete(id);
        this.#own.delete(id);
        this.#since.delete(id);
        for (const links of this.#since.values()) links.delete(id);
        if (this.#isVisible()) this.render();
    }

    /** Everything forgotten (a new seat in a restarted server). */
    reset() {
        this.#own.clear();
        this.#others.clear();
        this.#since.clear();
        this.show();
    }

    /** The tiles, and the table when it shows (after a sample, a repair step, a language change). */
    show() {
        this.#tiles();
        if (this.#isVisible()) this.render();
    }

    #reportOf(id, selfId) {
        return id === selfId ? this.#own : this.#others.get(id);
    }

    /** Each remote tile's badge: our own entry about that person. */
    #tiles() {
        const people = this.#people();
        const selfId = people.find((p) => p.self)?.id;
        for (const p of people) {
            if (p.self) continue;
            // Before the first sample (2 s), a link given up is failed, any
            // other the connection's own state: a link already playing is
            // not "Connecting".
            const entry = this.#own.get(p.id) || this.#givenUp(p.id) || { peer: p.id, state: this.#stateOf(p.id) || 'new' };
            const g = grade(entry);
            const step = this.#repairStep(p.id);
            const tip = [say(this.#problem(selfId, p.id, entry)) || t(`xray.grade-${g}`), repairText(step)].filter(Boolean).join(' · ');
            this.#grid.setLink(p.id, g, t('xray.tile', { name: p.name, grade: t(`xray.grade-${g}`) }), tip);
        }
    }

    /** The Connections table, drawn anew into root. */
    render() {
        const people = this.#people();
        const selfId = people.find((p) => p.self)?.id;
        const rows = matrix(people, (id) => this.#reportOf(id, selfId));
        const table = el('table', 'xtable');
        table.append(el('caption', 'sr', t('xray.caption')));
        const head = el('tr');
        const corner = el('th', 'xcorner', t('xray.corner'));
        corner.scope = 'col';
        head.append(corner);
        for (const p of people) {
            const th = el('th', 'xname', p.self ? t('common.nameYou', { name: p.name }) : p.name);
            th.scope = 'col';
            head.append(th);
        }
        const thead = el('thead');
        thead.append(head);
        const tbody = el('tbody');
        for (const { person, cells } of rows) {
            const tr = el('tr');
            const th = el('th', 'xname', person.self ? t('common.nameYou', { name: person.name }) : person.name);
            th.scope = 'row';
            tr.append(th);
            for (const c of cells) tr.append(this.#cell(person, c, person.id === selfId));
            tbody.append(tr);
        }
        table.append(thead, tbody);
        this.#root.replaceChildren(table);
    }

    /** One cell: what a (the row) measured of the link to c.to. */
    #cell(a, c, mine) {
        const td = el('td', 'xcell');
        if (c.self) {
            td.classList.add('xself');
            td.append(el('span', 'sr', t('xray.same')));
            return td;
        }
        td.dataset.from = a.id;
        td.dataset.to = c.to.id;
        // While a's seat waits for them (away), what they last reported is old news.
        if (!c.entry || a.away) {
            td.dataset.grade = 'none';
            td.append(el('span', 'xsay', t(a.away ? 'xray.awayReport' : 'xray.noReport', { name: a.name })));
            return td;
        }
        const e = c.entry;
        const g = grade(e);
        td.dataset.grade = g;
        td.dataset.route = routeKey(e, c.back).slice(5);
        const top = el('span', 'xgrade');
        top.append(bars(g), el('span', '', t(`xray.grade-${g}`)));
        td.append(top, el('span', 'xroute', t(routeKey(e, c.back))));
        const nums = [];
        if (e.rtt !== undefined) nums.push(t('xray.rtt', { rtt: e.rtt }));
        if (e.loss !== undefined) nums.push(t('xray.loss', { loss: e.loss }));
        const rate = e.in ?? e.out;
        if (rate !== undefined) nums.push(t('xray.rate', { rate }));
        if (nums.length) td.append(el('span', 'xnums', nums.join(' · ')));
        const names = { a: a.name, b: c.to.name };
        const how = describe(e, names, c.back);
        td.dataset.how = how.key.slice(6); // links.<what>
        const words = [say(how), say(this.#problem(a.id, c.to.id, e))].filter(Boolean);
        td.append(el('span', 'xsay', words.join('. ')));
        const step = mine ? this.#repairStep(c.to.id) : e.repair;
        if (step) {
            td.dataset.repair = step;
            td.append(el('span', 'xrepair', repairText(step)));
        }
        return td;
    }
}
