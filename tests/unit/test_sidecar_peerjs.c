/* The PeerJS endpoint's logic (sidecar/peerjs.c) through a fake transport:
 * the parser, id rules, HTTP routes, open, relay, held messages, EXPIRE. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "peerjs.h"

#define FAKE_MAX 16

struct fake {
    struct hub_conn hc; /* first: hub_conn * is a fake * */
    struct pj_conn *pj;
    char *got[FAKE_MAX];
    int n;
    int closed; /* close code, 0: open */
};

static bool f_send(struct hub_conn *c, struct out_msg *m)
{
    struct fake *f = (struct fake *)c;
    if (f->closed || f->n == FAKE_MAX)
        return false;
    f->got[f->n++] = strdup(out_msg_text(m));
    return true;
}

static void f_close(struct hub_conn *c, int code, const char *reason)
{
    struct fake *f = (struct fake *)c;
    (void)reason;
    if (!f->closed)
        f->closed = code;
}

static void f_rearm(struct hub_conn *c, int64_t ms)
{
    (void)c;
    (void)ms;
}

static const struct hub_ops ops = {f_send, f_close, f_rearm, NULL};

static struct config cfg = {
    .signal_burst = 5,
    .signal_rate = 1,
    .error_run = 3,
    .error_window_ms = 10000,
    .rate_limit_run = 50,
    .peerjs_expire_ms = 5000,
    .peerjs_alive_ms = 90000,
    .peerjs_held = 3,
    .peerjs_held_total = 5,
};

static void fake_open(struct pj *p, struct fake *f, const char *id,
                      const char *token, int64_t now)
{
    memset(f, 0, sizeof *f);
    f->pj = pj_conn_new(&f->hc);
    pj_open(p, f->pj, "peerjs", id, token, now);
}

static void fake_end(struct pj *p, struct fake *f)
{
    pj_on_end(p, f->pj);
    free(f->pj);
    for (int i = 0; i < f->n; i++)
        free(f->got[i]);
}

static void say(struct pj *p, struct fake *f, const char *s, int64_t now)
{
    pj_on_text(p, f->pj, s, strlen(s), now);
}

static const char *last(const struct fake *f)
{
    return f->n ? f->got[f->n - 1] : "";
}

TEST(peerjs_parse_takes_type_dst_and_payload)
{
    struct pj_msg m;
    const char *why;
    const char *s = "{\"type\":\"OFFER\",\"dst\":\"bob\",\"payload\":{\"a\":[1,"
                    "2]},\"src\":\"ignored\"}";

    CHECK(pj_parse(s, strlen(s), &m, &why) == 0);
    CHECK(m.type == PJ_OFFER);
    CHECK(strcmp(m.dst, "bob") == 0);
    CHECK(strcmp(m.payload, "{\"a\":[1,2]}") == 0);
    pj_msg_free(&m);
}

TEST(peerjs_parse_refuses_bad_messages_with_a_reason)
{
    static const char *const bad[] = {
        "nope",
        "[1]",
        "{\"type\":1}",
        "{\"type\":\"JOIN\"}",
        "{\"type\":\"OFFER\",\"dst\":5}",
        "{\"type\":\"OFFER\"} trailing",
    };
    struct pj_msg m;
    const char *why;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        CHECK(pj_parse(bad[i], strlen(bad[i]), &m, &why) == -1);
        CHECK(why != NULL);
        CHECK(m.root == NULL && m.payload == NULL);
    }
}

