// The flow of the video-call tutorial built on PeerJS ("call on user
// connected"), unchanged but for where the Peer points: huddle's /peerjs
// at the host and port the page's query names (an app served from its own
// origin, as the tutorial's is). The tutorial learns of a new user through
// its own socket.io server; here the test calls connectToNewUser. A data
// connection carries text both ways. State for the test: window.demo.
/* global Peer */
const params = new URLSearchParams(location.search);
const demo = { id: null, errors: [], texts: [], open: [], calls: 0 };
window.demo = demo;

const grid = document.getElementById('grid');
const myPeer = new Peer(params.get('id') || undefined, {
    host: params.get('host'),
    port: Number(params.get('port')),
    path: '/peerjs',
    key: 'peerjs',
});
const conns = new Map();

function addVideoStream(name, stream, local) {
    const tile = document.createElement('div');
    tile.className = local ? 'tile local' : 'tile';
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = stream;
    video.addEventListener('loadedmetadata', () => video.play());
    const label = document.createElement('div');
    label.className = 'name';
    label.textContent = name;
    tile.append(video, label);
    grid.append(tile);
}

function setupData(conn) {
    conns.set(conn.peer, conn);
    conn.on('open', () => demo.open.push(conn.peer));
    conn.on('data', (d) => demo.texts.push(`${conn.peer}: ${d}`));
}

myPeer.on('open', (id) => { demo.id = id; });
myPeer.on('error', (err) => { demo.errors.push(err.type); });
myPeer.on('connection', setupData);

const media = navigator.mediaDevices.getUserMedia({ video: true, audio: true }).then((stream) => {
    addVideoStream('me', stream, true);
    myPeer.on('call', (call) => {
        demo.calls += 1;
        call.answer(stream);
        call.on('stream', (s) => addVideoStream(call.peer, s, false));
    });
    return stream;
});

window.connectToNewUser = async (userId) => {
    const stream = await media;
    const call = myPeer.call(userId, stream);
    call.on('stream', (s) => addVideoStream(userId, s, false));
};

window.openData = (userId) => setupData(myPeer.connect(userId));

window.sendText = (userId, text) => conns.get(userId).send(text);
