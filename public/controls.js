// The meeting's chrome around the grid: the control bar (mic, camera,
// screen, hand, chat, people, settings, connections, invite, leave), the keyboard
// shortcuts, the side panel's tabs, the clock, the people count, the lobby
// badge, the "You are muted" hint and the room's "Locked" and "Password"
// marks in the top bar. It only shows state and reports clicks: what a
// click does is the page's business (app.js).
import { setIcon } from './icons.js';
import { t, num } from './i18n.js';
import { $, rowTarget, touchScreen } from './dom.js';
import { announce } from './ui.js';

/** Whether t (an event target) is a field where keys are text. */
export function isTyping(t) {
    return !!t && (!!t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName || ''));
}

/**
 * Whether a single-key shortcut must leave the key to t (an event target):
 * a text field, or anything in an open dialog or the reactions' row,
 * where a key belongs to what is asked. A focused button takes none
 * (it answers Space and Enter only): M mutes right after joining, when the
 * focus is on the Microphone button. WCAG 2.1.4 is met by the switch that
 * turns single keys off.
 */
export function takesKeys(t) {
    return isTyping(t) || (!!t && typeof t.closest === 'function' && !!t.closest('dialog[open], #react-menu'));
}

/**
 * Whether a held Space talks with the focus on t (an event target): only
 * where single keys are free (takesKeys: no field, checkbox included, no
 * dialog) and the focus is on no control, since a focused button, link,
 * slider, tab or scrolling region answers Space itself (the page's body
 * after a click on the video, say).
 */
export function spaceTalks(t) {
    return !takesKeys(t) && !(!!t && typeof t.closest === 'function' && !!t.closest('button, a[href], summary, [role], [tabindex]'));
}

const KEYS_PREF = 'huddle.keys';

/** Whether single-key shortcuts are on, from storage (on unless turned off). */
export function keysOn(storage) {
    try {
        return !storage || storage.getItem(KEYS_PREF) !== 'off';
    } catch {
        return true;
    }
}

/** Remembers the single-key shortcuts choice in storage (if it can). */
export function rememberKeys(storage, on) {
    try {
        if (storage) storage.setItem(KEYS_PREF, on ? 'on' : 'off');
    } catch {
        // Private mode or storage off: the choice lasts for this page.
    }
}

/**
 * The action a key press asks for: 'mic', 'cam', 'hand', 'chat' or null.
 * Ctrl/Cmd+D and Ctrl/Cmd+E work anywhere; M, V, H and C only without a
 * modifier and when single keys are free (typing: the focus takes keys
 * itself, or single-key shortcuts are off).
 */
export function shortcutFor({ key, code, ctrlKey, metaKey, altKey, shiftKey }, typing) {
    const mod = ctrlKey || metaKey;
    // The letter printed on the key; a letter of another script (Arabic:
    // M is "ة"), the letter of the key's place on a US keyboard. A Latin
    // layout's punctuation in those places (AZERTY's "," where US has M)
    // is no shortcut.
    let k = String(key || '').toLowerCase();
    if (/^\p{L}$/u.test(k) && !/\p{Script=Latin}/u.test(k) && /^Key[A-Z]$/.test(code || '')) k = code.slice(3).toLowerCase();
    if (mod && !altKey && !shiftKey && (k === 'd' || k === 'e')) return k === 'd' ? 'mic' : 'cam';
    if (mod || altKey || typing) return null;
    return { m: 'mic', v: 'cam', h: 'hand', c: 'chat' }[k] || null;
}

