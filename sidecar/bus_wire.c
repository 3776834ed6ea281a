#include "bus_wire.h"

#include <stdio.h>
#include <string.h>

/* The path and db of unix://[:password@]/path[?db=N], from p to end. */
static int url_unix_path(const char *p, const char *end, struct bus_url *out)
{
    static const char db[] = "?db=";
    const char *q = memchr(p, '?', (size_t)(end - p));
    size_t n = (size_t)((q != NULL ? q : end) - p);

    if (*p != '/' || n < 2 || n > BUS_PATH_MAX)
        return -1;
    if (q != NULL &&
        (strncmp(q, db, sizeof db - 1) != 0 ||
         hostport_uint(q + sizeof db - 1, (size_t)(end - q) - (sizeof db - 1),
                       65535, true, &out->db) < 0))
        return -1;
    memcpy(out->path, p, n);
    out->path[n] = '\0';
    memcpy(out->where, out->path, n + 1);
    return 0;
}

/* The host, port and db of redis://[:password@]host:port[/db], from p to
 * end. */
static int url_host_port(const char *p, const char *end, struct bus_url *out)
{
    const char *slash = memchr(p, '/', (size_t)(end - p));
    struct hostport hp;

    if (slash == NULL)
        slash = end;
    else if (hostport_uint(slash + 1, (size_t)(end - slash - 1), 65535, true,
                           &out->db) < 0)
        return -1;
    if (hostport_parse(p, (size_t)(slash - p), 0, &hp) < 0)
        return -1;
    memcpy(out->host, hp.host, sizeof out->host);
    out->port = hp.port;
    snprintf(out->where, sizeof out->where, hp.v6 ? "[%s]:%d" : "%s:%d",
             hp.host, hp.port);
    return 0;
}

int bus_url_parse(const char *s, struct bus_url *out)
{
    static const char tcp[] = "redis://", unix_[] = "unix://";
    const char *p, *at, *end;
    bool local;

    memset(out, 0, sizeof *out);
    if (s == NULL)
        return -1;
    if (strncmp(s, tcp, sizeof tcp - 1) == 0)
        local = false;
    else if (strncmp(s, unix_, sizeof unix_ - 1) == 0)
        local = true;
    else
        return -1;
    for (p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return -1;
    end = p;
    p = s + (local ? sizeof unix_ : sizeof tcp) - 1;
    at = strchr(p, '@');
    if (at != NULL) {
        size_t n = (size_t)(at - p) - 1;
        if (*p != ':' || n == 0 || n > BUS_PASSWORD_MAX ||
            memchr(p + 1, '/', n) != NULL || strchr(at + 1, '@') != NULL)
            return -1;
        memcpy(out->password, p + 1, n);
        out->password[n] = '\0';
        out->has_password = true;
        p = at + 1;
    }
    if ((local ? url_unix_path : url_host_port)(p, end, out) < 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

bool bus_id_ok(const char *s, size_t max, bool dot)
{
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              (dot && c == '.')))
            return false;
    }
    return n > 0 && n <= max;
}

int bus_config_check(const char *url, const char *node_id, struct bus_url *out,
                     char *err, size_t errsz)
{
    if (bus_url_parse(url, out) < 0) {
        snprintf(err, errsz,
                 "HUDDLE_REDIS_URL: want redis://[:password@]host:port[/db] "
                 "or unix://[:password@]/path[?db=N]");
        return -1;
    }
    if (node_id == NULL || !bus_id_ok(node_id, BUS_NODE_ID_MAX, true)) {
        snprintf(err, errsz,
                 "HUDDLE_NODE_ID=%s: want 1..%d of A-Z a-z 0-9 _ . -",
                 node_id ? node_id : "", BUS_NODE_ID_MAX);
        return -1;
    }
    return 0;
}

bool bus_room_ok(const char *room)
{
    return room != NULL && roomid_valid(room, strlen(room));
}

size_t bus_envelope_size(const char *id, size_t len)
{
    return len + strlen(id) + BUS_ENV_EXTRA;
}

size_t bus_envelope_write(char *buf, const char *id, const char *json,
                          size_t len)
{
    size_t n = (size_t)sprintf(buf, "{\"origin\":\"%s\",\"msg\":", id);

    memcpy(buf + n, json, len);
    n += len;
    buf[n++] = '}';
    return n;
}

int bus_envelope_parse(const char *p, size_t n, char origin[BUS_ID_MAX + 1],
                       const char **json, size_t *len)
{
    static const char head[] = "{\"origin\":\"", mid[] = "\",\"msg\":";
    size_t i = sizeof head - 1, o = 0;

    if (n < sizeof head + sizeof mid || memcmp(p, head, i) != 0)
        return -1;
    while (i < n && p[i] != '"' && o < BUS_ID_MAX)
        origin[o++] = p[i++];
    origin[o] = '\0';
    if (strlen(origin) != o || /* a NUL byte would cut the id short */
        !(o == 0 || bus_id_ok(origin, BUS_ID_MAX, true)) ||
        n - i < sizeof mid || memcmp(p + i, mid, sizeof mid - 1) != 0)
        return -1;
    i += sizeof mid - 1;
    if (p[n - 1] != '}' || n - 1 <= i)
        return -1;
    *json = p + i;
    *len = n - 1 - i;
    return 0;
}

int bus_channel_room(const char *ch, size_t n, char room[ROOMID_MAX + 1])
{
    size_t rl = sizeof BUS_ROOM_CH - 1;

    if (n <= rl || memcmp(ch, BUS_ROOM_CH, rl) != 0 ||
        !roomid_valid(ch + rl, n - rl))
        return -1;
    memcpy(room, ch + rl, n - rl);
    room[n - rl] = '\0';
    return 0;
}

int bus_relay_parse(const char *p, size_t n, char room[ROOMID_MAX + 1],
                    const char **env, size_t *envlen)
{
    size_t head = sizeof BUS_ROOM_CH + ROOMID_MAX; /* name and space */
    const char *sp = memchr(p, ' ', n < head ? n : head);

    if (sp == NULL || bus_channel_room(p, (size_t)(sp - p), room) < 0)
        return -1;
    *env = sp + 1;
    *envlen = n - (size_t)(sp - p) - 1;
    return 0;
}
