// huddle's room page: wires the pre-join screen, the signalling client, the
// roster, the mesh, the grid, the chat, the controls, the settings, the
// lobby, the host's tools and the gate screens together. Each
// concern lives in its own module, reached only through its methods; this
// one only reacts to their events and keeps the tiles in step.
import { Signaling, socketUrl } from './signal.js';
import { Mesh, iceRenewDelay } from './mesh.js';
import { Encoder } from './encoding.js';
import { Media, Levels, canShareScreen, holdSpeaker } from './media.js';
import { Grid, People, toast, recheckToasts, clearToasts, banner, announce, clearSaid } from './ui.js';
import { Chat } from './chat.js';
import { PreJoin, rememberName } from './prejoin.js';
import { Pickers } from './devices.js';
import { Settings, savedQuality, saverOn } from './settings.js';
import { Roster } from './roster.js';
import { Controls, stayText } from './controls.js';
import { hydrateIcons } from './icons.js';
import { takeToken, tokenName, takeWayBack, keepWayBack, endedText, refusalText, joinRateText, waitingList, kickText } from './access.js';
import { MeetingTabs } from './tabs.js';
import { Lobby } from './lobby.js';
import { HostTools } from './hostmenu.js';
import { Ask } from './ask.js';
import { Gate } from './gate.js';
import { $, focusIfLost, keyboardIn, touchScreen } from './dom.js';
import { Reactions } from './reactions.js';
// Links: one sampler of the links' statistics (sampler.js) for the X-ray
// (xray.js), the quality governor (views.js, encoding.js) and self-repair
// (mesh.js observe).
import { Sampler } from './sampler.js';
import { XRay } from './xray.js';
import { Views } from './views.js';
import { t, hasText, lang, loadLanguage, pickLanguage, storedLanguage, rememberLanguage, translatePage, bindPicker, timeText } from './i18n.js';

const CHAT_NEWS = 'chat-news'; // the kind of toast a chat line makes (ui.js toast)
// The page's language first (its catalogue is loaded before anything is
// shown: the pre-join screen appears already translated; app.css hides it
// while <html> has the class i18n-wait).
await loadLanguage(storedLanguage(localStore()) || pickLanguage(navigator.languages || [navigator.language]));
translatePage();
document.documentElement.classList.remove('i18n-wait');
const room = document.querySelector('meta[name="huddle-room"]').content;
const roster = new Roster();
const pendingTiles = new Map();
const media = new Media();
media.setQuality(savedQuality());
const levels = new Levels(onLevels);
// One set of device pickers for the pre-join screen and the settings.
const pickers = new Pickers(media, tell);
media.addEventListener('lost', (e) => deviceLost(e.detail));
const pre = new PreJoin(media, levels, pickers);
const gate = new Gate();
// An invitation's join token: out of the address bar at once, sent with every join.
const { token, renewed } = takeToken(location, history, tabStorage(), room);
// The name it gives: the sidecar seats its holder under it, and refuses
// any other (docs/tokens.md), so the name fields show it and stay fixed
// (the pre-join one when the page can read it; Settings' always, since
// each welcome brings the server's).
const invitedName = tokenName(token);
if (invitedName) pre.invited(invitedName);
// Where invitations are needed, a new meeting would need one too: with
// an invitation, no screen offers one (newMeeting).
for (const a of document.querySelectorAll('#pre-new, .left-actions a[href="/"]')) a.hidden = !newMeeting().length;
// This tab was in the meeting a moment ago (a reload, or Rejoin after
// Leave): the first join asks to come back as it was, and the pre-join
// screen starts with the microphone and camera as they were.
let wayBack = takeWayBack(tabStorage(), room);
// A new invitation in the link comes in under its own name and role, not
// as the seat this tab held under another (whose way back would win).
if (renewed) wayBack = null;
// How long the sidecar keeps a way back (welcome.limits).
let backMs = 0;
// How long someone a host removes stays out (welcome.limits.kickBanMs; null: not said).
let kickBanMs = null;
// Whether the last access message said Redis lost the lock, and the
// access it gave (onAccess), or null before the first.
let accessRestored = false;
let roomAccess = null;
// The lock or password change this page asked for and has not seen yet
// ({ locked, password }, either or both): onAccess says it quietly.
let accessAsked = {};
// The lifetime of TURN credentials (welcome.limits.turnTtlS), and the
// timer that asks for fresh ones before they expire (renewIce).
let turnTtlS = 0;
let iceTimer = null;
// Those we were told we lost the connection to (mesh 'failed'), so that
// their seat's timeout does not say it again.
const lostSaid = new Set();
let sig = null;
let mesh = null;
let encoder = null;
let views = null; // the quality governor's receiving side
let sampler = null; // the one sampler of the links
let grid = null;
let chat = null;
let people = null;
let controls = null;
let lobby = null;
let hostTools = null;
// The page's question dialog (ask.js): host tools, Remove, Invite. Its
// opener gone, the People tab, else the grid's way (a tile's button, People).
const asker = new Ask(() => {
    focusIfLost($('tab-people'));
    if (grid) grid.refocus();
});
let settings = null;
let reactions = null;
// Link X-ray: what it shows.
let xray = null;
let entered = false;
let joining = false;
let refusedWith = null; // the code of the last refusal screen
let retrying = null; // the code whose Try again is under way
// The microphone and camera as they were when a refusal screen stopped
// them ({ audio, video }): Try again opens them so again. null: running.
let devicesBack = null;
let startedAt = 0;
let speaker = { id: null, until: 0 };
// Talking while muted: held like the speaker ring, so the hint does not flicker.
let mutedTalk = { id: null, until: 0 };

function setState(s) {
    document.body.dataset.state = s;
}

function localStore() {
    try {
        return localStorage;
    } catch {
        return null;
    }
}

function tabStorage() {
    try {
        return sessionStorage;
    } catch {
        return null;
    }
}

