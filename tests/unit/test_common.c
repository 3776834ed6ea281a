#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "env.h"
#include "hostport.h"
#include "htab.h"
#include "list.h"
#include "log.h"

TEST(env_parse_accepts_plain_numbers_in_range)
{
    long v = 0;
    CHECK(env_parse_long("8", 1, 64, &v) == 0 && v == 8);
    CHECK(env_parse_long("-3", -5, 5, &v) == 0 && v == -3);
}

TEST(env_parse_rejects_junk_empty_and_out_of_range)
{
    long v = 42;
    CHECK(env_parse_long("", 0, 10, &v) < 0);
    CHECK(env_parse_long("8x", 0, 10, &v) < 0);
    CHECK(env_parse_long(" 8", 0, 10, &v) < 0);
    CHECK(env_parse_long("+8", 0, 10, &v) < 0);
    CHECK(v == 42);
    CHECK(env_parse_long("11", 0, 10, &v) < 0);
    CHECK(env_parse_long("99999999999999999999999", 0, 10, &v) < 0);
    CHECK(env_parse_long(NULL, 0, 10, &v) < 0);
}

TEST(log_escape_hides_control_bytes_and_cuts_long_input)
{
    char out[64];
    CHECK_STR(log_escape(out, sizeof out, "a\nb\"", 4, 64), "a\\x0ab\\x22");
    CHECK_STR(log_escape(out, sizeof out, "abcdef", 6, 3), "abc...");
    CHECK_STR(log_escape(out, sizeof out, "", 0, 3), "");
}

TEST(log_repeats_of_one_shape_are_suppressed_and_counted)
{
    char path[] = "/tmp/huddle-logtest-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    CHECK(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    for (int i = 0; i < 1000; i++)
        log_write(LOG_WARN, "accept: errno %d try %d", 24, i);
    log_write(LOG_WARN, "another line");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fdopen(fd, "r");
    rewind(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL)
        n++;
    fclose(f);
    unlink(path);
    /* 5 a second at most of the accept line (a second may turn over once
     * within the loop, and each second opens with a count), and the other. */
    CHECK(n >= 6 && n <= 12);
}

/* Parses s with flags; returns the port, or -1. */
static int hp(const char *s, int flags, struct hostport *out)
{
    return hostport_parse(s, strlen(s), flags, out) == 0 ? out->port : -1;
}

TEST(hostport_takes_names_ipv4_and_bracketed_ipv6)
{
    struct hostport h;

    CHECK(hp("127.0.0.1:8081", 0, &h) == 8081);
    CHECK_STR(h.host, "127.0.0.1");
    CHECK(!h.v6);
    CHECK(hp("redis_1.local-net:65535", 0, &h) == 65535);
    CHECK_STR(h.host, "redis_1.local-net");
    CHECK(hp("[::1]:1", 0, &h) == 1);
    CHECK_STR(h.host, "::1");
    CHECK(h.v6);
    CHECK(hp("[::ffff:10.0.0.1]:9000", 0, &h) == 9000);
    CHECK(hostport_parse("a:80xyz", 4, 0, &h) == 0 && h.port == 80);
}

TEST(hostport_any_address_only_when_asked)
{
    struct hostport h;

    CHECK(hp(":9000", 0, &h) < 0);
    CHECK(hp("*:9000", 0, &h) < 0);
    CHECK(hp(":9000", HOSTPORT_ANY, &h) == 9000);
    CHECK_STR(h.host, "");
    CHECK(hp("*:9000", HOSTPORT_ANY, &h) == 9000);
    CHECK_STR(h.host, "");
    CHECK(hp("**:9000", HOSTPORT_ANY, &h) < 0);
}

