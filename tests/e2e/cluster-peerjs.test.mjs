// The PeerJS browser tests (peerjs.test.mjs) again over two sidecars
// sharing a real redis-server behind nginx: the two calling peers sit on
// different sidecars (asserted there), and still see each other's video
// and exchange text over a data connection.
process.env.HUDDLE_TEST_SIDECARS = '2';
await import('./peerjs.test.mjs');