hydrateIcons();
document.addEventListener('huddle-icons', () => hydrateIcons());
setState('prejoin');
// Join, or Try again in its place after a full room (Enter in the name
// field too): the full room's line goes as the try starts.
function joinOrTryAgain() {
    if (!$('pre-full').hidden) pre.message('');
    join();
}
$('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    joinOrTryAgain();
});
$('pre-copy').addEventListener('click', copyInvite);
// The Locked and Password marks are icons alone on a phone, whose screen
// shows no title: a tap (a click) says what they mean.
for (const mark of [$('mark-locked'), $('mark-password')]) mark.addEventListener('click', () => toast(mark.title, 5000));
$('pre-retry').addEventListener('click', joinOrTryAgain);
roster.addEventListener('change', refreshPeople);
// This meeting open in another tab of this browser: said before Join
// (both tabs in it would echo), gone again once that tab left. A tab
// coming back into view asks again (the other may have died unheard).
const tabs = new MeetingTabs(room, (other) => {
    $('pre-tab').hidden = !other;
});
document.addEventListener('visibilitychange', () => {
    if (!entered && document.visibilityState === 'visible') tabs.recheck();
});
for (const sel of [$('pre-lang'), $('set-lang')]) bindPicker(sel, switchLanguage);
// What Join waits for: the devices the pre-join screen opened (again, after
// a refusal screen stopped them: tryAgain).
let devicesReady = pre.start(wayBack ? { audio: wayBack.audio, video: wayBack.video } : {});
// A page going away keeps its way back (access.js) for a reload of this
// tab; one that has not joined yet keeps the one it was given.
window.addEventListener('pagehide', () => {
    tabs.left();
    if (!sig) {
        keepWayBack(tabStorage(), room, wayBack);
        return;
    }
    const back = wayBackNow();
    keepWayBack(tabStorage(), room, back || unspentWayBack());
    // Alone, a leave would end the meeting (its lock and password go, and
    // those knocking are sent away): "back soon" keeps the seat instead.
    // The seat then says what the page coming back will say anyway: no
    // screen shared (it ends with the page), no hand up, so that whoever
    // comes meanwhile is not shown an empty "Presenting" stage.
    if (back && roster.size === 0) {
        const me = roster.self();
        const off = {};
        if (me.screen) off.screen = false;
        if (me.hand) off.hand = false;
        if (Object.keys(off).length) sig.send({ type: 'state', ...off });
        sig.away();
    } else {
        sig.leave();
    }
});
// The browser says the network went: the socket proves it is alive
// within 2 to 3 s, or is given up and the banner says so (signal.js).
window.addEventListener('offline', () => {
    if (sig) sig.probe();
});
// The network is back: reconnect now rather than when the backoff says.
window.addEventListener('online', () => {
    if (sig) sig.networkBack();
    if (mesh) mesh.retryAll(); // links given up while the network was down
});
// A held Enter repeats, and each repeat presses the button (or submits
// the form) with the focus again: Try again on a full room sent a join
// per repeat, and the burst used up the room's joins for the others. One
// press is one key down. (A textarea's Enter is a new line: it repeats.)
document.addEventListener('keydown', (e) => {
    if (e.repeat && e.key === 'Enter' && e.target instanceof Element && e.target.closest('button, a[href], input')) e.preventDefault();
}, true);
// Browsers start audio only after a gesture: the level meter wakes on the first one.
for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, () => levels.ensureContext(), { once: true });

async function join() {
    if (sig) {
        // A first join waiting for the server: the next try goes with the
        // name as it is now, if good, and the microphone and camera as
        // they are then (joinFields).
        const name = pre.takeName();
        if (!name) return;
        selfFromPrejoin(name);
        sig.retryNow();
        return;
    }
    const name = pre.takeName();
    if (!name || joining) return;
    joining = true;
    pre.busy(true, 'prejoin.joining');
    // A click before the camera answered waits for it (or its refusal).
    await devicesReady;
    joining = false;
    selfFromPrejoin(name);
    levels.ensureContext();
    setState('joining');
    mesh = new Mesh({ send: (to, data) => sig.send({ type: 'signal', to, data }), media, outgoing });
    // Quality governor: each receiver tells each sender what it shows of its
    // video (views.js); each sender applies the plan per link (encoding.js)
    // on views, link changes, quality and screen changes, and link samples.
    encoder = new Encoder(mesh, media, localStore());
    // One Views for the page (it reaches the current sig and mesh).
    views = views || new Views($('grid'), (to, view) => sig && sig.send({ type: 'signal', to, data: { view } }),
        (id) => !!mesh && mesh.links().some((p) => p.id === id && p.pc.connectionState === 'connected'));
    views.setSaver(saverOn());
    mesh.addEventListener('changed', (e) => {
        encoder.apply();
        views.linkChanged(e.detail.id);
    });
    mesh.addEventListener('view', (e) => encoder.view(e.detail.id, e.detail.view));
    // The one sampler of the links: self-repair (which links are closed or
    // silent), the governor and the X-ray read each sample.
    if (sampler) sampler.stop();
    sampler = new Sampler(mesh);
    sampler.addEventListener('sample', (e) => {
        mesh.observe(e.detail.links, (id) => !!(roster.get(id) || {}).audio);
        encoder.sample(e.detail.links);
        if (xray) xray.sample(e.detail.links, roster.selfId());
    });
    mesh.addEventListener('repair', (e) => {
        if (xray) xray.show();
        showLost(e.detail.id);
    });
    // Until the first sample, a tile's link badge shows the connection's
    // state; a safety code shown follows the link it is of.
    mesh.addEventListener('state', (e) => {
        if (xray) xray.show();
        showLost(e.detail.id);
        const p = roster.get(e.detail.id);
        if (e.detail.state === 'connected' && lostSaid.delete(e.detail.id) && p) {
            toast(t('toast.linkBack', { name: p.label })); // a later loss is said again
        }
        people.linkChanged(e.detail.id);
    });
    mesh.addEventListener('stream', (e) => onStream(e.detail));
    mesh.addEventListener('rekey', (e) => onRekey(e.detail));
    mesh.addEventListener('gone', (e) => dropTile(e.detail.id));
    mesh.addEventListener('failed', (e) => {
        const { id } = e.detail;
        const p = roster.get(id);
        if (!p) {
            mesh.close(id); // not in the meeting: nothing to try again
            return;
        }
        // Someone whose seat waits for them: their page offers anew once
        // back (mesh.takeOverSeat); meanwhile their tile says reconnecting.
        if (p.away) return;
        // Still in the meeting: their tile stays, says so and offers Try
        // again; the mesh tries again by itself meanwhile.
        showTile(id);
        showLost(id);
        if (lostSaid.has(id)) return; // said once, until the link comes back
        toast(t('toast.lost', { name: p.label }));
        lostSaid.add(id); // their seat's timeout says it no more
    });
    sig = new Signaling(socketUrl(), joinFields, {
        token,
        resume: wayBack && wayBack.resume,
        attempt: wayBack ? wayBack.attempt : 0,
    });
    sig.on('welcome', onWelcome)
        .on('knocking', onKnocking)
        .on('lobby', onLobby)
        .on('access', onAccess)
        .on('mute-request', onMuteRequest)
        .on('ended', onEnded)
        .on('peer-joined', (m) => m.peer && addPeer(m.peer, { greet: false, announce: true }))
        .on('peer-left', (m) => removePeer(m.id, m.reason, m.by))
        .on('peer-state', (m) => m.peer && updatePeer(m.peer))
        .on('roster', (m) => reconcile(m.peers || [], false))
        .on('signal', (m) => mesh.signal(m.from, m.data))
        .on('chat', (m) => chat && chat.add(m))
        .on('reaction', (m) => reactions && reactions.show(m.from, m.emoji))
        .on('links', (m) => xray && xray.receive(m))
        .on('ice', (m) => useIceServers(m.iceServers))
        .on('error', onError)
        .on('down', onDown);
    sig.connect();
}

