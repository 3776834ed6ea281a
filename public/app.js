// huddle's room page: wires the pre-join screen, the signalling client, the
// mesh, the grid, the chat and the controls together. Each concern lives in
// its own module; this one only reacts to their events.
import { Signaling, socketUrl } from './signal.js';
import { Mesh } from './mesh.js';
import { Media, Levels, canShareScreen } from './media.js';
import { Grid, People, toast, banner } from './ui.js';
import { Chat } from './chat.js';
import { PreJoin } from './prejoin.js';
import { hydrateIcons, setIcon } from './icons.js';

const $ = (id) => document.getElementById(id);
const room = document.querySelector('meta[name="huddle-room"]').content;
const me = { id: '', name: '', audio: false, video: false, screen: false, hand: false };
const roster = new Map();
const pendingTiles = new Map();
const media = new Media();
const levels = new Levels(onLevels);
const pre = new PreJoin(media, levels);
let sig = null;
let mesh = null;
let grid = null;
let chat = null;
let people = null;
let entered = false;
let joining = false;
let startedAt = 0;
let speaker = { id: null, until: 0 };

function setState(s) {
    document.body.dataset.state = s;
}

hydrateIcons();
document.addEventListener('huddle-icons', () => hydrateIcons());
setState('prejoin');
if (!canShareScreen()) $('btn-screen').hidden = true;
$('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    join();
});
$('pre-copy').addEventListener('click', copyInvite);
const devicesReady = pre.start();
// Browsers start audio only after a gesture: the level meter wakes on the first one.
for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, () => levels.ensureContext(), { once: true });

async function join() {
    if (sig) {
        sig.retryNow();
        return;
    }
    const name = pre.takeName();
    if (!name || joining) return;
    joining = true;
    pre.busy(true, 'Joining…');
    // A click before the camera answered waits for it (or its refusal).
    await devicesReady;
    joining = false;
    me.name = name;
    me.audio = pre.audio && !!media.mic;
    me.video = pre.video && !!media.cam;
    levels.ensureContext();
    setState('joining');
    mesh = new Mesh({ send: (to, data) => sig.send({ type: 'signal', to, data }), media });
    mesh.addEventListener('stream', (e) => onStream(e.detail));
    mesh.addEventListener('rekey', (e) => onRekey(e.detail));
    mesh.addEventListener('gone', (e) => dropTile(e.detail.id));
    mesh.addEventListener('failed', (e) => {
        const p = roster.get(e.detail.id);
        dropTile(e.detail.id);
        if (p) toast(`Lost the connection to ${p.name}`);
    });
    sig = new Signaling(socketUrl(), () => ({ room, name: me.name, audio: me.audio, video: me.video }));
    sig.on('welcome', onWelcome)
        .on('peer-joined', (m) => m.peer && addPeer(m.peer, { greet: false, announce: true }))
        .on('peer-left', (m) => removePeer(m.id, m.reason))
        .on('peer-state', (m) => m.peer && updatePeer(m.peer))
        .on('roster', (m) => reconcile(m.peers || [], false))
        .on('signal', (m) => mesh.signal(m.from, m.data))
        .on('chat', (m) => chat && chat.add(m))
        .on('error', onError)
        .on('down', onDown);
    sig.connect();
}

function onDown({ delay }) {
    const secs = Math.max(1, Math.round(delay / 1000));
    if (!entered) {
        pre.message(`Can't reach the meeting server. Retrying in ${secs} s…`);
        pre.busy(false, 'Retry now');
        return;
    }
    setState('reconnecting');
    banner('Connection lost. Reconnecting… your call continues meanwhile.');
}

function onError(m) {
    if (m.code === 'room-full' || m.code === 'invalid-room') {
        const text = m.code === 'room-full'
            ? 'This meeting is full. Try again later or start a new one.'
            : 'This meeting link is not valid.';
        if (!entered) {
            sig.leave();
            sig = null;
            pre.message(text);
            pre.busy(false);
            setState('prejoin');
        } else {
            toast(text, 6000);
        }
    } else if (m.code === 'rate-limited') {
        toast('Slow down a little: too many messages.');
    } else if (m.code === 'unavailable') {
        toast('The server is busy; trying again…');
    } else {
        console.warn('huddle: server said', m.code, m.message);
    }
}

