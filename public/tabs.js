// Other tabs of this browser in the same meeting, over a BroadcastChannel:
// a second tab that joins too plays the first one's voice into its own
// microphone, and everyone hears an echo. The pre-join screen says so
// (app.js); nothing is refused, as joining from two tabs may be meant.
//
// Each tab has an id of its own. A tab asks who is in its room when it
// opens; a tab in the meeting answers, says so when it enters, and says
// it is gone when it leaves or the page goes away.

export class MeetingTabs {
    #channel = null;
    #room;
    #onChange;
    #id = Math.random().toString(36).slice(2);
    #inside = false;
    #others = new Set(); // ids of the tabs of this room in the meeting

    /** onChange(any): whether another tab of room is in the meeting now. */
    constructor(room, onChange) {
        this.#room = room;
        this.#onChange = onChange;
        try {
            this.#channel = new BroadcastChannel('huddle.meetings');
        } catch {
            return; // none (an old browser), or refused (Firefox with site data blocked)
        }
        this.#channel.onmessage = (e) => this.#heard(e.data || {});
        this.#post({ ask: true });
    }

    /**
     * Asks again who is in the meeting, forgetting who was: a tab that
     * crashed or was killed (a phone's) never said it left.
     */
    recheck() {
        const before = this.#others.size > 0;
        this.#others.clear();
        if (before) this.#onChange(false);
        this.#post({ ask: true });
    }

    /** This tab entered the meeting. */
    entered() {
        this.#inside = true;
        this.#post({ inside: true });
    }

    /** This tab left it (or is going away). */
    left() {
        if (!this.#inside) return;
        this.#inside = false;
        this.#post({ inside: false });
    }

    #post(fields) {
        try {
            this.#channel?.postMessage({ room: this.#room, tab: this.#id, ...fields });
        } catch {
            // The channel was closed under us: nothing to tell.
        }
    }

    #heard(m) {
        if (m.room !== this.#room || typeof m.tab !== 'string') return;
        if (m.ask) {
            if (this.#inside) this.#post({ inside: true });
            return;
        }
        const before = this.#others.size > 0;
        if (m.inside === true) this.#others.add(m.tab);
        else this.#others.delete(m.tab);
        if ((this.#others.size > 0) !== before) this.#onChange(this.#others.size > 0);
    }
}