TEST(peerjs_parse_relays_a_lone_surrogate_or_a_nul_as_u_fffd)
{
    struct pj_msg m;
    const char *why;
    /* A name cut in an emoji, a NUL, a whole pair, an escaped backslash
     * before "u0000" (text, no escape), and a dst with a NUL in it. */
    const char *s = "{\"type\":\"OFFER\",\"dst\":\"bob\\u0000x\","
                    "\"payload\":{\"n\":\"a\\ud83d\",\"z\":\"x\\u0000y\","
                    "\"ok\":\"\\ud83d\\ude00\",\"lo\":\"\\udc00\","
                    "\"t\":\"\\\\u0000\"}}";

    CHECK(pj_parse(s, strlen(s), &m, &why) == 0);
    CHECK(strcmp(m.payload,
                 "{\"n\":\"a\xef\xbf\xbd\",\"z\":\"x\xef\xbf\xbdy\","
                 "\"ok\":\"\xf0\x9f\x98\x80\",\"lo\":\"\xef\xbf\xbd\","
                 "\"t\":\"\\\\u0000\"}") == 0);
    CHECK(m.dst_bad && strcmp(m.dst, "bob\xef\xbf\xbdx") == 0);
    pj_msg_free(&m);
}

TEST(peerjs_parse_marks_a_dst_no_id_can_be)
{
    struct pj_msg m;
    const char *why;
    const char *s = "{\"type\":\"OFFER\",\"dst\":\"a b c-\"}";

    CHECK(pj_parse(s, strlen(s), &m, &why) == 0);
    CHECK(m.dst_bad && strcmp(m.dst, "a b c-") == 0);
    pj_msg_free(&m);
    s = "{\"type\":\"OFFER\",\"dst\":\"a b c\"}";
    CHECK(pj_parse(s, strlen(s), &m, &why) == 0);
    CHECK(!m.dst_bad);
    pj_msg_free(&m);
    s = "{\"type\":\"OFFER\",\"dst\":\"\"}"; /* empty: no id either */
    CHECK(pj_parse(s, strlen(s), &m, &why) == 0);
    CHECK(m.dst_bad && m.dst[0] == '\0');
    pj_msg_free(&m);
}

TEST(peerjs_ids_follow_the_clients_rule)
{
    char long_id[PJ_ID_MAX + 2];

    CHECK(pj_id_valid("abc"));
    CHECK(pj_id_valid("a-b_c d9"));
    CHECK(!pj_id_valid(""));
    CHECK(!pj_id_valid("-a"));
    CHECK(!pj_id_valid("a-"));
    CHECK(!pj_id_valid("a--b"));
    CHECK(!pj_id_valid("a.b"));
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[PJ_ID_MAX] = '\0';
    CHECK(pj_id_valid(long_id));
    long_id[PJ_ID_MAX] = 'a';
    long_id[PJ_ID_MAX + 1] = '\0';
    CHECK(!pj_id_valid(long_id));
}

TEST(peerjs_minted_ids_are_v4_uuids_and_valid_ids)
{
    char a[PJ_UUID_LEN + 1], b[PJ_UUID_LEN + 1];

    pj_uuid(a);
    pj_uuid(b);
    CHECK(strlen(a) == PJ_UUID_LEN);
    CHECK(a[8] == '-' && a[13] == '-' && a[14] == '4' && a[23] == '-');
    CHECK(strchr("89ab", a[19]) != NULL);
    CHECK(strcmp(a, b) != 0);
    CHECK(pj_id_valid(a));
}

TEST(peerjs_http_routes_the_paths_the_client_asks_for)
{
    CHECK(pj_http_route("/peerjs/peerjs/id") == PJ_HTTP_ID);
    CHECK(pj_http_route("/peerjs/otherkey/id") == PJ_HTTP_ID);
    CHECK(pj_http_route("/peerjs/peerjs/peers") == PJ_HTTP_PEERS);
    CHECK(pj_http_route("/peerjs") == PJ_HTTP_INFO);
    CHECK(pj_http_route("/peerjs/") == PJ_HTTP_INFO);
    CHECK(pj_http_route("/peerjs//id") == PJ_HTTP_NONE);
    CHECK(pj_http_route("/peerjsx/peerjs/id") == PJ_HTTP_NONE);
    CHECK(pj_http_route("/peerjs/peerjs/id/x") == PJ_HTTP_NONE);
    CHECK(pj_ws_path("/peerjs/peerjs"));
    CHECK(!pj_ws_path("/peerjs/peerjs/"));
    CHECK(!pj_ws_path("/ws"));
}