/** The meeting clock for ms elapsed: "mm:ss", or "h:mm:ss" from an hour. */
export function clockText(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const hh = Math.floor(s / 3600);
    const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
    const ss = String(s % 60).padStart(2, '0');
    return hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The unread badge for n messages: "1".."9", then "9+". */
export function unreadText(n) {
    return n > 9 ? '9+' : String(n);
}

/** The "You left" screen's line after ms in room. */
export function stayText(room, ms) {
    const min = Math.round(ms / 60000);
    return min < 1 ? t('left.stayShort', { room }) : t('left.stay', { room, count: min });
}

// Each toggle button: its state field, icons on and off, whether "off"
// is the alarming state (mic and camera) or "on" the notable one (screen
// and hand), and its shortcut's action with what a screen reader is told
// when that key changed it (the words on and off). Labels are fixed in
// the markup ("Microphone", "Camera", "Share", "Hand"); aria-pressed alone
// says whether the thing is on, which is read on a click, with the
// focused button; a shortcut leaves the focus where it was.
const TOGGLES = [
    ['btn-mic', 'audio', 'mic', 'mic-off', true, 'mic', 'controls.nowMicOn', 'controls.nowMicOff'],
    ['btn-cam', 'video', 'cam', 'cam-off', true, 'cam', 'controls.nowCamOn', 'controls.nowCamOff'],
    ['btn-screen', 'screen', 'screen', 'screen', false, null],
    ['btn-hand', 'hand', 'hand', 'hand', false, 'hand', 'controls.nowHandUp', 'controls.nowHandDown'],
];

// How long after its key a change is still the key's (a camera takes a
// moment to start; a change much later came from elsewhere).
const KEYED_MS = 5000;

function localStore() {
    try {
        return window.localStorage;
    } catch {
        return null;
    }
}

// The side panel's tabs: each has a pane `<tab>-pane`, a tab `tab-<tab>`
// and a control-bar button `btn-<tab>`.
const TABS = ['chat', 'people', 'settings', 'links'];

export class Controls {
    #on;
    #clock = null;
    #keys;
    #opener = null;
    // Shortcut actions ('mic', 'cam', 'hand') pressed: when, and the state
    // each asked for; that change, once shown, is said (TOGGLES).
    #keyed = new Map();

    /**
     * on: { mic, cam, screen, hand, chat, leave, invite, panel(tab, keyed),
     * talk(held) }, each called on the click or shortcut; panel(tab, keyed)
     * after the side panel changed, with 'chat', 'people', 'settings',
     * 'links' (Connections) or null (closed), keyed when a key opened it
     * (a button's Enter or Space, a shortcut); talk(true) when Space is pressed
     * where it talks (spaceTalks), talk(false) when it is let go or the
     * window loses the keyboard meanwhile. canShare: whether
     * the screen-share button is shown.
     */
    constructor(on, { canShare = true } = {}) {
        this.#on = on;
        $('btn-screen').hidden = !canShare;
        $('btn-mic').addEventListener('click', () => on.mic());
        $('btn-cam').addEventListener('click', () => on.cam());
        $('btn-screen').addEventListener('click', () => on.screen());
        $('btn-hand').addEventListener('click', () => on.hand());
        $('btn-leave').addEventListener('click', () => on.leave());
        $('btn-invite').addEventListener('click', () => on.invite());
        $('people-invite').addEventListener('click', () => on.invite());
        $('alone-invite').addEventListener('click', () => on.invite());
        for (const tab of TABS) {
            // A click of no pointer (detail 0) is the button's Enter or Space.
            $(`btn-${tab}`).addEventListener('click', (e) => this.openPanel(tab, $(`btn-${tab}`), e.detail === 0));
            // A tab of the open panel only switches: the panel's own tab
            // again must not close it (the buttons of the bar toggle).
            $(`tab-${tab}`).addEventListener('click', () => {
                if (!this.showing(tab)) this.openPanel(tab);
            });
        }
        // The tabs are one stop of Tab (the selected one); the arrows, Home
        // and End move among them and show the one they reach.
        $('tab-chat').parentElement.addEventListener('keydown', (e) => {
            if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return; // Alt+Left is the browser's Back
            const shown = TABS.filter((x) => !$(`tab-${x}`).hidden);
            const at = shown.indexOf(e.target.id.replace('tab-', ''));
            if (at < 0) return;
            const to = shown[rowTarget(e, e.currentTarget, at, shown.length)];
            if (!to) return;
            e.preventDefault();
            if (!this.showing(to)) this.openPanel(to);
            $(`tab-${to}`).focus();
        });
        $('panel-close').addEventListener('click', () => this.closePanel());
        this.#keys = keysOn(localStore());
        const pref = $('pref-keys');
        pref.checked = this.#keys;
        pref.addEventListener('change', () => {
            this.#keys = pref.checked;
            rememberKeys(localStore(), this.#keys);
        });
        document.addEventListener('keydown', (e) => this.#onKey(e));
        // A Space let go anywhere, or never seen let go (the window lost
        // the keyboard meanwhile), ends talking.
        document.addEventListener('keyup', (e) => {
            if (e.code !== 'Space' || !this.#talking) return;
            e.preventDefault(); // nothing focused meanwhile is pressed by it
            this.#talk(false);
        });
        window.addEventListener('blur', () => this.#talk(false));
        window.addEventListener('resize', () => this.#coverGrid());
    }

    #talking = false;

    /** Reports Space held or let go, once each way. */
    #talk(held) {
        if (held === this.#talking) return;
        this.#talking = held;
        this.#on.talk(held);
    }

    #onKey(e) {
        if ($('meeting').hidden) return;
        if (e.key === 'Escape' && !e.isComposing && !$('panel').hidden && !document.querySelector('dialog[open]')) {
            e.preventDefault();
            this.closePanel();
            return;
        }
        // While talking, every Space is talking's, wherever the focus went
        // meanwhile: a button focused since would be pressed on the release.
        if (e.code === 'Space' && (this.#talking || (!e.ctrlKey && !e.metaKey && !e.altKey && !e.shiftKey && this.#keys && spaceTalks(e.target)))) {
            e.preventDefault(); // the page does not scroll
            this.#talk(true);
            return;
        }
        const act = shortcutFor(e, takesKeys(e.target) || !this.#keys);
        if (!act) return;
        e.preventDefault();
        if (act === 'chat') {
            this.openPanel('chat', $('btn-chat'), true);
            return;
        }
        // What the key asks for: its button's state turned over.
        const [id] = TOGGLES.find((x) => x[5] === act);
        this.#keyed.set(act, { at: Date.now(), on: $(id).getAttribute('aria-pressed') !== 'true' });
        this.#on[act]();
    }

    /**
     * Shows tab in the side panel; the same tab again closes the panel.
     * opener: the button that opened it, focused again when it closes;
     * keyed: a key opened it.
     */
    openPanel(tab, opener = null, keyed = false) {
        const panel = $('panel');
        const same = this.showing(tab);
        if (same && panel.contains(document.activeElement)) {
            this.closePanel(); // a key from inside it: the focus goes back out
            return;
        }
        if (opener) this.#opener = opener;
        panel.hidden = same;
        if (!same) panel.dataset.tab = tab; // the Connections table wants a wider panel
        for (const t of TABS) {
            if (!same) {
                $(`${t}-pane`).hidden = t !== tab;
                $(`tab-${t}`).setAttribute('aria-selected', String(t === tab));
                $(`tab-${t}`).tabIndex = t === tab ? 0 : -1;
            }
            $(`btn-${t}`).setAttribute('aria-pressed', String(!same && t === tab));
        }
        this.#coverGrid();
        this.#on.panel(same ? null : tab, keyed);
    }

    /**
     * Where the open panel covers the whole video grid (a phone, a narrow
     * window: app.css), the grid is inert: Tab does not stop on buttons
     * nobody can see, and a screen reader does not read tiles behind it.
     */
    #coverGrid() {
        const grid = $('grid');
        const panel = $('panel');
        // Where they are laid out, not where the panel's slide-in has it now.
        const box = (e) => ({ x: e.offsetLeft, y: e.offsetTop, r: e.offsetLeft + e.offsetWidth, b: e.offsetTop + e.offsetHeight });
        let covered = false;
        if (!panel.hidden && grid.offsetParent && panel.offsetParent === grid.offsetParent) {
            const [p, g] = [box(panel), box(grid)];
            covered = p.x <= g.x + 1 && p.r >= g.r - 1 && p.y <= g.y + 1 && p.b >= g.b - 1;
        }
        grid.inert = covered;
    }

    /** Closes the side panel; the focus goes back to the button that opened it. */
    closePanel() {
        $('panel').hidden = true;
        this.#coverGrid();
        for (const t of TABS) $(`btn-${t}`).setAttribute('aria-pressed', 'false');
        this.#on.panel(null);
        const back = this.#opener || $('btn-chat');
        this.#opener = null;
        back.focus();
    }

    /** Whether the side panel is open on tab. */
    showing(tab) {
        return !$('panel').hidden && !$(`${tab}-pane`).hidden;
    }

    /** The toggle buttons after self (a roster peer object). */
    show(self) {
        for (const [id, field, iconOn, iconOff, offIsBad, key, saidOn, saidOff] of TOGGLES) {
            const on = !!self[field];
            const b = $(id);
            const changed = b.getAttribute('aria-pressed') !== String(on);
            const keyed = this.#keyed.get(key);
            if (changed && keyed && keyed.on === on && Date.now() - keyed.at < KEYED_MS) {
                this.#keyed.delete(key);
                announce(t(on ? saidOn : saidOff));
            }
            b.setAttribute('aria-pressed', String(on));
            // The hand's tooltip says what a click does now (its key is
            // kept on the button, so a change of language follows it).
            if (id === 'btn-hand') {
                b.dataset.i18nAttr = `title:${on ? 'controls.handLowerTitle' : 'controls.handTitle'}`;
                b.title = t(on ? 'controls.handLowerTitle' : 'controls.handTitle');
            }
            b.classList.toggle('off', offIsBad && !on);
            b.classList.toggle('active', !offIsBad && on);
            setIcon(b, on ? iconOn : iconOff);
        }
    }

    /**
     * Shows or hides "You are muted" (over the top bar; app.css). It names
     * the held Space only while single keys are on (Space talks then), and
     * no key on a touch screen.
     */
    setMutedHint(on) {
        const hint = $('muted-hint');
        const key = touchScreen() ? 'controls.mutedHintTouch' : this.#keys ? 'controls.mutedHintSpace' : 'controls.mutedHint';
        // Called on every level tick: the live region changes only when it
        // says something new (a screen reader reads each change).
        if (on && hint.dataset.i18n !== key) {
            hint.dataset.i18n = key;
            hint.textContent = t(key);
        }
        hint.hidden = !on;
        $('btn-mic').classList.toggle('nudge', on);
    }

    setUnread(n) {
        $('unread').hidden = n === 0;
        $('unread').textContent = unreadText(n);
        // Read as "Chat 2" otherwise: the description says what it counts;
        // with none, the title ("Chat (C)", its shortcut) describes it, as
        // the other buttons' do (an empty description would hide it).
        $('unread-text').textContent = n ? t('controls.unread', { count: n }) : '';
        if (n) $('btn-chat').setAttribute('aria-describedby', 'unread-text');
        else $('btn-chat').removeAttribute('aria-describedby');
    }

    /** How many wait in the lobby (a host's badge on People; 0 hides it). */
    setWaiting(n) {
        $('waiting-badge').hidden = n === 0;
        $('waiting-badge').textContent = unreadText(n);
        $('btn-people').title = n ? t('people.waitingTitle', { count: n }) : t('panel.people');
        // The badge's number alone is read "People 2", like the People
        // tab's count of those present: the description says what it counts.
        $('waiting-text').textContent = n ? t('toast.waitingMany', { count: n }) : '';
    }

    /** The room's access in the top bar: "Locked" and "Password" marks. */
    setAccess({ locked = false, password = false } = {}) {
        $('mark-locked').hidden = !locked;
        $('mark-password').hidden = !password;
    }

    /** The number of people in the meeting, oneself included. */
    setCount(n) {
        $('count').textContent = num(n);
        $('people-count').textContent = num(n);
        $('people-count-text').textContent = t('meeting.count', { count: n });
        $('count-box').title = t('meeting.count', { count: n });
        // Read as the sentence, not as a bare "3" (the title is no name of a paragraph).
        $('count-text').textContent = t('meeting.count', { count: n });
    }

    /** Runs the clock from startedAt (a Date.now() value). */
    startClock(startedAt) {
        const tick = () => { $('clock').textContent = clockText(Date.now() - startedAt); };
        clearInterval(this.#clock);
        this.#clock = setInterval(tick, 1000);
        tick();
    }
}