TEST(hostport_rejects_bad_ports_and_hosts)
{
    static const char *const bad[] = {
        "",        "h",         "h:",       ":",       "h:0",
        "h:65536", "h:08081",   "h:+80",    "h:-1",    "h:80 ",
        "h :80",   "h;x:80",    "::1:80",   "[::1:80", "[]:80",
        "[zz]:80", "[::1]x:80", "h:123456", "h/x:80",
    };
    struct hostport h;
    char longhost[300];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (hp(bad[i], HOSTPORT_ANY, &h) >= 0) {
            fprintf(stderr, "accepted \"%s\"\n", bad[i]);
            check_failed = 1;
        }
        CHECK(h.port == 0 && h.host[0] == '\0');
    }
    CHECK(hostport_parse("h\0:80", 5, 0, &h) < 0);
    memset(longhost, 'a', 256);
    strcpy(longhost + 256, ":80");
    CHECK(hp(longhost, 0, &h) < 0);
    strcpy(longhost + 255, ":80");
    CHECK(hp(longhost, 0, &h) == 80);
}

TEST(hostport_port_may_be_optional_or_absent_by_flag)
{
    struct hostport h;

    CHECK(hp("meet.example.org", 0, &h) < 0);
    CHECK(hp("meet.example.org", HOSTPORT_PORT_OPTIONAL, &h) == 0);
    CHECK_STR(h.host, "meet.example.org");
    CHECK(hp("meet.example.org:8443", HOSTPORT_PORT_OPTIONAL, &h) == 8443);
    CHECK(hp("[::1]", HOSTPORT_PORT_OPTIONAL, &h) == 0);
    CHECK(h.v6 && strcmp(h.host, "::1") == 0);
    CHECK(hp("::1", HOSTPORT_PORT_OPTIONAL, &h) < 0); /* which is the port? */
    CHECK(hp("h:", HOSTPORT_PORT_OPTIONAL, &h) < 0);
    /* No port at all: then a bare IPv6 address is unambiguous. */
    CHECK(hp("2001:db8::1", HOSTPORT_NO_PORT, &h) == 0);
    CHECK(h.v6 && strcmp(h.host, "2001:db8::1") == 0);
    CHECK(hp("[2001:db8::1]", HOSTPORT_NO_PORT, &h) == 0);
    CHECK(h.v6 && strcmp(h.host, "2001:db8::1") == 0);
    CHECK(hp("h:80", HOSTPORT_NO_PORT, &h) < 0);
    CHECK(hp("[::1]:80", HOSTPORT_NO_PORT, &h) < 0);
    CHECK(hp("1.2.3.4", HOSTPORT_NO_PORT, &h) == 0 && !h.v6);
}