TEST(peerjs_open_answers_open_and_a_second_token_id_taken)
{
    struct pj *p = pj_new(&cfg, &ops, "peerjs");
    struct fake a, b, c;

    fake_open(p, &a, "alice", "t1", 0);
    CHECK(strcmp(last(&a), "{\"type\":\"OPEN\"}") == 0);
    fake_open(p, &b, "alice", "t2", 0);
    CHECK(strstr(last(&b), "\"ID-TAKEN\"") != NULL);
    CHECK(b.closed == 1000);
    /* The same token takes the id over; the old socket is closed. */
    fake_open(p, &c, "alice", "t1", 0);
    CHECK(strcmp(last(&c), "{\"type\":\"OPEN\"}") == 0);
    CHECK(a.closed == 1000 && c.closed == 0);
    fake_end(p, &a);
    fake_end(p, &b);
    fake_end(p, &c);
    pj_free(p);
}

TEST(peerjs_open_refuses_a_wrong_key_or_missing_parameters)
{
    struct pj *p = pj_new(&cfg, &ops, "peerjs");
    struct fake a, b;

    memset(&a, 0, sizeof a);
    a.pj = pj_conn_new(&a.hc);
    pj_open(p, a.pj, "other", "alice", "t", 0);
    CHECK(strstr(last(&a), "Invalid key provided") != NULL);
    CHECK(a.closed == 1000);
    fake_open(p, &b, "alice", NULL, 0);
    CHECK(strstr(last(&b), "No id, token, or key") != NULL);
    fake_end(p, &a);
    fake_end(p, &b);
    pj_free(p);
}

TEST(peerjs_relays_by_dst_adding_src)
{
    struct pj *p = pj_new(&cfg, &ops, "peerjs");
    struct fake a, b;

    fake_open(p, &a, "alice", "t1", 0);
    fake_open(p, &b, "bob", "t2", 0);
    say(p, &a, "{\"type\":\"OFFER\",\"dst\":\"bob\",\"payload\":{\"x\":1}}", 0);
    CHECK(strcmp(last(&b), "{\"type\":\"OFFER\",\"src\":\"alice\",\"dst\":"
                           "\"bob\",\"payload\":{\"x\":1}}") == 0);
    say(p, &b, "{\"type\":\"ANSWER\",\"dst\":\"alice\"}", 0);
    CHECK(strcmp(last(&a), "{\"type\":\"ANSWER\",\"src\":\"bob\",\"dst\":"
                           "\"alice\"}") == 0);
    fake_end(p, &a);
    fake_end(p, &b);
    pj_free(p);
}

TEST(peerjs_holds_for_an_absent_id_and_delivers_on_open)
{
    struct pj *p = pj_new(&cfg, &ops, "peerjs");
    struct fake a, b;

    fake_open(p, &a, "alice", "t1", 0);
    say(p, &a, "{\"type\":\"OFFER\",\"dst\":\"bob\"}", 0);
    say(p, &a, "{\"type\":\"CANDIDATE\",\"dst\":\"bob\"}", 0);
    say(p, &a, "{\"type\":\"LEAVE\",\"dst\":\"bob\"}", 0); /* never held */
    CHECK(pj_held_count(p) == 2);
    fake_open(p, &b, "bob", "t2", 100);
    CHECK(b.n == 3);
    CHECK(strstr(b.got[1], "\"OFFER\"") != NULL);
    CHECK(strstr(b.got[2], "\"CANDIDATE\"") != NULL);
    CHECK(pj_held_count(p) == 0);
    pj_tick(p, 10000);
    CHECK(a.n == 1); /* no EXPIRE: delivered */
    fake_end(p, &a);
    fake_end(p, &b);
    pj_free(p);
}

TEST(peerjs_held_messages_expire_with_one_expire_per_sender)
{
    struct pj *p = pj_new(&cfg, &ops, "peerjs");
    struct fake a;

    fake_open(p, &a, "alice", "t1", 0);
    say(p, &a, "{\"type\":\"OFFER\",\"dst\":\"bob\"}", 0);
    say(p, &a, "{\"type\":\"CANDIDATE\",\"dst\":\"bob\"}", 10);
    pj_tick(p, 4999);
    CHECK(a.n == 1);
    pj_tick(p, 5000);
    CHECK(a.n == 2);
    CHECK(strcmp(last(&a), "{\"type\":\"EXPIRE\",\"src\":\"bob\",\"dst\":"
                           "\"alice\"}") == 0);
    CHECK(pj_held_count(p) == 0);
    fake_end(p, &a);
    pj_free(p);
}

