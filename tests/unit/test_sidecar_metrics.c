/* sidecar/metrics.c: the name tables and the Prometheus text. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"
#include "msg.h"

/* Returns true when text has line as one whole line. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p += n)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

TEST(out_type_is_read_from_the_type_field_of_built_messages)
{
    struct out_msg *m = msg_peer_left("abc", "left");
    CHECK(m != NULL && m->type == MET_OUT_PEER_LEFT);
    out_msg_unref(m);
    m = msg_error(MSG_E_BAD_JSON, "no", NULL, NULL);
    CHECK(m != NULL && m->type == MET_OUT_ERROR);
    out_msg_unref(m);
    m = msg_pong(NULL);
    CHECK(m != NULL && m->type == MET_OUT_PONG);
    out_msg_unref(m);
    static const char roster[] = "{\"type\":\"roster\",\"peers\":[]}";
    CHECK(metrics_out_type(roster, sizeof roster - 1) == MET_OUT_ROSTER);
}

TEST(out_type_needs_the_whole_name_and_the_exact_prefix)
{
    static const char *const others[] = {
        "{\"type\":\"peer\"}",    "{\"type\":\"chatter\"}",
        "{ \"type\":\"chat\"}",   "{\"type\":\"chat",
        "{\"kind\":\"chat\"}",    "",
        "{\"type\":\"x-moved\"}",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        CHECK(metrics_out_type(others[i], strlen(others[i])) == MET_OUT_OTHER);
    static const char chat[] = "{\"type\":\"chat\",\"text\":\"hi\"}";
    CHECK(metrics_out_type(chat, sizeof chat - 1) == MET_OUT_CHAT);
}

TEST(errors_are_rendered_under_every_protocol_code_name)
{
    struct metrics m = {0};
    struct metrics_gauges g = {0};
    size_t len;
    char line[96];

    m.errors[MSG_E_RATE_LIMITED] = 7;
    char *t = metrics_render(&m, &g, &len);
    CHECK(t != NULL);
    for (int i = 0; t != NULL && i < MSG_CODE_COUNT; i++) {
        snprintf(
            line, sizeof line, "huddle_sidecar_errors_total{code=\"%s\"} %d",
            msg_code_name((enum msg_code)i), i == MSG_E_RATE_LIMITED ? 7 : 0);
        CHECK(has_line(t, line));
    }
    free(t);
}

TEST(render_writes_help_type_and_values_of_every_family)
{
    struct metrics m = {0};
    struct metrics_gauges g = {.connections = 3,
                               .peers = 2,
                               .grace = 1,
                               .rooms = 1,
                               .queued_bytes = 77,
                               .addresses = 2,
                               .redis = -1};
    size_t len = 0;
    m.in[MSG_CHAT] = 5;
    m.in[METRICS_IN_INVALID] = 2;
    m.out[MET_OUT_WELCOME] = 4;
    m.errors[MSG_E_BAD_JSON] = 2;
    m.closes[MET_CLOSE_SLOW_CONSUMER] = 1;
    m.closes[MET_CLOSE_DRAIN] = 6;
    m.joins = 3;
    m.resumes = 1;
    char *t = metrics_render(&m, &g, &len);
    CHECK(t != NULL && strlen(t) == len && t[len - 1] == '\n');
    if (t == NULL)
        return;
    CHECK(has_line(t, "# HELP huddle_sidecar_connections Open websocket "
                      "connections."));
    CHECK(has_line(t, "# TYPE huddle_sidecar_connections gauge"));
    CHECK(has_line(t, "huddle_sidecar_connections 3"));
    CHECK(has_line(t, "huddle_sidecar_peers 2"));
    CHECK(has_line(t, "huddle_sidecar_peers_in_grace 1"));
    CHECK(has_line(t, "huddle_sidecar_rooms 1"));
    CHECK(has_line(t, "huddle_sidecar_send_queue_bytes 77"));
    CHECK(has_line(t, "huddle_sidecar_client_addresses 2"));
    CHECK(has_line(t, "huddle_sidecar_draining 0"));
    CHECK(strstr(t, "redis_connected") == NULL); /* standalone */
    CHECK(has_line(t, "# TYPE huddle_sidecar_messages_in_total counter"));
    CHECK(has_line(t, "huddle_sidecar_messages_in_total{type=\"chat\"} 5"));
    CHECK(has_line(t, "huddle_sidecar_messages_in_total{type=\"join\"} 0"));
    CHECK(has_line(t, "huddle_sidecar_messages_in_total{type=\"invalid\"} 2"));
    CHECK(has_line(t, "huddle_sidecar_messages_out_total{type=\"welcome\"} 4"));
    CHECK(has_line(t, "huddle_sidecar_errors_total{code=\"bad-json\"} 2"));
    CHECK(
        has_line(t, "huddle_sidecar_closes_total{reason=\"slow-consumer\"} 1"));
    CHECK(has_line(t, "huddle_sidecar_closes_total{reason=\"drain\"} 6"));
    CHECK(has_line(t, "# TYPE huddle_sidecar_joins_total counter"));
    CHECK(has_line(t, "huddle_sidecar_joins_total 3"));
    CHECK(has_line(t, "huddle_sidecar_resumes_total 1"));
    free(t);
}

TEST(render_shows_redis_connected_only_when_clustered)
{
    struct metrics m = {0};
    struct metrics_gauges g = {.redis = 0, .draining = true};
    size_t len;
    char *t = metrics_render(&m, &g, &len);
    CHECK(t != NULL && has_line(t, "huddle_sidecar_redis_connected 0"));
    CHECK(t != NULL && has_line(t, "huddle_sidecar_draining 1"));
    free(t);
    g.redis = 1;
    t = metrics_render(&m, &g, &len);
    CHECK(t != NULL && has_line(t, "huddle_sidecar_redis_connected 1"));
    free(t);
}

TEST(every_metric_line_is_a_name_labels_and_a_number)
{
    struct metrics m = {0};
    struct metrics_gauges g = {.redis = 1};
    size_t len;
    char *t = metrics_render(&m, &g, &len);
    if (t == NULL) {
        CHECK(t != NULL);
        return;
    }
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') {
            CHECK(strncmp(line, "# HELP huddle_sidecar_", 22) == 0 ||
                  strncmp(line, "# TYPE huddle_sidecar_", 22) == 0);
            continue;
        }
        CHECK(strncmp(line, "huddle_sidecar_", 15) == 0);
        size_t name = strspn(line, "abcdefghijklmnopqrstuvwxyz_");
        char *sp = strrchr(line, ' ');
        CHECK(sp != NULL && strspn(sp + 1, "0123456789") == strlen(sp + 1));
        CHECK(line[name] == ' ' || line[name] == '{');
    }
    free(t);
}