function onWelcome(w) {
    banner(null);
    mesh.iceServers = Array.isArray(w.iceServers) ? w.iceServers : [];
    mesh.setSelf(w.id);
    const previous = me.id;
    me.id = w.id;
    if (!entered) {
        enterMeeting();
        reconcile(w.peers || [], 'offer');
    } else if (w.resumed) {
        reconcile(w.peers || [], 'offer');
    } else {
        // The server forgot our seat (it restarted): new id, keep media.
        grid.rekey(previous, me.id);
        mesh.detachAll();
        for (const id of [...roster.keys()]) roster.delete(id);
        if (me.screen || me.hand) sig.send({ type: 'state', screen: me.screen, hand: me.hand });
        reconcile(w.peers || [], 'greet');
    }
    document.body.dataset.sessions = String(Number(document.body.dataset.sessions || 0) + 1);
    chat.history(w.chat);
    setState('meeting');
    refreshPeople();
}

/** Makes the roster equal to list: drops the missing, adds the new. */
function reconcile(list, how) {
    const ids = new Set(list.map((p) => p.id));
    for (const id of [...roster.keys()]) if (!ids.has(id)) removePeer(id, 'gone');
    for (const p of list) {
        if (roster.has(p.id)) updatePeer(p);
        else addPeer(p, { greet: how === 'greet', offer: how === 'offer' || me.id > p.id });
    }
}

function addPeer(p, { greet = false, offer = false, announce = false } = {}) {
    if (!p.id || p.id === me.id) return;
    const fresh = !roster.has(p.id);
    roster.set(p.id, { ...p });
    if (mesh.detached.size) {
        // Maybe one of our kept connections: wait a moment before a new tile.
        pendingTiles.set(p.id, setTimeout(() => showTile(p.id), 3500));
    } else {
        showTile(p.id);
    }
    if (greet) mesh.greet(p.id);
    else if (offer) mesh.offer(p.id);
    else mesh.expect(p.id);
    if (fresh && announce) toast(`${p.name} joined`);
    refreshPeople();
}

function showTile(id) {
    clearTimeout(pendingTiles.get(id));
    pendingTiles.delete(id);
    const p = roster.get(id);
    if (!p) return;
    grid.add(p);
    const peer = mesh.peers.get(id);
    if (peer && peer.stream.getTracks().length) grid.attach(id, peer.stream);
}

function updatePeer(p) {
    const cur = roster.get(p.id);
    if (!cur) return;
    if (cur.hand === false && p.hand) toast(`${p.name} raised a hand`);
    Object.assign(cur, p);
    grid.update(cur);
    refreshPeople();
}

function removePeer(id, reason) {
    const p = roster.get(id);
    if (id === me.id) {
        if (reason === 'replaced') leave('You joined this meeting from another tab or device.');
        return;
    }
    roster.delete(id);
    dropTile(id);
    mesh.close(id);
    chat.forget(id);
    if (p && reason !== 'gone') toast(`${p.name} left`);
    refreshPeople();
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
    const peer = mesh.peers.get(to);
    if (peer) levels.watch(to, peer.stream);
    chat.rekey(from, to);
}