TEST(peerjs_held_messages_are_bounded_per_id_and_in_all)
{
    struct pj *p = pj_new(&cfg, &ops, "peerjs");
    struct fake a;

    /* Later ones a second apart: under the rate limit (burst 5, 1/s). */
    fake_open(p, &a, "alice", "t1", 0);
    for (int i = 0; i < 4; i++) /* HUDDLE_PEERJS_HELD is 3 here */
        say(p, &a, "{\"type\":\"CANDIDATE\",\"dst\":\"bob\"}", 0);
    CHECK(pj_held_count(p) == 3);
    CHECK(strstr(last(&a), "\"EXPIRE\"") != NULL);
    say(p, &a, "{\"type\":\"CANDIDATE\",\"dst\":\"carol\"}", 1000);
    say(p, &a, "{\"type\":\"CANDIDATE\",\"dst\":\"carol\"}", 2000);
    CHECK(pj_held_count(p) == 5); /* the total, 5 */
    say(p, &a, "{\"type\":\"CANDIDATE\",\"dst\":\"dave\"}", 3000);
    CHECK(pj_held_count(p) == 5);
    CHECK(strstr(last(&a), "\"src\":\"dave\"") != NULL);
    fake_end(p, &a);
    pj_free(p);
}

TEST(peerjs_bad_messages_get_error_and_a_run_of_them_closes)
{
    struct pj *p = pj_new(&cfg, &ops, "peerjs");
    struct fake a;

    fake_open(p, &a, "alice", "t1", 0);
    say(p, &a, "nope", 0);
    CHECK(strcmp(last(&a), "{\"type\":\"ERROR\",\"payload\":{\"msg\":"
                           "\"invalid JSON\"}}") == 0);
    CHECK(a.closed == 0);
    say(p, &a, "{\"type\":\"JOIN\"}", 0);
    say(p, &a, "{\"type\":\"OFFER\"}", 0); /* no dst */
    CHECK(a.closed == 1008);               /* HUDDLE_ERROR_RUN is 3 here */
    fake_end(p, &a);
    pj_free(p);
}

TEST(peerjs_relays_are_rate_limited)
{
    struct pj *p = pj_new(&cfg, &ops, "peerjs");
    struct fake a, b;

    fake_open(p, &a, "alice", "t1", 0);
    fake_open(p, &b, "bob", "t2", 0);
    for (int i = 0; i < 6; i++) /* a burst of 5 */
        say(p, &a, "{\"type\":\"CANDIDATE\",\"dst\":\"bob\"}", 0);
    CHECK(b.n == 6); /* OPEN and five */
    CHECK(strstr(last(&a), "rate limited") != NULL);
    fake_end(p, &a);
    fake_end(p, &b);
    pj_free(p);
}

TEST(peerjs_heartbeat_keeps_a_client_alive)
{
    struct pj *p = pj_new(&cfg, &ops, "peerjs");
    struct fake a;

    fake_open(p, &a, "alice", "t1", 0);
    CHECK(!pj_idle(p, a.pj, 89999));
    say(p, &a, "{\"type\":\"HEARTBEAT\"}", 80000);
    CHECK(!pj_idle(p, a.pj, 169999));
    CHECK(pj_idle(p, a.pj, 170000));
    CHECK(a.n == 1); /* nothing answers a heartbeat */
    fake_end(p, &a);
    pj_free(p);
}

/* ---- several sidecars: a fake struct pj_net -------------------------- */