/**
 * One's name, microphone and camera as the pre-join screen has them now.
 * The camera counts as on once its track is live: one still starting
 * comes on in the meeting when it answers (followCamera).
 */
function selfFromPrejoin(name) {
    roster.setSelf({ name, audio: pre.choices().audio && !!media.audioTrack(), video: !!media.camTrack() });
}

/**
 * The fields of every join (and rejoin): the password too, once asked for.
 * Until the meeting is entered each try reads the microphone and camera
 * again: what someone turned off while a try waited for the server goes
 * with the next one (and the name last taken by Join, join()).
 */
function joinFields() {
    if (!entered) selfFromPrejoin(roster.self().name);
    const me = roster.self();
    const fields = { room, name: me.name, audio: me.audio, video: me.video };
    const password = pre.password();
    if (password) fields.password = password;
    return fields;
}

function onDown({ delay }) {
    const secs = Math.max(1, Math.round(delay / 1000));
    if (!entered && !$('gate').hidden && $('gate').dataset.why === 'knocking') {
        // Waiting in the lobby: the card says so (the knock goes again
        // once the server answers, and its card comes back without it).
        const said = !$('gate-note').hidden;
        gate.note(t('prejoin.unreachable', { count: secs }));
        if (!said) announce(t('prejoin.unreachable', { count: secs }));
        return;
    }
    if (!entered) {
        pre.message(() => t('prejoin.unreachable', { count: secs }));
        pre.busy(false, 'prejoin.retryNow');
        return;
    }
    setState('reconnecting');
    banner(t('banner.lost'));
}

// Codes that mean this page sent something wrong, or a signal crossed a
// leave (no-such-peer; a private message's goes to the chat): logged, not shown.
const QUIET_ERRORS = new Set(['bad-json', 'unknown-type', 'not-joined', 'already-joined']);
// What a host (or anyone, for mute) asks with a button: request() below.
const HOST_REFS = new Set(['lock', 'password', 'kick', 'role', 'mute', 'admit', 'deny', 'end']);

function onError(m) {
    const refusal = refusalText(m.code, m.reason);
    // A lock or password refused: no access message will say it.
    if (m.ref === 'lock') delete accessAsked.locked;
    if (m.ref === 'password') delete accessAsked.password;
    // The server's words on a token (English, technical) are for whoever debugs the link.
    if (m.code === 'bad-token') console.warn('huddle: token refused:', m.reason, m.message);
    if (refusal) {
        refused(m.code, refusal);
    } else if (m.code === 'password-required' || m.code === 'wrong-password') {
        if (entered) {
            refused(m.code, { title: t('gate.passwordNowTitle'), text: t('gate.passwordNowText'), retry: true });
        } else {
            backToPrejoin(null);
            pre.askPassword(m.code === 'wrong-password');
        }
    } else if ((m.code === 'room-full' || m.code === 'invalid-room') && m.ref !== 'admit') {
        const text = () => t(`error.${m.code}`);
        if (!entered) backToPrejoin(text, { full: m.code === 'room-full' });
        else toast(text(), 6000);
    } else if (m.code === 'room-full') {
        toast(t('error.fullAdmit'), 6000);
    } else if (m.code === 'rate-limited' && m.ref === 'join' && !entered) {
        backToPrejoin(() => joinRateText(m.reason));
    } else if (m.code === 'rate-limited' && m.ref === 'react') {
        toast(t('error.rateReact'));
    } else if (m.code === 'unavailable' && m.ref === 'join') {
        // Signaling tries again, and its 'down' says so (onDown).
        console.warn('huddle: join not taken:', m.message);
    } else if (m.code === 'unavailable' && HOST_REFS.has(m.ref)) {
        // Nothing tries a host's action again (a lock, a removal during a
        // Redis outage): it was not done, and the host is told so.
        toast(t('error.unavailableHost'), 6000);
    } else if (m.ref === 'links' || m.ref === 'signal' || m.ref === 'ice') {
        // What the page sends by itself refused: a link report, a signal
        // (with Redis down, to someone on another sidecar: the links'
        // repair copes), fresh ICE servers (the next welcome has them).
        // Nothing for the person to do.
        console.warn(`huddle: ${m.ref} not taken:`, m.code, m.message);
    } else if (m.ref === 'chat' && chat) {
        // A chat line refused: the chat shows which one, and keeps its text.
        console.warn('huddle: chat not taken:', m.code, m.message);
        chat.refused(m.code);
    } else if (m.code === 'forbidden') {
        console.warn('huddle: not allowed:', m.message);
        toast(t('error.forbidden'), 5000);
    } else if (m.code === 'no-such-peer') {
        console.warn('huddle: server said', m.code, m.message);
    } else if (hasText(`error.${m.code}`)) {
        toast(t(`error.${m.code}`));
    } else if (!QUIET_ERRORS.has(m.code) && m.message) {
        // A code this page does not know: the server's own words.
        console.warn('huddle: server said', m.code, m.message);
        toast(m.message, 5000);
    } else {
        console.warn('huddle: server said', m.code, m.message);
    }
}

/**
 * Not in the meeting yet: this connection is given up, Join starts anew.
 * text: the line over Join, as pre.message takes it (null: as it is).
 * full: the room is full (Try again and Start a new meeting are shown).
 */
