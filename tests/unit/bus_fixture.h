/* A complete bus_config for the bus tests, which each test then shortens;
 * url and node_id are the test's. Test values only: the sidecar's defaults
 * live in one place, the table of sidecar/main.c (docs/config.md). */
#ifndef HUDDLE_BUS_FIXTURE_H
#define HUDDLE_BUS_FIXTURE_H

#include "bus.h"

static inline void bus_test_config(struct bus_config *c)
{
    *c = (struct bus_config){
        .node_ttl_ms = 10000,
        .heartbeat_ms = 3000,
        .reaper_ms = 5000,
        .ping_ms = 1000,
        .ping_timeout_ms = 3000,
        .backoff_min_ms = 100,
        .backoff_max_ms = 5000,
        .max_peers = 8,
        .room_ttl_ms = 600000,
        .chat_max = 50,
        .history_max_bytes = 64L << 20,
        .resume_grace_ms = 15000,
    };
}

#endif