/* What the cluster was asked, answered by the test. */
struct fnet {
    struct pj_net net;
    int claims, cancels, releases, routes;
    struct pj_conn *claiming;
    char released[PJ_ID_MAX + 1];
    int up; /* 0: claim and route refuse (Redis down) */
    /* the dst of the last route asked */
    char route_dst[PJ_ID_MAX + 1];
    struct fnet_route {
        char src[PJ_ID_MAX + 1], dst[PJ_ID_MAX + 1];
        struct out_msg *m;
    } waiting[FAKE_MAX]; /* routes asked, not answered yet: oldest first */
    int nwaiting;
    char fwd_node[16], fwd_dst[PJ_ID_MAX + 1];
    char *fwd[FAKE_MAX];
    int nfwd;
};

static int n_claim(void *ctx, struct pj_conn *c)
{
    struct fnet *n = ctx;
    if (!n->up)
        return -1;
    n->claims++;
    n->claiming = c;
    c->claim = n;
    return 0;
}

static void n_cancel(void *ctx, struct pj_conn *c)
{
    struct fnet *n = ctx;
    n->cancels++;
    c->claim = NULL;
}

static void n_release(void *ctx, const char *id, const char *token)
{
    struct fnet *n = ctx;
    (void)token;
    n->releases++;
    snprintf(n->released, sizeof n->released, "%s", id);
}

static int n_route(void *ctx, const char *src, const char *dst,
                   struct out_msg *m)
{
    struct fnet *n = ctx;
    struct fnet_route *r = &n->waiting[n->nwaiting];
    if (!n->up || n->nwaiting == FAKE_MAX)
        return -1;
    n->routes++;
    n->nwaiting++;
    snprintf(r->src, sizeof r->src, "%s", src);
    snprintf(r->dst, sizeof r->dst, "%s", dst);
    snprintf(n->route_dst, sizeof n->route_dst, "%s", dst);
    r->m = out_msg_ref(m);
    return 0;
}

static void n_forward(void *ctx, const char *node, const char *dst,
                      const struct out_msg *m)
{
    struct fnet *n = ctx;
    snprintf(n->fwd_node, sizeof n->fwd_node, "%s", node);
    snprintf(n->fwd_dst, sizeof n->fwd_dst, "%s", dst);
    if (n->nfwd < FAKE_MAX)
        n->fwd[n->nfwd++] = strdup(out_msg_text(m));
}

/* A route waits while the test has not answered it (answer_route). */
static bool n_routing(void *ctx, const char *dst)
{
    struct fnet *n = ctx;
    for (int i = 0; i < n->nwaiting; i++)
        if (strcmp(n->waiting[i].dst, dst) == 0)
            return true;
    return false;
}

/* A PeerJS server on the fake network n, which is set up here. */
static struct pj *pj_on_fnet(struct fnet *n)
{
    struct pj *p = pj_new(&cfg, &ops, "peerjs");

    memset(n, 0, sizeof *n);
    n->net = (struct pj_net){n,       n_claim,   n_cancel, n_release,
                             n_route, n_forward, n_routing};
    n->up = 1;
    pj_set_net(p, &n->net);
    return p;
}

/* f opens id with token, and Redis answers that the id is its own. */
static void fake_claimed(struct pj *p, struct fake *f, const char *id,
                         const char *token)
{
    fake_open(p, f, id, token, 0);
    pj_claimed(p, f->pj, 1, 0);
}

static void fnet_fini(struct fnet *n)
{
    for (int i = 0; i < n->nwaiting; i++)
        out_msg_unref(n->waiting[i].m);
    for (int i = 0; i < n->nfwd; i++)
        free(n->fwd[i]);
}

/* Answers the oldest route waiting, as Redis answers in order: node
 * holds its dst (NULL: none). */
static void answer_route(struct pj *p, struct fnet *n, const char *node,
                         bool self, int64_t now)
{
    struct fnet_route r;
    CHECK(n->nwaiting > 0); /* routed, not rate limited */
    r = n->waiting[0];
    n->nwaiting--;
    memmove(&n->waiting[0], &n->waiting[1], n->nwaiting * sizeof r);
    pj_routed(p, r.src, r.dst, r.m, node, self, now);
    out_msg_unref(r.m);
}

