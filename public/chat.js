// Chat panel: history and live messages, private messages, unread count.
// Everything a person typed is set with textContent.

const $ = (id) => document.getElementById(id);
const MAX_ITEMS = 500;

function timeOf(ts) {
    const d = new Date(typeof ts === 'number' ? ts : Date.now());
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export class Chat {
    #send;
    #nameOf;
    #selfId;
    #isVisible;
    #onUnread;
    #log;
    #input;
    #unread = 0;
    #seen = new Set();
    #to = null;
    #stickNext = false;

    /**
     * send({text, to?}) -> bool; nameOf(id) -> display name or null;
     * selfId() -> one's id; isVisible() -> whether the chat is on screen;
     * onUnread(n) after the unread count changed.
     */
    constructor({ send, nameOf, selfId, isVisible, onUnread }) {
        this.#send = send;
        this.#nameOf = nameOf;
        this.#selfId = selfId;
        this.#isVisible = isVisible;
        this.#onUnread = onUnread;
        this.#log = $('chat-log');
        this.#input = $('chat-input');
        $('chat-form').addEventListener('submit', (e) => {
            e.preventDefault();
            this.#submit();
        });
        this.#input.addEventListener('keydown', (e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
                e.preventDefault();
                this.#submit();
            }
        });
        this.#input.addEventListener('input', () => this.#grow());
        $('chat-to-clear').addEventListener('click', () => this.privateTo(null));
    }

    #grow() {
        this.#input.style.height = 'auto';
        this.#input.style.height = `${Math.min(this.#input.scrollHeight, 140)}px`;
    }

    #submit() {
        const text = this.#input.value.replace(/\s+$/, '');
        if (!text.trim()) return;
        const msg = { text };
        if (this.#to) msg.to = this.#to.id;
        if (!this.#send(msg)) return;
        this.#input.value = '';
        this.#grow();
        this.#stickNext = true;
    }

    /** Private messages to peer (or to everyone when null). */
    privateTo(peer) {
        this.#to = peer ? { id: peer.id, name: peer.name } : null;
        $('chat-to').hidden = !peer;
        $('chat-to-name').textContent = peer ? peer.name : '';
        this.#input.placeholder = peer ? `Message ${peer.name} privately` : 'Message everyone';
        this.#input.focus();
    }

    /** The private target left or changed id. */
    forget(id) {
        if (this.#to && this.#to.id === id) this.privateTo(null);
    }

    rekey(from, to) {
        if (this.#to && this.#to.id === from) this.#to.id = to;
    }

    history(list) {
        for (const m of list || []) this.add(m, { quiet: true });
    }

    /** Shows one chat message; returns false for a duplicate. */
    add(m, { quiet = false } = {}) {
        if (!m || typeof m.text !== 'string') return false;
        const key = `${m.ts}|${m.from}|${m.to || ''}|${m.text}`;
        if (this.#seen.has(key)) return false;
        this.#seen.add(key);
        const atBottom = this.#log.scrollHeight - this.#log.scrollTop - this.#log.clientHeight < 40;
        const mine = m.from === this.#selfId();
        const prev = this.#log.lastElementChild;
        const li = document.createElement('li');
        li.className = 'msg';
        if (mine) li.classList.add('mine');
        if (m.to) li.classList.add('private');
        const groupKey = `${m.from}|${m.to || ''}`;
        const grouped = prev && prev.dataset.group === groupKey && m.ts - Number(prev.dataset.ts) < 120000;
        li.dataset.group = groupKey;
        li.dataset.ts = String(m.ts || Date.now());
        if (!grouped) {
            const head = document.createElement('div');
            head.className = 'msg-head';
            const who = document.createElement('span');
            who.className = 'who';
            who.textContent = mine ? 'You' : (m.name || 'Someone');
            head.append(who);
            if (m.to) {
                const pv = document.createElement('span');
                pv.className = 'pv';
                const other = mine ? (this.#nameOf(m.to) || 'someone') : 'you';
                pv.textContent = `privately to ${other}`;
                head.append(pv);
            }
            const time = document.createElement('time');
            time.textContent = timeOf(m.ts);
            if (typeof m.ts === 'number') time.dateTime = new Date(m.ts).toISOString();
            head.append(time);
            li.append(head);
        } else {
            li.classList.add('cont');
        }
        const body = document.createElement('div');
        body.className = 'text';
        body.textContent = m.text;
        li.append(body);
        this.#log.append(li);
        while (this.#log.children.length > MAX_ITEMS) this.#log.firstElementChild.remove();
        $('chat-empty').hidden = true;
        if (atBottom || (mine && this.#stickNext)) this.#log.scrollTop = this.#log.scrollHeight;
        if (mine) this.#stickNext = false;
        if (!quiet && !mine && !this.#isVisible()) {
            this.#unread++;
            this.#onUnread(this.#unread, m);
        }
        return true;
    }

    /** Puts the cursor in the message box. */
    focus() {
        this.#input.focus();
    }

    /** The panel became visible: nothing is unread any more. */
    seenAll() {
        this.#unread = 0;
        this.#onUnread(0, null);
        this.#log.scrollTop = this.#log.scrollHeight;
    }
}
