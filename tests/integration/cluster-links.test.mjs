// The links tests of the single sidecar (sidecar-links.test.mjs), run again
// with two sidecars sharing a real redis-server: each new client connects to
// the next sidecar in turn, so every relayed links crosses nodes.
process.env.HUDDLE_TEST_SIDECARS = '2';
await import('./sidecar-links.test.mjs');