TEST(peerjs_with_a_cluster_opens_only_once_the_id_is_claimed)
{
    struct fnet n;
    struct pj *p = pj_on_fnet(&n);
    struct fake a, b, c, d;

    fake_open(p, &a, "alice", "t1", 0);
    CHECK(n.claims == 1 && a.n == 0); /* nothing before Redis answers */
    pj_claimed(p, a.pj, 1, 0);
    CHECK(strcmp(last(&a), "{\"type\":\"OPEN\"}") == 0);
    fake_open(p, &b, "bob", "t2", 0);
    pj_claimed(p, b.pj, 0, 0); /* held on another node */
    CHECK(strcmp(last(&b), "{\"type\":\"ID-TAKEN\",\"payload\":{\"msg\":\"ID "
                           "is taken\"}}") == 0);
    CHECK(b.closed == 1000);
    fake_open(p, &c, "carol", "t3", 0);
    pj_claimed(p, c.pj, -1, 0);
    CHECK(strstr(last(&c), "\"ERROR\"") && strstr(last(&c), PJ_UNAVAILABLE));
    n.up = 0; /* Redis down: refused at once */
    fake_open(p, &d, "dave", "t4", 0);
    CHECK(strstr(last(&d), PJ_UNAVAILABLE) != NULL && d.closed == 1000);
    n.up = 1;
    /* a socket ending while its claim waits cancels it; a registered one
     * releases its id, once */
    fake_end(p, &d);
    fake_open(p, &d, "dave", "t4", 0);
    fake_end(p, &d);
    CHECK(n.cancels == 1 && n.releases == 0);
    fake_end(p, &a);
    CHECK(n.releases == 1 && strcmp(n.released, "alice") == 0);
    fake_end(p, &b);
    fake_end(p, &c);
    CHECK(n.releases == 1);
    pj_free(p);
    fnet_fini(&n);
}

TEST(peerjs_with_a_cluster_a_same_token_takeover_keeps_the_claim)
{
    struct fnet n;
    struct pj *p = pj_on_fnet(&n);
    struct fake a, b;

    fake_claimed(p, &a, "alice", "t1");
    fake_claimed(p, &b, "alice", "t1");
    CHECK(a.closed == 1000 && strcmp(last(&b), "{\"type\":\"OPEN\"}") == 0);
    fake_end(p, &a);
    CHECK(n.releases == 0); /* b holds it now */
    /* a reconnect to Redis claims every open id again; one taken
     * meanwhile closes its socket with ID-TAKEN */
    pj_reclaim(p);
    CHECK(n.claims == 3 && n.claiming == b.pj);
    pj_claimed(p, b.pj, 0, 0);
    CHECK(strstr(last(&b), "ID-TAKEN") != NULL && b.closed == 1000);
    fake_end(p, &b);
    pj_free(p);
    fnet_fini(&n);
}

/* A message to an id that has just opened here goes behind those to it
 * still waiting for their route, not ahead of them. */
TEST(peerjs_with_a_cluster_a_just_opened_id_keeps_the_order)
{
    struct fnet n;
    struct pj *p = pj_on_fnet(&n);
    struct fake a, b;

    fake_claimed(p, &a, "alice", "t1");
    say(p, &a, "{\"type\":\"OFFER\",\"dst\":\"bob\",\"payload\":1}", 0);
    CHECK(n.routes == 1);
    fake_claimed(p, &b, "bob", "t2"); /* bob opens here meanwhile */
    CHECK(strcmp(last(&b), "{\"type\":\"OPEN\"}") == 0);
    /* Not straight to bob, ahead of the first: behind it. */
    say(p, &a, "{\"type\":\"CANDIDATE\",\"dst\":\"bob\",\"payload\":2}", 0);
    CHECK(n.routes == 2 && strcmp(last(&b), "{\"type\":\"OPEN\"}") == 0);
    answer_route(p, &n, NULL, false, 0);
    CHECK(b.n == 2 && strstr(b.got[1], "\"payload\":1") != NULL);
    answer_route(p, &n, NULL, false, 0);
    CHECK(b.n == 3 && strstr(b.got[2], "\"payload\":2") != NULL);
    fake_end(p, &a);
    fake_end(p, &b);
    pj_free(p);
    fnet_fini(&n);
}