function enterMeeting() {
    entered = true;
    startedAt = Date.now();
    $('prejoin').hidden = true;
    $('meeting').hidden = false;
    grid = new Grid($('grid'));
    people = new People($('people'), (p) => {
        openPanel('chat');
        chat.privateTo(p);
    });
    chat = new Chat({
        send: (m) => sig.send({ type: 'chat', ...m }),
        nameOf: (id) => (roster.get(id) || {}).name || null,
        selfId: () => me.id,
        isVisible: () => !$('panel').hidden && !$('chat-pane').hidden,
        onUnread: (n) => {
            $('unread').hidden = n === 0;
            $('unread').textContent = n > 9 ? '9+' : String(n);
        },
    });
    pre.video_el.srcObject = null;
    levels.unwatch('preview');
    media.setMicEnabled(me.audio);
    if (!me.video) media.setCamera(false);
    grid.add({ ...me }, { local: true });
    showLocal();
    if (media.mic) levels.watch('self', media.stream);
    media.addEventListener('track', (e) => onLocalTrack(e.detail));
    media.addEventListener('screen-ended', () => screenEnded());
    wireControls();
    refreshControls();
    setInterval(tick, 1000);
    tick();
}

function showLocal() {
    const v = media.videoTrack();
    const t = grid.tiles.get(me.id);
    if (!t) return;
    t.video.srcObject = v ? new MediaStream([v]) : null;
    if (v) t.video.play().catch(() => {});
    grid.update({ ...me });
}

function onLocalTrack({ kind }) {
    if (!entered) return;
    if (kind === 'audio') {
        mesh.setTrack('audio', media.audioTrack());
        if (media.mic) media.mic.enabled = me.audio;
        levels.watch('self', media.stream);
    } else if (!me.screen) {
        mesh.setTrack('video', media.videoTrack());
        showLocal();
    }
}

function sendState(fields) {
    Object.assign(me, fields);
    sig.send({ type: 'state', ...fields });
    grid.update({ ...me });
    refreshControls();
    refreshPeople();
}

function toggleMic() {
    if (!media.mic) {
        toast(media.denied ? 'The microphone is blocked by the browser.' : 'No microphone available.');
        return;
    }
    media.setMicEnabled(!me.audio);
    sendState({ audio: !me.audio });
}

async function toggleCam() {
    if (!me.video) {
        const ok = await media.setCamera(true);
        if (!ok) {
            toast(media.denied ? 'The camera is blocked by the browser.' : 'No camera available.');
            return;
        }
        sendState({ video: true });
    } else {
        await media.setCamera(false);
        sendState({ video: false });
    }
}

async function toggleScreen() {
    if (me.screen) {
        media.stopScreen();
        return;
    }
    const track = await media.startScreen();
    if (!track) return;
    mesh.setTrack('video', track);
    sendState({ screen: true });
    showLocal();
}

function screenEnded() {
    mesh.setTrack('video', media.cam);
    sendState({ screen: false });
    showLocal();
}

function leave(text) {
    if (sig) sig.leave();
    if (mesh) mesh.closeAll();
    media.stopAll();
    levels.close();
    if (grid) grid.clear();
    $('meeting').hidden = true;
    $('prejoin').hidden = true;
    $('left').hidden = false;
    banner(null);
    if (text) {
        $('left-text').textContent = text;
    } else if (startedAt) {
        const min = Math.round((Date.now() - startedAt) / 60000);
        $('left-text').textContent = `Thanks for joining. You were in ${room} for ${min < 1 ? 'less than a minute' : `${min} min`}.`;
    }
    $('rejoin').href = location.href;
    setState('left');
}

async function copyInvite() {
    const url = `${location.origin}${location.pathname}`;
    try {
        await navigator.clipboard.writeText(url);
        toast('Invite link copied');
    } catch {
        toast(`Invite link: ${url}`, 8000);
    }
}

function openPanel(tab) {
    const panel = $('panel');
    const same = !panel.hidden && ((tab === 'chat') === !$('chat-pane').hidden);
    if (same) {
        panel.hidden = true;
    } else {
        panel.hidden = false;
        $('chat-pane').hidden = tab !== 'chat';
        $('people-pane').hidden = tab !== 'people';
        $('tab-chat').setAttribute('aria-selected', String(tab === 'chat'));
        $('tab-people').setAttribute('aria-selected', String(tab === 'people'));
        if (tab === 'chat') {
            chat.seenAll();
            $('chat-input').focus();
        }
    }
    $('btn-chat').setAttribute('aria-pressed', String(!panel.hidden && tab === 'chat' && !same));
    $('btn-people').setAttribute('aria-pressed', String(!panel.hidden && tab === 'people' && !same));
    grid.layout();
}