function backToPrejoin(text, { full = false } = {}) {
    dropSignaling();
    gate.hide();
    $('prejoin').hidden = false;
    if (text !== null) pre.message(text, { full });
    pre.busy(false);
    setState('prejoin');
    // Join (disabled while it worked) or the lobby's Cancel had the focus:
    // it goes where the next try starts (a password asked for: its field).
    focusIfLost(full ? $('pre-retry') : $('pw-row').hidden ? $('join-btn') : $('pw-input'));
}

/** The room is locked: wait in the lobby (Cancel sends leave). */
function onKnocking() {
    if (entered) {
        // The seat was lost (away past its grace): this page knocks like
        // anyone, and a host's tools and lobby are no longer its own (they
        // showed on, and a lock pressed meanwhile was "not sent"). Its
        // hand stays up: it is sent once a host lets it in.
        selfRole('guest');
        banner(t('banner.knockAgain'));
        return;
    }
    showGate('knocking', {
        why: 'knocking',
        title: t('gate.knockTitle'),
        text: t('gate.knockText'),
        wait: true,
        actions: [{ label: t('common.cancel'), run: () => backToPrejoin('') }],
    });
}

/**
 * The server kept us out (code): a gate screen saying why, with "Try
 * again" (or, after the meeting began, "Rejoin") when that can help.
 */
function refused(code, { title, text, retry }) {
    const again = entered ? { label: t('common.rejoin'), href: location.href } : { label: t('common.tryAgain'), run: tryAgain };
    // Try again that met the same answer: the card would look untouched.
    // With the seconds: two tries within a minute read differently.
    const note = retrying === code ? t('gate.triedAgain', { time: timeText(new Date(), { seconds: true }) }) : '';
    retrying = null;
    refusedWith = code;
    if (retry && !entered) {
        dropSignaling();
        // No camera light over a card that waits for a click: the devices
        // stop, and Try again opens them again as they were.
        if (!devicesBack) devicesBack = { audio: pre.choices().audio, video: media.cameraWanted(), had: !!(media.audioTrack() || media.camTrack()) };
        media.stopAll();
    } else {
        endSession();
    }
    const fresh = code === 'bad-token' ? [] : newMeeting();
    showGate(entered ? 'ended' : 'refused', { why: code, title, text, note, actions: [...(retry ? [again] : []), ...fresh] });
}

/**
 * "New meeting" as a card's action, or none: where invitations are needed
 * (this page came with one), a new meeting would need one too.
 */
function newMeeting() {
    return token ? [] : [{ label: t('common.newMeeting'), href: '/' }];
}

async function tryAgain() {
    retrying = refusedWith;
    backToPrejoin(null);
    if (devicesBack) {
        const back = devicesBack;
        devicesBack = null;
        devicesReady = pre.start(back);
        // Opened again, the browser may ask again: a "no" (or a dismissed
        // question) leaves the pre-join screen saying so, and Join to the
        // person, rather than joining unheard and unseen.
        await devicesReady;
        if (back.had && !media.audioTrack() && !media.camTrack()) {
            retrying = null;
            return;
        }
    }
    join();
}

/** A host removed us or ended the meeting: signal.js will not reconnect. */
function onEnded(m) {
    const self = !!m.by && m.by === roster.selfId();
    const name = self ? t('common.you') : roster.nameOf(m.by);
    const removed = m.reason === 'removed';
    // Removed: Rejoin, once any ban is over (the card then says the link
    // works again). Ended for all: only New meeting (a Rejoin would start
    // the ended meeting anew).
    const show = (banMs) => {
        const { title, text } = endedText(m.reason, name, { self, banMs });
        const rejoin = removed && banMs === 0 ? [{ label: t('common.rejoin'), href: location.href }] : [];
        return showGate('ended', { why: removed ? 'removed' : 'ended', title, text, actions: [...rejoin, ...newMeeting()] });
    };
    endSession();
    const card = show(kickBanMs);
    // Still that card (nothing else came meanwhile): the ban is over.
    if (removed && kickBanMs > 0) setTimeout(() => gate.showing(card) && show(0), kickBanMs);
}

function showGate(state, view) {
    $('prejoin').hidden = true;
    $('meeting').hidden = true;
    $('left').hidden = true;
    banner(null);
    clearSaid(); // the meeting's last news is not the card's
    const card = gate.show(view);
    setState(state);
    return card;
}

function onLobby(m) {
    if (!lobby) return;
    const fresh = lobby.set(waitingList(m));
    controls.setWaiting(lobby.size);
    recheckToasts(); // a knock answered: the toast that announced it goes
    if (!fresh.length || !roster.isHost()) return;
    toast(fresh.length === 1 ? t('toast.waitingOne', { name: roster.labelFor(fresh[0].id, fresh[0].name) }) : t('toast.waitingMany', { count: fresh.length }), 6000,
        () => fresh.some((w) => lobby.has(w.id)));
    levels.chime();
}

function onAccess(a, welcome = false) {
    if (!hostTools) return;
    hostTools.setAccess(a);
    controls.setAccess(a);
    const before = roomAccess;
    roomAccess = { locked: !!a.locked, password: !!a.password };
    if (welcome) {
        accessAsked = {};
        return; // a welcome's access never says restored, nor what changed
    }
    // Redis lost the room's lock and password, and locked it again: said
    // once (each sidecar of the room says so), until a host changes it.
    if (a.restored && !accessRestored && roster.isHost()) toast(t('toast.accessRestored'), 10000);
    accessRestored = !!a.restored;
    // A change a host made (the same access comes again after reconnects),
    // as the top bar's marks show it: a toast, but to the host who made it
    // (whose button's words changed) only a screen reader's line.
    if (!before || a.restored) return;
    for (const [key, on, off] of [['locked', 'toast.locked', 'toast.unlocked'], ['password', 'toast.passwordSet', 'toast.passwordRemoved']]) {
        if (roomAccess[key] === before[key]) continue;
        const text = t(roomAccess[key] ? on : off);
        if (accessAsked[key] === roomAccess[key]) announce(text);
        else toast(text, 5000);
        delete accessAsked[key];
    }
}

/** A host asks us to mute: the mute button's own path, then who asked. */
function onMuteRequest(m) {
    if (!entered) return;
    spaceHeld = false;
    if (roster.self().audio && media.audioTrack()) setMic(false);
    const by = roster.nameOf(m.by);
    toast(by ? t('toast.mutedBy', { name: by }) : t('toast.mutedByHost'), 5000);
}

