// The browser tests of hosts, the lobby, passwords, removal, mute requests
// and ending a meeting (access.test.mjs), run again with three sidecars
// sharing a real redis-server behind the real nginx: the host, the one who
// knocks, the one removed and the others in a room sit on different
// sidecars, and each test proves it from the sidecars' logs.
process.env.HUDDLE_TEST_SIDECARS = '3';
await import('./access.test.mjs');