function wireControls() {
    $('btn-mic').addEventListener('click', toggleMic);
    $('btn-cam').addEventListener('click', toggleCam);
    $('btn-screen').addEventListener('click', toggleScreen);
    $('btn-hand').addEventListener('click', () => sendState({ hand: !me.hand }));
    $('btn-leave').addEventListener('click', () => leave());
    $('btn-invite').addEventListener('click', copyInvite);
    $('people-invite').addEventListener('click', copyInvite);
    $('btn-chat').addEventListener('click', () => openPanel('chat'));
    $('btn-people').addEventListener('click', () => openPanel('people'));
    $('tab-chat').addEventListener('click', () => openPanel('chat'));
    $('tab-people').addEventListener('click', () => openPanel('people'));
    $('panel-close').addEventListener('click', () => {
        $('panel').hidden = true;
        $('btn-chat').setAttribute('aria-pressed', 'false');
        $('btn-people').setAttribute('aria-pressed', 'false');
        grid.layout();
    });
    document.addEventListener('keydown', onKey);
    window.addEventListener('pagehide', () => { if (sig) sig.leave(); });
}

function typing(t) {
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
}

function onKey(e) {
    if ($('meeting').hidden) return;
    const mod = e.ctrlKey || e.metaKey;
    const k = e.key.toLowerCase();
    if (mod && !e.altKey && !e.shiftKey && (k === 'd' || k === 'e')) {
        e.preventDefault();
        if (k === 'd') toggleMic();
        else toggleCam();
        return;
    }
    if (mod || e.altKey || typing(e.target)) return;
    const act = { m: toggleMic, v: toggleCam, h: () => sendState({ hand: !me.hand }), c: () => openPanel('chat') }[k];
    if (act) {
        e.preventDefault();
        act();
    }
}

function refreshControls() {
    const set = (id, on, iconOn, iconOff, labelOn, labelOff, offIsBad) => {
        const b = $(id);
        b.setAttribute('aria-pressed', String(offIsBad ? !on : on));
        b.classList.toggle('off', offIsBad && !on);
        b.classList.toggle('active', !offIsBad && on);
        setIcon(b, on ? iconOn : iconOff);
        b.querySelector('.lbl').textContent = on ? labelOn : labelOff;
    };
    set('btn-mic', me.audio, 'mic', 'mic-off', 'Mute', 'Unmute', true);
    set('btn-cam', me.video, 'cam', 'cam-off', 'Stop video', 'Start video', true);
    set('btn-screen', me.screen, 'screen', 'screen', 'Stop share', 'Share', false);
    set('btn-hand', me.hand, 'hand', 'hand', 'Lower', 'Raise', false);
}

function refreshPeople() {
    if (!people) return;
    people.render({ ...me }, roster.values());
    const n = String(roster.size + 1);
    $('count').textContent = n;
    $('people-count').textContent = n;
}

function tick() {
    const s = Math.floor((Date.now() - startedAt) / 1000);
    const hh = Math.floor(s / 3600);
    const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
    const ss = String(s % 60).padStart(2, '0');
    $('clock').textContent = hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Audio levels: the pre-join meter, and the loudest tile highlighted. */
function onLevels(lv) {
    if (!entered) {
        pre.meter(lv.level('preview'));
        return;
    }
    let best = null;
    let bestLevel = 0.12;
    for (const key of lv.nodes.keys()) {
        const v = lv.level(key);
        if (key === 'self' && !me.audio) continue;
        if (v > bestLevel) {
            best = key;
            bestLevel = v;
        }
    }
    const now = Date.now();
    const id = best === 'self' ? me.id : best;
    if (id) speaker = { id, until: now + 900 };
    else if (now > speaker.until) speaker = { id: null, until: 0 };
    for (const t of grid.tiles.values()) grid.speaking(t.id, t.id === speaker.id && roster.size > 0);
}
