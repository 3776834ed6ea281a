// The protocol tests of the single sidecar (sidecar-protocol.test.mjs), run
// again with three sidecars sharing a real redis-server: each new client
// connects to the next sidecar in turn, so presence, chat, signal, state and
// history all cross nodes.
process.env.HUDDLE_TEST_SIDECARS = '3';
await import('./sidecar-protocol.test.mjs');