TEST(hostport_ipv6_is_an_address_kept_in_its_canonical_form)
{
    struct hostport h;
    char v6[64] = "[";

    CHECK(hp("[1]:80", 0, &h) < 0);
    CHECK(hp("[1.2.3.4]:80", 0, &h) < 0);
    CHECK(hp("[1::2::3]:80", 0, &h) < 0);
    CHECK(hp("[12345::1]:80", 0, &h) < 0);
    CHECK(hp("[::]:80", 0, &h) == 80);
    CHECK_STR(h.host, "::");
    /* Two spellings of one address compare equal. */
    CHECK(hp("[2001:0DB8:0:0:0::7]:80", 0, &h) == 80);
    CHECK_STR(h.host, "2001:db8::7");
    CHECK(hp("2001:db8:0000::7", HOSTPORT_NO_PORT, &h) == 0);
    CHECK_STR(h.host, "2001:db8::7");
    strcat(v6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:1"); /* 45 */
    CHECK(hp(v6, 0, &h) == 1);
    CHECK_STR(h.host, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    memmove(v6 + 2, v6 + 1, strlen(v6));
    v6[1] = '0'; /* 46 */
    CHECK(hp(v6, 0, &h) < 0);
}

TEST(hostport_dns_takes_what_a_browser_puts_in_a_url)
{
    static const char *const bad[] = {
        "ho_st", "-host", "host-",       "host-.example", "a..b",
        ".host", "host.", "h\xc3\xa9st", "a b",
    };
    struct hostport h;
    char label[80];

    CHECK(hp("Meet-1.Example.ORG", HOSTPORT_DNS | HOSTPORT_PORT_OPTIONAL, &h) ==
          0);
    CHECK(hp("192.0.2.7:8080", HOSTPORT_DNS, &h) == 8080);
    CHECK(hp("ho_st:80", 0, &h) == 80); /* a container's name */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (hp(bad[i], HOSTPORT_DNS | HOSTPORT_PORT_OPTIONAL, &h) >= 0) {
            fprintf(stderr, "accepted \"%s\"\n", bad[i]);
            check_failed = 1;
        }
    }
    memset(label, 'a', 63);
    strcpy(label + 63, ".org");
    CHECK(hp(label, HOSTPORT_DNS | HOSTPORT_PORT_OPTIONAL, &h) == 0);
    memset(label, 'a', 64);
    strcpy(label + 64, ".org");
    CHECK(hp(label, HOSTPORT_DNS | HOSTPORT_PORT_OPTIONAL, &h) < 0);
}

/* Parses s as an origin; returns its port, or -1. */
static int origin_of(const char *s, struct origin *o)
{
    return hostport_origin(s, strlen(s), o) == 0 ? o->hp.port : -1;
}

TEST(origin_is_scheme_host_and_port_as_browsers_send_it)
{
    struct origin o;

    CHECK(origin_of("HTTPS://Meet.Example.org", &o) == 0);
    CHECK_STR(o.scheme, "https");
    CHECK_STR(o.hp.host, "Meet.Example.org");
    CHECK(origin_of("http://[::1]:8080/", &o) == 8080);
    CHECK(o.hp.v6 && strcmp(o.hp.host, "::1") == 0);
    CHECK(origin_of("capacitor://localhost", &o) == 0);
    CHECK_STR(o.scheme, "capacitor");
    CHECK(origin_of("chrome-extension://abcdefghijklmnop", &o) == 0);
}

TEST(origin_refuses_bare_hosts_paths_users_and_queries)
{
    static const char *const bad[] = {
        "meet.example.org", "*",           "null",         "https://",
        "https:/h",         "://h",        "1http://h",    "https://h/x",
        "https://h//",      "https://u@h", "https://h?x",  "https://h#x",
        "https://h:0",      "https://h:",  "https://[::1", "https://a b",
        "https://h:80:81",  "https://::1", "https://[1]",  "",
    };
    struct origin o;
    char scheme[64];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (origin_of(bad[i], &o) >= 0) {
            fprintf(stderr, "accepted \"%s\"\n", bad[i]);
            check_failed = 1;
        }
        CHECK(o.scheme[0] == '\0' && o.hp.host[0] == '\0');
    }
    memset(scheme, 'a', 33);
    strcpy(scheme + 33, "://h");
    CHECK(origin_of(scheme, &o) < 0);
    CHECK(origin_of(scheme + 1, &o) == 0); /* 32 letters */
    CHECK(hostport_origin("http://h:80", 8, &o) == 0 && o.hp.port == 0);
    CHECK(hostport_origin("http://h:80", 9, &o) < 0);
}

/* Returns the entries of list joined by '|'. */
static const char *entries(const char *list)
{
    static char out[256];
    const char *p = list, *e;
    size_t n, o = 0;

    out[0] = '\0';
    while ((e = list_next(&p, &n)) != NULL && o + n + 2 < sizeof out) {
        if (o > 0)
            out[o++] = '|';
        memcpy(out + o, e, n);
        o += n;
        out[o] = '\0';
    }
    return out;
}

TEST(list_splits_on_commas_and_blanks_and_skips_empty_entries)
{
    CHECK_STR(entries("a, b,c"), "a|b|c");
    CHECK_STR(entries(" ,a,, b\tc ,"), "a|b|c");
    CHECK_STR(entries("10.0.0.5 fd00::/8"), "10.0.0.5|fd00::/8");
    CHECK_STR(entries("https://x.example/"), "https://x.example/");
    CHECK_STR(entries(""), "");
    CHECK_STR(entries(" , "), "");
    CHECK_STR(entries(NULL), "");
}

