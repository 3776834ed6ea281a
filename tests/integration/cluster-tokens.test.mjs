// The join-token tests of the single sidecar (sidecar-tokens.test.mjs), run
// again with each kind of key on three sidecars sharing a real
// redis-server: a token is checked on one sidecar and the room it opens,
// with its hosts, lives on all. The tests at the end of that file, which
// need several sidecars, run too.
process.env.HUDDLE_TEST_SIDECARS = '3';
await import('./sidecar-tokens.test.mjs');