/** A host action from a person's row in the people list. */
/**
 * Sends a request someone asked for with a button (a host's, mostly):
 * true when it went. Without a seat (the connection is down) nothing is
 * kept for later, so the page says it was not sent rather than let a
 * lock, a removal or "Asked everyone to mute" look done.
 */
function request(msg) {
    if (sig && sig.send(msg)) return true;
    toast(t('toast.notSent'), 5000);
    return false;
}

const ROW_ACTIONS = {
    'make-host': (p) => request({ type: 'role', to: p.id, role: 'host' }),
    'make-guest': (p) => request({ type: 'role', to: p.id, role: 'guest' }),
    mute: (p) => {
        // The sidecar drops a mute request to a seat without its connection.
        if (roster.get(p.id)?.away) toast(t('toast.awayNotSent', { name: p.label }));
        else if (request({ type: 'mute', to: p.id })) toast(t('toast.askedMute', { name: p.label }));
    },
    kick: async (p) => {
        const ok = await asker.ask({ title: t('host.kickTitle', { name: p.label }), text: kickText(p.label, kickBanMs), ok: t('action.kick'), danger: true, forHosts: true, about: p.id });
        if (ok !== null) request({ type: 'kick', to: p.id });
    },
};

/** One's own role changed (a peer-state about oneself). */
function selfRole(role) {
    if (!role || role === roster.self().role) return;
    roster.setSelf({ role });
    toast(t(role === 'host' ? 'toast.nowHost' : 'toast.noLongerHost'));
    if (role !== 'host') {
        // A host's question open ("Remove Cleo?") no longer applies.
        asker.cancel({ hostsOnly: true });
        dropLobby();
        recheckToasts();
    }
}

/** Forgets who waits in the lobby, and its badge: one is no host, or not in the meeting, any more. */
function dropLobby() {
    if (!lobby) return;
    lobby.clear();
    controls.setWaiting(0);
}

function onWelcome(w) {
    retrying = null;
    banner(null);
    gate.hide();
    turnTtlS = Number(w.limits && w.limits.turnTtlS) || 0;
    useIceServers(w.iceServers);
    mesh.setSelf(w.id);
    const previous = roster.selfId();
    const role = (w.self && w.self.role) || 'guest';
    // The first welcome sets the role; a later one (a reconnect) may
    // change it, said and followed like any change of it.
    roster.setSelf(entered ? { id: w.id } : { id: w.id, role });
    // With a token, the name is the server's: it came from the token.
    if (token && w.self && typeof w.self.name === 'string') roster.setSelf({ name: w.self.name });
    if (entered) selfRole(role);
    if (!entered) {
        // In: the way back is spent (until then a refusal, "full" say,
        // keeps it for Try again or a reload). A seat kept for this page
        // may have been offered links while no page held it.
        if (wayBack && wayBack.id === w.id) mesh.takeOverSeat();
        wayBack = null;
        enterMeeting();
        // A seat kept for this page ("back soon") comes back as it was
        // left; the others hear how it is now.
        syncSelf(w.self);
        reconcile(w.peers || [], 'offer');
    } else if (w.resumed) {
        // The same: offers to our seat while the connection was down were
        // lost, and so were ours; a link given up meanwhile is offered anew.
        mesh.takeOverSeat();
        syncSelf(w.self);
        reconcile(w.peers || [], 'offer');
        for (const id of roster.ids()) mesh.offer(id);
    } else {
        // The server forgot our seat (it restarted): new id, keep media.
        grid.rekey(previous, w.id);
        mesh.detachAll();
        roster.clear();
        // "Remove Cleo?" was about an id the server no longer knows.
        asker.cancel({ hostsOnly: true });
        xray.reset();
        syncSelf(w.self);
        reconcile(w.peers || [], 'greet');
    }
    document.body.dataset.sessions = String(Number(document.body.dataset.sessions || 0) + 1);
    // A way back lasts as long as the sidecar keeps a return ticket or, for
    // a page alone that said "back soon", the seat (whichever is longer).
    backMs = Math.max(Number(w.limits && w.limits.returnMs) || 0, Number(w.limits && w.limits.resumeGraceMs) || 0);
    kickBanMs = w.limits && Number.isFinite(w.limits.kickBanMs) ? w.limits.kickBanMs : null;
    chat.setLimit(w.limits && w.limits.maxChatChars);
    chat.reconnected();
    reactions.offer(w.limits && w.limits.reactions);
    xray.setLimits(w.limits);
    sampler.start();
    sampler.checkUdp(w.iceServers);
    chat.history(w.chat);
    onAccess(w.access || {}, true);
    setState('meeting');
    refreshPeople();
}

/**
 * After a welcome: what differs here from how the server knows us (server:
 * the welcome's self, the seat kept or the join just sent) goes to it.
 * After a reconnect, what the person changed while there was no seat
 * (nothing is sent then: signal.js); on a page that took back a seat kept
 * for it, how it is now (the hand, the screen, the microphone as the
 * pre-join screen left them).
 */
function syncSelf(server) {
    const me = roster.self();
    const fields = {};
    for (const k of ['name', 'audio', 'video', 'screen', 'hand']) {
        if (server && k in server && server[k] !== me[k]) fields[k] = me[k];
    }
    if (Object.keys(fields).length) sig.send({ type: 'state', ...fields });
    // A seat kept with the hand up: its time, which the answer to the
    // raise may not have brought before the connection dropped.
    if (server && server.hand && me.hand) roster.selfHandAt(server.handAt);
}

/** Makes the roster equal to list: drops the missing, adds the new. */
function reconcile(list, how) {
    const { gone, fresh, known } = roster.plan(list);
    for (const id of gone) removePeer(id, 'gone');
    for (const p of known) updatePeer(p);
    const selfId = roster.selfId();
    for (const p of fresh) addPeer(p, { greet: how === 'greet', offer: how === 'offer' || selfId > p.id });
}

function addPeer(p, { greet = false, offer = false, announce = false } = {}) {
    const fresh = roster.add(p);
    if (fresh === null) return;
    if (mesh.hasDetached()) {
        // Maybe one of our kept connections: wait a moment before a new tile.
        pendingTiles.set(p.id, setTimeout(() => showTile(p.id), 3500));
    } else {
        showTile(p.id);
    }
    if (greet) mesh.greet(p.id);
    else if (offer) mesh.offer(p.id);
    else mesh.expect(p.id);
    if (fresh && announce && !roster.cameBack(p.id)) toast(t('toast.joined', { name: roster.nameOf(p.id) }));
}

