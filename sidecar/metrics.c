#include "metrics.h"

#include <stdlib.h>
#include <string.h>

struct metrics metrics;

static const char *const out_names[MET_OUT_N] = {
    [MET_OUT_WELCOME] = "welcome",
    [MET_OUT_PEER_JOINED] = "peer-joined",
    [MET_OUT_PEER_LEFT] = "peer-left",
    [MET_OUT_PEER_STATE] = "peer-state",
    [MET_OUT_ROSTER] = "roster",
    [MET_OUT_SIGNAL] = "signal",
    [MET_OUT_CHAT] = "chat",
    [MET_OUT_PONG] = "pong",
    [MET_OUT_ERROR] = "error",
    [MET_OUT_KNOCKING] = "knocking",
    [MET_OUT_LOBBY] = "lobby",
    [MET_OUT_ACCESS] = "access",
    [MET_OUT_MUTE_REQUEST] = "mute-request",
    [MET_OUT_ENDED] = "ended",
    [MET_OUT_REACTION] = "reaction",
    [MET_OUT_LINKS] = "links",
    [MET_OUT_ICE] = "ice",
    [MET_OUT_OTHER] = "other",
};

static const char *const close_names[MET_CLOSE_N] = {
    [MET_CLOSE_CLIENT] = "client",
    [MET_CLOSE_DROPPED] = "dropped",
    [MET_CLOSE_NO_PONG] = "no-pong",
    [MET_CLOSE_JOIN_TIMEOUT] = "join-timeout",
    [MET_CLOSE_REPLACED] = "replaced",
    [MET_CLOSE_SLOW_CONSUMER] = "slow-consumer",
    [MET_CLOSE_KICKED] = "kicked",
    [MET_CLOSE_PROTOCOL] = "protocol",
    [MET_CLOSE_DRAIN] = "drain",
    [MET_CLOSE_OTHER] = "other",
};

enum metrics_out metrics_out_type(const char *json, size_t len)
{
    static const char head[] = "{\"type\":\"";
    size_t h = sizeof head - 1;

    if (len <= h || memcmp(json, head, h) != 0)
        return MET_OUT_OTHER;
    for (int i = 0; i < MET_OUT_OTHER; i++) {
        size_t n = strlen(out_names[i]);
        if (len > h + n && memcmp(json + h, out_names[i], n) == 0 &&
            json[h + n] == '"')
            return (enum metrics_out)i;
    }
    return MET_OUT_OTHER;
}

static void head(struct sb *b, const char *name, const char *type,
                 const char *help)
{
    sb_printf(b, "# HELP huddle_sidecar_%s %s\n", name, help);
    sb_printf(b, "# TYPE huddle_sidecar_%s %s\n", name, type);
}

static void gauge(struct sb *b, const char *name, const char *help, uint64_t v)
{
    head(b, name, "gauge", help);
    sb_printf(b, "huddle_sidecar_%s %llu\n", name, (unsigned long long)v);
}

/* A counter family: one line per label value. */
static void family(struct sb *b, const char *name, const char *help,
                   const char *label, const char *const *names,
                   const uint64_t *v, size_t n)
{
    head(b, name, "counter", help);
    for (size_t i = 0; i < n; i++)
        sb_printf(b, "huddle_sidecar_%s{%s=\"%s\"} %llu\n", name, label,
                  names[i], (unsigned long long)v[i]);
}

char *metrics_render(const struct metrics *m, const struct metrics_gauges *g,
                     size_t *len)
{
    struct sb b = {0};
    const char *in_names[METRICS_IN_N];
    const char *code_names[MSG_CODE_COUNT];

    for (int i = 0; i < MSG_TYPE_COUNT; i++)
        in_names[i] = msg_type_name((enum msg_type)i);
    in_names[METRICS_IN_INVALID] = "invalid";
    for (int i = 0; i < MSG_CODE_COUNT; i++)
        code_names[i] = msg_code_name((enum msg_code)i);
    gauge(&b, "connections", "Open websocket connections.", g->connections);
    gauge(&b, "peers", "Seats held here with a connection.", g->peers);
    gauge(&b, "peers_in_grace", "Seats held here waiting for a resume.",
          g->grace);
    gauge(&b, "rooms", "Rooms in memory.", g->rooms);
    gauge(&b, "send_queue_bytes", "Bytes waiting in all send queues.",
          g->queued_bytes);
    gauge(&b, "client_addresses",
          "Client addresses with a connection or an upgrade here.",
          g->addresses);
    if (g->redis >= 0)
        gauge(&b, "redis_connected", "1 while connected to Redis.",
              (uint64_t)g->redis);
    gauge(&b, "draining", "1 once SIGTERM started a drain.", g->draining);
    family(&b, "messages_in_total", "Client messages by type.", "type",
           in_names, m->in, METRICS_IN_N);
    family(&b, "messages_out_total",
           "Server messages queued, by type, per recipient.", "type", out_names,
           m->out, MET_OUT_N);
    family(&b, "errors_total", "Error messages sent, by code.", "code",
           code_names, m->errors, MSG_CODE_COUNT);
    family(&b, "closes_total", "Websocket connections ended, by reason.",
           "reason", close_names, m->closes, MET_CLOSE_N);
    head(&b, "joins_total", "counter", "Seats taken by a join.");
    sb_printf(&b, "huddle_sidecar_joins_total %llu\n",
              (unsigned long long)m->joins);
    head(&b, "resumes_total", "counter", "Seats taken back by a resume.");
    sb_printf(&b, "huddle_sidecar_resumes_total %llu\n",
              (unsigned long long)m->resumes);
    *len = b.len;
    return sb_take(&b);
}