struct item {
    struct htab_entry link;
    char id[16];
    bool seen;
};

static struct item *item_new(struct htab *t, int i)
{
    struct item *it = calloc(1, sizeof *it);
    if (it != NULL) {
        snprintf(it->id, sizeof it->id, "room-%d", i);
        htab_add(t, &it->link, it->id);
    }
    return it;
}

static struct item *item_find(struct htab *t, const char *id)
{
    struct htab_entry *e = htab_find(t, id);
    return e != NULL ? HTAB_ITEM(e, struct item, link) : NULL;
}

TEST(htab_finds_what_was_added_and_grows_past_its_buckets)
{
    struct htab t;
    char id[16];

    CHECK(htab_init(&t, 4) == 0);
    for (int i = 0; i < 1000; i++)
        CHECK(item_new(&t, i) != NULL);
    CHECK(t.n == 1000 && t.nbuckets >= 1000);
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "room-%d", i);
        struct item *it = item_find(&t, id);
        CHECK(it != NULL && strcmp(it->id, id) == 0);
    }
    CHECK(item_find(&t, "room-1000") == NULL);
    CHECK(item_find(&t, "") == NULL);
    /* Deleting every other entry leaves the rest findable. */
    for (int i = 0; i < 1000; i += 2) {
        snprintf(id, sizeof id, "room-%d", i);
        struct item *it = item_find(&t, id);
        htab_del(&t, &it->link);
        free(it);
    }
    CHECK(t.n == 500);
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "room-%d", i);
        CHECK((item_find(&t, id) != NULL) == (i % 2 == 1));
    }
    struct htab_entry *e, *next;
    for (e = htab_next(&t, NULL); e != NULL; e = next) {
        next = htab_next(&t, e);
        htab_del(&t, e);
        free(HTAB_ITEM(e, struct item, link));
    }
    CHECK(t.n == 0 && htab_next(&t, NULL) == NULL);
    htab_fini(&t);
}

TEST(htab_walk_visits_every_entry_once_even_while_dropping_them)
{
    struct htab t;
    struct item *items[300];
    size_t visits = 0;

    CHECK(htab_init(&t, 16) == 0);
    for (int i = 0; i < 300; i++)
        items[i] = item_new(&t, i);
    for (struct htab_entry *e = htab_next(&t, NULL); e != NULL;
         e = htab_next(&t, e)) {
        struct item *it = HTAB_ITEM(e, struct item, link);
        CHECK(!it->seen);
        it->seen = true;
        visits++;
    }
    CHECK(visits == 300);
    /* Dropping the entry just visited does not end or repeat the walk. */
    visits = 0;
    struct htab_entry *e, *next;
    for (e = htab_next(&t, NULL); e != NULL; e = next) {
        next = htab_next(&t, e);
        struct item *it = HTAB_ITEM(e, struct item, link);
        CHECK(it->seen);
        it->seen = false;
        if (visits++ % 3 == 0)
            htab_del(&t, e);
    }
    CHECK(visits == 300 && t.n == 200);
    for (int i = 0; i < 300; i++)
        free(items[i]);
    htab_fini(&t);
}

TEST(htab_keys_differing_in_one_byte_or_length_are_distinct)
{
    struct htab t;
    struct item a = {0}, b = {0}, c = {0};

    CHECK(htab_init(&t, 1) == 0);
    snprintf(a.id, sizeof a.id, "abc");
    snprintf(b.id, sizeof b.id, "abd");
    snprintf(c.id, sizeof c.id, "ab");
    htab_add(&t, &a.link, a.id);
    htab_add(&t, &b.link, b.id);
    htab_add(&t, &c.link, c.id);
    CHECK(item_find(&t, "abc") == &a);
    CHECK(item_find(&t, "abd") == &b);
    CHECK(item_find(&t, "ab") == &c);
    CHECK(item_find(&t, "abcd") == NULL);
    htab_del(&t, &b.link);
    CHECK(item_find(&t, "abd") == NULL && item_find(&t, "abc") == &a);
    htab_fini(&t);
}