function showTile(id) {
    clearTimeout(pendingTiles.get(id));
    pendingTiles.delete(id);
    const p = roster.get(id);
    if (!p) return;
    grid.add(p);
    const stream = mesh.streamOf(id);
    if (stream && stream.getTracks().length) grid.attach(id, stream);
}

function updatePeer(p) {
    if (p.id === roster.selfId()) {
        selfRole(p.role);
        // One's own hand as the server stamped it (the others order by it).
        if (p.hand) roster.selfHandAt(p.handAt);
        return;
    }
    const before = roster.get(p.id);
    // A peer object says away only while it holds (docs/protocol.md).
    const changed = roster.update({ ...p, away: !!p.away });
    if (!changed) return;
    const now = changed.peer;
    // Back after a drop: their page offers anew; should no offer come (a
    // page of an older build), ours goes after the usual wait.
    if (before.away && !now.away && !mesh.links().some((l) => l.id === p.id)) mesh.expect(p.id);
    if (before.away !== now.away) showLost(p.id);
    const renamed = now.name !== before.name;
    if (renamed) chat.renamed(p.id, now.label);
    // Said once however often it goes up and down while it is said, and
    // not at all if it is down again by its turn in the queue.
    if (changed.raised) toast(t('toast.raised', { name: now.label }), 3000, () => !!roster.get(p.id)?.hand, { kind: handKind(p.id) });
    else if (renamed) toast(t('toast.renamed', { old: before.label, name: now.label }));
    else if (changed.role) toast(t(changed.role === 'host' ? 'toast.otherHost' : 'toast.otherGuest', { name: now.label }));
}

/** The kind of the toasts that say id raised a hand (ui.js toast). */
const handKind = (id) => `hand:${id}`;

/** id left (reason from peer-left; by: the host who removed it). */
function removePeer(id, reason, by) {
    if (id === roster.selfId()) {
        if (reason === 'replaced') leave(t('left.replaced'));
        return;
    }
    const p = roster.remove(id);
    // "Remove Cleo?" no longer applies once Cleo is gone.
    asker.cancel({ about: id });
    dropTile(id);
    mesh.close(id);
    chat.forget(id);
    xray.forget(id);
    const said = lostSaid.delete(id);
    if (!p || reason === 'gone') return;
    if (reason === 'timeout') {
        if (!said) toast(t('toast.lost', { name: p.label }));
    } else if (!by) toast(t('toast.left', { name: p.label }));
    else if (by === roster.selfId()) toast(t('toast.removedByYou', { name: p.label }));
    else if (roster.nameOf(by)) toast(t('toast.removedBy', { name: p.label, by: roster.nameOf(by) }));
    else toast(t('toast.removedByHost', { name: p.label }));
}

/**
 * id's tile and People row show what became of a link given up
 * (mesh.lostState): "Can't connect" and Try again, or "Trying again…";
 * nothing while their seat waits for them (away: "Reconnecting…" says it).
 */
function showLost(id) {
    if (!roster.get(id)?.away && grid.setLost(id, mesh.lostState(id))) refreshPeople(); // their row says it too
}

function dropTile(id) {
    clearTimeout(pendingTiles.get(id));
    pendingTiles.delete(id);
    grid.remove(id);
    levels.unwatch(id);
}

function onStream({ id, stream }) {
    if (!roster.has(id)) return;
    if (!grid.has(id)) showTile(id);
    grid.attach(id, stream);
    if (stream.getAudioTracks().length) levels.watch(id, stream);
}

function onRekey({ from, to }) {
    clearTimeout(pendingTiles.get(to));
    pendingTiles.delete(to);
    if (grid.has(to)) grid.remove(to);
    grid.rekey(from, to);
    const p = roster.get(to);
    if (p) grid.update(p);
    levels.unwatch(from);
    const stream = mesh.streamOf(to);
    if (stream) levels.watch(to, stream);
    chat.rekey(from, to);
    xray.forget(from);
}

