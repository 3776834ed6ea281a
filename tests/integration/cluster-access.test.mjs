// The access tests of the single sidecar (sidecar-access.test.mjs), run
// again with three sidecars sharing a real redis-server: a host, its guests
// and those knocking sit on different sidecars, so the roles, the lobby,
// the lock, the password, removals and their bans all cross nodes. The
// tests at the end of that file, which need several sidecars, run too.
process.env.HUDDLE_TEST_SIDECARS = '3';
await import('./sidecar-access.test.mjs');