TEST(peerjs_with_a_cluster_routes_forwards_holds_and_delivers)
{
    struct fnet n;
    struct pj *p = pj_on_fnet(&n);
    struct fake a;
    static const char from_b[] = "{\"type\":\"ANSWER\",\"src\":\"bob\","
                                 "\"dst\":\"alice\"}";
    static const char to_gone[] = "{\"type\":\"OFFER\",\"src\":\"erin\","
                                  "\"dst\":\"gone\"}";

    fake_claimed(p, &a, "alice", "t1");
    /* bob on node n2: forwarded there */
    say(p, &a, "{\"type\":\"OFFER\",\"dst\":\"bob\",\"payload\":{\"i\":1}}", 0);
    CHECK(n.routes == 1 && strcmp(n.route_dst, "bob") == 0);
    answer_route(p, &n, "n2", false, 0);
    CHECK(n.nfwd == 1 && strcmp(n.fwd_node, "n2") == 0);
    CHECK(strcmp(n.fwd[0], "{\"type\":\"OFFER\",\"src\":\"alice\",\"dst\":"
                           "\"bob\",\"payload\":{\"i\":1}}") == 0);
    /* carol nowhere: held here, and sent on when it opens on n3 */
    say(p, &a, "{\"type\":\"OFFER\",\"dst\":\"carol\",\"payload\":{\"i\":2}}",
        0);
    answer_route(p, &n, NULL, false, 0);
    say(p, &a, "{\"type\":\"LEAVE\",\"dst\":\"carol\"}", 0);
    answer_route(p, &n, NULL, false, 0); /* not held */
    say(p, &a, "{\"type\":\"CANDIDATE\",\"dst\":\"carol\"}", 0);
    answer_route(p, &n, NULL, false, 0);
    CHECK(pj_held_count(p) == 2 && n.nfwd == 1);
    pj_opened(p, "carol", "n3");
    CHECK(n.nfwd == 3 && strcmp(n.fwd_node, "n3") == 0);
    CHECK(strstr(n.fwd[1], "\"OFFER\"") && strstr(n.fwd[2], "\"CANDIDATE\""));
    CHECK(pj_held_count(p) == 0);
    /* held for dave, then dave found on n4 by the next route: what was
     * held goes first (a second apart: under the rate, burst 5, 1/s) */
    say(p, &a, "{\"type\":\"OFFER\",\"dst\":\"dave\",\"payload\":1}", 1000);
    answer_route(p, &n, NULL, false, 0);
    say(p, &a, "{\"type\":\"CANDIDATE\",\"dst\":\"dave\",\"payload\":2}", 2000);
    answer_route(p, &n, "n4", false, 0);
    CHECK(n.nfwd == 5 && strstr(n.fwd[3], "\"payload\":1") &&
          strstr(n.fwd[4], "\"payload\":2"));
    /* from another node: delivered here */
    pj_deliver(p, "alice", from_b, strlen(from_b), 0);
    CHECK(strcmp(last(&a), from_b) == 0);
    /* an EXPIRE for a sender elsewhere is routed too */
    pj_deliver(p, "gone", to_gone, strlen(to_gone), 0);
    CHECK(pj_held_count(p) == 1);
    pj_tick(p, 10000);
    CHECK(strcmp(n.route_dst, "erin") == 0);
    answer_route(p, &n, "n5", false, 10000);
    CHECK(strcmp(n.fwd[n.nfwd - 1], "{\"type\":\"EXPIRE\",\"src\":\"gone\","
                                    "\"dst\":\"erin\"}") == 0);
    /* Redis down: held here, expires as on one sidecar */
    n.up = 0;
    say(p, &a, "{\"type\":\"OFFER\",\"dst\":\"frank\"}", 20000);
    CHECK(pj_held_count(p) == 1);
    fake_end(p, &a);
    pj_free(p);
    fnet_fini(&n);
}