function enterMeeting() {
    entered = true;
    tabs.entered();
    startedAt = Date.now();
    $('prejoin').hidden = true;
    $('meeting').hidden = false;
    grid = new Grid($('grid'), { retry: (id) => mesh.retry(id) });
    controls = new Controls({
        mic: toggleMic,
        cam: toggleCam,
        screen: toggleScreen,
        hand: () => sendState({ hand: !roster.self().hand }),
        leave: () => leave(),
        invite: copyInvite,
        talk: holdToTalk,
        panel: (tab, keyed) => {
            // The pane's first field takes the focus, except after a tap on
            // a touch screen: the chat's keyboard would come up over the
            // lines one opened it to read, Settings' picker get a ring.
            const focus = !touchScreen() || keyboardIn(document.body);
            if (tab === 'chat') {
                chat.seenAll();
                if (focus) chat.focus();
            } else if (tab === 'settings') {
                settings.open(roster.self().name, pickers.refresh(), focus);
            } else if (tab === 'people') {
                // Opened by a key only (after a click, Space held to talk
                // would press what has the focus): someone waiting, the
                // first Admit; else the tab, whence Tab goes into the list.
                if (keyed) ($('lobby-list').querySelector('.admit') || $('tab-people')).focus();
            } else if (tab === 'links') {
                xray.render();
                if (keyed) $('tab-links').focus();
            }
            grid.layout();
        },
    }, { canShare: canShareScreen() });
    people = new People($('people'), (p) => {
        controls.openPanel('chat');
        chat.privateTo(p);
    }, (action, p) => ROW_ACTIONS[action](p), {
        onVolume: (id, v) => grid.setVolume(id, v),
        volumeOf: (id) => grid.volume(id),
        codeOf: (id) => (mesh ? mesh.safetyCode(id) : Promise.resolve(null)),
        lostOf: (id) => (mesh ? mesh.lostState(id) : null),
    });
    settings = new Settings(media, pickers, {
        mirror: (on) => grid.setMirror(on),
        view: (on) => grid.setSpeakerView(on),
        saver: (on) => views.setSaver(on),
        quality: () => encoder && encoder.apply(),
        rename,
        error: (text) => toast(text, 5000),
    });
    if (token) settings.invited();
    grid.setMirror(settings.mirror());
    reactions = new Reactions({
        button: $('btn-react'),
        menu: $('react-menu'),
        send: (emoji) => sig.send({ type: 'react', emoji }),
        tileOf: (id) => $('grid').querySelector(`.tile[data-peer="${CSS.escape(id)}"]`),
        nameOf: (id) => roster.nameOf(id),
        isSelf: (id) => id === roster.selfId(),
        say: announce,
    });
    lobby = new Lobby({
        admit: (id) => request({ type: 'admit', id }),
        deny: (id) => request({ type: 'deny', id }),
        labelOf: (id, name) => roster.labelFor(id, name),
    });
    hostTools = new HostTools({
        muteAll: () => {
            if (request({ type: 'mute' })) toast(t('toast.askedAll'));
        },
        lock: (locked) => {
            if (request({ type: 'lock', locked })) accessAsked.locked = locked;
        },
        password: (password) => {
            if (request({ type: 'password', password })) accessAsked.password = password !== '';
        },
        end: () => request({ type: 'end' }),
    }, asker);
    xray = new XRay({
        root: $('xray-table'),
        grid,
        send: (m) => sig && sig.send(m),
        // The table names people by their labels.
        people: () => roster.listed().map((p, i) => ({ ...p, name: p.label, self: i === 0 })),
        repairStep: (id) => (typeof mesh.repairStep === 'function' ? mesh.repairStep(id) : null),
        stateOf: (id) => mesh.links().find((p) => p.id === id)?.pc.connectionState,
        isVisible: () => controls.showing('links'),
    });
    chat = new Chat({
        send: (m) => sig.send({ type: 'chat', ...m }),
        peerOf: (id) => roster.get(id),
        selfId: () => roster.selfId(),
        isVisible: () => controls.showing('chat'),
        // A line that came while the chat is not on screen is told in a
        // toast (seen and read out), until the chat is opened.
        onUnread: (n, news) => {
            controls.setUnread(n);
            if (news) toast(news, 4000, () => !controls.showing('chat'), { kind: CHAT_NEWS });
            else recheckToasts();
        },
    });
    pre.close();
    const me = roster.self();
    media.setMicEnabled(me.audio);
    grid.add(me, { local: true });
    grid.showTrack(me.id, outgoing('video'));
    levels.watch('self', media.monitor());
    media.addEventListener('track', (e) => onLocalTrack(e.detail));
    media.addEventListener('sink', (e) => grid.setSink(e.detail.id));
    media.addEventListener('screen-ended', () => screenEnded());
    showControls();
    controls.startClock(startedAt);
    // The button the focus was on (Join, or the lobby card's Cancel for
    // one let in) is gone: the focus goes to the first control, not back
    // to the start of the page.
    const f = document.activeElement;
    if (!f || !$('meeting').contains(f)) $('btn-mic').focus({ preventScroll: true });
    // A camera that answered while we were joining: the others are told now.
    followCamera();
}

/**
 * What the others get of kind ('audio', 'video') now: the one place that
 * decides, for new connections (mesh.js) and changes (sendTrack). The
 * microphone always (muted, its track is disabled: silence); the screen
 * while presenting; else the camera only while one's state says it is on.
 */
function outgoing(kind) {
    const me = roster.self();
    if (kind === 'audio') return media.audioTrack();
    if (me.screen) return media.screenTrack();
    return me.video ? media.camTrack() : null;
}

/** Puts what outgoing(kind) says on every connection (and, for video, on one's own tile). */
function sendTrack(kind) {
    mesh.setTrack(kind, outgoing(kind));
    if (kind === 'video') grid.showTrack(roster.selfId(), outgoing('video'));
}

/** The control bar after one's own state: the Camera button shows the person's choice (on while starting). */
function showControls() {
    controls.show({ ...roster.self(), video: media.cameraWanted() });
}

function onLocalTrack({ kind }) {
    if (!entered) return;
    if (kind === 'audio') {
        media.setMicEnabled(roster.self().audio);
        sendTrack('audio');
        levels.watch('self', media.monitor());
    } else {
        followCamera();
    }
}

/**
 * The camera's track came, went or changed device: one's state follows
 * it (the others are told) and the senders carry it, or nothing.
 */
function followCamera() {
    const on = !!media.camTrack();
    if (on !== roster.self().video) sendState({ video: on });
    else sendTrack('video');
}

function sendState(fields) {
    roster.setSelf(fields);
    sig.send({ type: 'state', ...fields });
    if ('video' in fields || 'screen' in fields) sendTrack('video');
    showControls();
}

/**
 * ICE servers from the sidecar (a welcome's, or renewed): the links use
 * them, and halfway through their TURN credentials' lifetime the page
 * asks for fresh ones (an ice message), so that a link made or repaired
 * later in a long meeting can still be relayed.
 */
function useIceServers(list) {
    mesh.setIceServers(list);
    clearTimeout(iceTimer);
    const ms = iceRenewDelay(list, turnTtlS);
    if (ms) iceTimer = setTimeout(() => askIce(Math.min(ms, ICE_RETRY_MS)), ms);
}

// How long an ice request may go unanswered (not sent while reconnecting,
// refused, or lost) before the page asks again.
const ICE_RETRY_MS = 30000;

/** Asks for fresh ICE servers, and again every retryMs until they come (useIceServers). */
function askIce(retryMs) {
    if (sig) sig.send({ type: 'ice' });
    iceTimer = setTimeout(() => askIce(retryMs), retryMs);
}

/** Tells the person text: a toast in the meeting, the pre-join screen's line before. */
function tell(text) {
    if (entered) toast(text, 6000);
    else pre.message(text);
}

/**
 * A device went away under its track (media.js): a microphone replaced by
 * another is named; one that was not leaves one muted, as the others
 * then see; a camera is off (followCamera told them).
 */
function deviceLost({ kind, track }) {
    if (kind === 'video') {
        tell(t('toast.camLost'));
    } else if (track) {
        tell(t('toast.micSwitched', { device: track.label || t('device.defaultMic') }));
    } else {
        if (entered && roster.self().audio) setMic(false);
        tell(t('toast.micLost'));
    }
}

/** A new name from the settings (already cleaned): sent, shown, remembered. */
function rename(name) {
    if (name === roster.self().name) return;
    sendState({ name });
    rememberName(name);
    // As the tiles show it: tagged when someone here has a name alike.
    toast(t('toast.youAre', { name: roster.self().label }));
}

// Whether the microphone is on only while Space is held: letting it go mutes again.
let spaceHeld = false;

/**
 * Space held (push to talk) or let go: while muted, the microphone is on
 * for as long as Space is held. Muting or unmuting by hand meanwhile is
 * the person's choice and stays.
 */
function holdToTalk(held) {
    if (!entered) return;
    if (held && !roster.self().audio && media.audioTrack()) {
        spaceHeld = true;
        setMic(true);
    } else if (!held && spaceHeld) {
        spaceHeld = false;
        setMic(false);
    }
}

async function toggleMic() {
    spaceHeld = false;
    if (media.audioTrack()) {
        setMic(!roster.self().audio);
        return;
    }
    // None (one was unplugged, or there was none at the start): one
    // plugged in since is taken, on.
    if (!media.denied() && await media.wantMic()) {
        setMic(true);
        return;
    }
    toast(t(media.denied() ? 'toast.micBlocked' : 'toast.noMic'));
}

function setMic(on) {
    media.setMicEnabled(on);
    sendState({ audio: on });
}

/**
 * Camera on or off, as the person asks (a second click while it starts
 * turns it off again): the button follows at once, one's state and the
 * senders once the camera answers (followCamera).
 */
async function toggleCam() {
    const started = media.setCamera(!media.cameraWanted());
    showControls();
    if (await started) return;
    toast(t(media.denied() ? 'toast.camBlocked' : 'toast.noCam'));
    showControls();
}

async function toggleScreen() {
    if (roster.self().screen) {
        media.stopScreen();
        return;
    }
    try {
        if (await media.startScreen()) sendState({ screen: true });
    } catch (err) {
        console.warn('huddle: screen sharing failed:', err.name);
        toast(t('toast.shareFailed'), 5000);
    }
}

function screenEnded() {
    sendState({ screen: false });
}

/** Ends the session: signalling, connections, devices, tiles. */
function endSession() {
    tabs.left();
    // A question open (a host's "Remove Cleo?") would stay over what comes next.
    asker.cancel();
    clearTimeout(iceTimer);
    if (sig) sig.leave();
    if (sampler) sampler.stop();
    if (mesh) mesh.closeAll();
    media.stopAll();
    levels.close();
    if (grid) grid.clear();
    // Nobody waits on this page any more, and news of the meeting (a
    // knock, a chat line) would play over the screen that follows.
    dropLobby();
    clearToasts();
    banner(null);
}

/** The way back of this page now (while its socket holds the seat), or null. */
function wayBackNow() {
    const resume = sig && sig.wayBack;
    if (!resume) return null;
    const me = roster.self();
    // A microphone on only while Space is held comes back muted.
    return {
        resume,
        attempt: sig.resumeAttempt,
        id: me.id,
        audio: me.audio && !spaceHeld,
        video: me.video,
        until: Date.now() + backMs,
    };
}

/**
 * The way back this page was given, not spent by a welcome yet (a join
 * still trying, or knocking), with the number of the last resume sent of
 * it; null when none.
 */
function unspentWayBack() {
    if (!wayBack) return null;
    return { ...wayBack, attempt: Math.max(wayBack.attempt, sig ? sig.resumeAttempt : 0) };
}

/** Gives the signalling up before a welcome (a refusal, Try again); Join starts anew, with the way back as it is now. */
function dropSignaling() {
    wayBack = unspentWayBack();
    if (sig) sig.leave();
    sig = null;
}

/** Leave (the button; text: why, when it was not the person's doing). */
function leave(text) {
    // Rejoin loads the page again: after the button, it goes back in as before.
    if (!text) keepWayBack(tabStorage(), room, wayBackNow());
    endSession();
    $('meeting').hidden = true;
    $('prejoin').hidden = true;
    $('left').hidden = false;
    if (text) $('left-text').textContent = text;
    else if (startedAt) $('left-text').textContent = stayText(room, Date.now() - startedAt);
    $('rejoin').href = location.href;
    setState('left');
    $('left-title').focus(); // the Leave button went with the meeting: a screen reader reads the card
}

async function copyInvite() {
    const url = `${location.origin}${location.pathname}`;
    try {
        await navigator.clipboard.writeText(url);
        // The link holds no invitation (takeToken kept it out): with one,
        // each person needs their own.
        toast(t(token ? 'toast.copiedInvitation' : 'toast.copied'));
    } catch {
        // The browser refused (no permission, not a secure page): the link
        // is shown selected, to copy by hand, and stays until closed.
        await asker.ask({ title: t('invite.title'), text: t(token ? 'invite.copyInvitation' : 'invite.copyYourself'), field: t('invite.link'), value: url });
    }
}

/**
 * The language picker chose code: remembered, loaded, and the page's words
 * change in place (what was already said, toasts and chat lines, stays).
 */
async function switchLanguage(code) {
    rememberLanguage(localStore(), code);
    await loadLanguage(code);
    translatePage();
    for (const sel of [$('pre-lang'), $('set-lang')]) sel.value = lang();
    pre.relabel();
    if (!entered) return;
    refreshPeople();
    hostTools.relabel();
    lobby.relabel();
    controls.setWaiting(lobby.size);
    chat.relabel();
    reactions.relabel();
    settings.relabel();
    xray.show();
    pickers.refresh();
}

/** The tiles, the people list and the count, after any change to the roster. */
function refreshPeople() {
    if (!people) return;
    // One person's arrival, departure or rename can change another's label:
    // every tile and row is drawn from the same copies.
    const everyone = roster.listed();
    for (const p of everyone) grid.update(p);
    people.render(everyone, roster.hands());
    grid.setAlone(roster.size === 0);
    controls.setCount(roster.size + 1);
    hostTools.setHost(roster.isHost());
    if (xray) xray.show();
}

/** Audio levels: the pre-join meter, and the loudest tile highlighted. */
function onLevels(lv) {
    if (!entered) {
        pre.meter(lv.level('preview'));
        return;
    }
    const me = roster.self();
    const now = Date.now();
    const best = lv.loudest(0.12, me.audio ? null : 'self');
    speaker = holdSpeaker(speaker, best === 'self' ? me.id : best, now);
    grid.setSpeaker(roster.size > 0 ? speaker.id : null);
    // 'self' hears the microphone even while muted (media.monitor()); nothing is sent.
    const talking = !me.audio && !!media.audioTrack() && lv.level('self') > 0.12;
    mutedTalk = holdSpeaker(mutedTalk, talking ? 'self' : null, now, 2500);
    controls.setMutedHint(!me.audio && mutedTalk.id !== null);
    if (controls.showing('settings')) settings.meter(lv.level('self'));
}
