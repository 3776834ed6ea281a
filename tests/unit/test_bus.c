/* The Redis bus against a real redis-server: each test starts its own on a
 * free loopback port (fork/exec), runs two or three bus instances ("nodes")
 * on one libuv loop, and stops the server by PID at the end. TTLs and
 * periods are configured small so the tests stay short; nothing asserts a
 * time. Over 700 lines on purpose: one suite (label redis) whose tests
 * share the server fixture and node helpers at the top; the pure parts of
 * the bus have their own short suites (test_bus_wire.c, test_bus_sub.c,
 * test_bus_reply.c). */
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "bus_fixture.h"
#include "check.h"

#define MAX_MSGS 256

/* ---- redis-server ----------------------------------------------------- */

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Returns a synchronous connection to the server, or NULL. */
static redisContext *redis_sync(int port)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

    if (c != NULL && c->err) {
        redisFree(c);
        return NULL;
    }
    if (c != NULL)
        redisSetTimeout(c, tv);
    return c;
}

/* Starts redis-server on port (requiring password unless NULL); returns
 * its PID once it answers PING. */
/* Whether the server on c is the process pid: a port free a moment ago
 * may have been taken by another test's redis-server (ctest runs two at
 * once), which would then answer for ours. */
static bool served_by(redisContext *c, pid_t pid, const char *password)
{
    char want[32];
    redisReply *r;
    bool ours;

    if (password != NULL)
        freeReplyObject(redisCommand(c, "AUTH %s", password));
    r = redisCommand(c, "INFO server");
    snprintf(want, sizeof want, "\nprocess_id:%d\r", (int)pid);
    ours = r != NULL && r->type == REDIS_REPLY_STRING &&
           strstr(r->str, want) != NULL;
    freeReplyObject(r);
    return ours;
}

/* Starts redis-server on port: its pid once it answers, or -1 (it did not
 * come up, or the port turned out to be another's). */
static pid_t redis_start_pw(int port, const char *password)
{
    char portstr[16];
    pid_t pid;
    uint64_t deadline = now_ms() + 10000;

    snprintf(portstr, sizeof portstr, "%d", port);
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a crashed test leaves none */
        if (null >= 0)
            dup2(null, 1); /* keep the test's stdout pipe free */
        execl(BUS_REDIS_SERVER, "redis-server", "--port", portstr, "--bind",
              "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel",
              "warning", password ? "--requirepass" : (char *)NULL, password,
              (char *)NULL);
        _exit(127);
    }
    while (pid > 0 && now_ms() < deadline) {
        redisContext *c = redis_sync(port);
        redisReply *r = c ? redisCommand(c, "PING") : NULL;
        bool ok = r != NULL && (r->type == REDIS_REPLY_STATUS ||
                                (r->type == REDIS_REPLY_ERROR &&
                                 strncmp(r->str, "NOAUTH", 6) == 0));
        freeReplyObject(r);
        ok = ok && served_by(c, pid, password);
        redisFree(c);
        if (ok)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            break;     /* it exited: the port is taken */
        usleep(10000); /* nothing to wait on: the server has no ready fd */
    }
    fprintf(stderr, "redis-server on port %d did not come up\n", port);
    return -1;
}

static pid_t redis_start(int port)
{
    return redis_start_pw(port, NULL);
}

static void redis_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGCONT);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static long long redis_int(int port, const char *cmd, const char *arg)
{
    redisContext *c = redis_sync(port);
    redisReply *r = c ? redisCommand(c, "%s %s", cmd, arg) : NULL;
    long long v = -99;

    if (r != NULL && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    if (r != NULL && r->type == REDIS_REPLY_ARRAY)
        v = (long long)r->elements;
    freeReplyObject(r);
    redisFree(c);
    return v;
}

/* ---- the loop and the nodes ------------------------------------------ */

struct msg {
    bool to_node;
    char room[65];
    char origin[96];
    char *json;
    size_t len;
    uint64_t at;
};

struct node {
    struct bus *bus;
    int ups, downs, lapses;
    struct msg msgs[MAX_MSGS];
    int nmsgs;
};

struct fx {
    uv_loop_t loop;
    uv_timer_t tick;
    int port;
    pid_t redis;
    struct bus_config cfg;
};

static void on_tick(uv_timer_t *t)
{
    (void)t; /* only bounds how long uv_run(UV_RUN_ONCE) blocks */
}

/* Runs the loop until cond holds or ms passed; yields cond. */
#define RUN_UNTIL(fx, cond, ms)                                                \
    ({                                                                         \
        uint64_t dl_ = now_ms() + (ms);                                        \
        while (!(cond) && now_ms() < dl_)                                      \
            uv_run(&(fx)->loop, UV_RUN_ONCE);                                  \
        (cond);                                                                \
    })

static void run_for(struct fx *fx, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;

    while (now_ms() < end)
        uv_run(&fx->loop, UV_RUN_ONCE);
}

static int fx_init(struct fx *fx)
{
    memset(fx, 0, sizeof *fx);
    uv_loop_init(&fx->loop);
    uv_timer_init(&fx->loop, &fx->tick);
    uv_timer_start(&fx->tick, on_tick, 10, 10);
    /* Another test may take the free port first: then another one. */
    for (int i = 0; i < 5 && fx->redis <= 0; i++) {
        fx->port = free_port();
        fx->redis = redis_start(fx->port);
    }
    bus_test_config(&fx->cfg);
    fx->cfg.node_ttl_ms = 600;
    fx->cfg.heartbeat_ms = 150;
    fx->cfg.reaper_ms = 200;
    fx->cfg.ping_ms = 100;
    fx->cfg.ping_timeout_ms = 400;
    fx->cfg.backoff_min_ms = 50;
    fx->cfg.backoff_max_ms = 400;
    fx->cfg.room_ttl_ms = 300;
    fx->cfg.resume_grace_ms = 0; /* a dead node's seats go at once, unless
                                    a test gives them a grace */
    return fx->redis > 0 ? 0 : -1;
}

static void node_on_up(void *user)
{
    ((struct node *)user)->ups++;
}

static void node_on_down(void *user)
{
    ((struct node *)user)->downs++;
}

static void node_on_lapsed(void *user)
{
    ((struct node *)user)->lapses++;
}

static void node_keep(struct node *n, bool to_node, const char *room,
                      const char *origin, const char *json, size_t len)
{
    struct msg *m;

    if (n->nmsgs >= MAX_MSGS)
        return;
    m = &n->msgs[n->nmsgs++];
    m->to_node = to_node;
    snprintf(m->room, sizeof m->room, "%s", room);
    snprintf(m->origin, sizeof m->origin, "%s", origin);
    m->json = malloc(len + 1);
    memcpy(m->json, json, len);
    m->json[len] = '\0';
    m->len = len;
    m->at = now_ms();
}

static void node_on_room(void *user, const char *room, const char *origin,
                         const char *json, size_t len)
{
    node_keep(user, false, room, origin, json, len);
}

static void node_on_node(void *user, const char *origin, const char *json,
                         size_t len)
{
    node_keep(user, true, "", origin, json, len);
}

static void node_clear(struct node *n)
{
    for (int i = 0; i < n->nmsgs; i++)
        free(n->msgs[i].json);
    n->nmsgs = 0;
}

static int node_start(struct fx *fx, struct node *n, const char *name)
{
    static const struct bus_callbacks cb = {
        node_on_up, node_on_down, node_on_room, node_on_node, node_on_lapsed};
    char url[64];

    memset(n, 0, sizeof *n);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", fx->port);
    fx->cfg.url = url;
    fx->cfg.node_id = name;
    n->bus = bus_create(&fx->loop, &fx->cfg, &cb, n);
    fx->cfg.url = NULL;
    if (n->bus == NULL)
        return -1;
    return RUN_UNTIL(fx, n->ups > 0, 5000) ? 0 : -1;
}

static void node_stop(struct node *n)
{
    bus_free(n->bus);
    n->bus = NULL;
    node_clear(n);
}

static void fx_done(struct fx *fx)
{
    uv_close((uv_handle_t *)&fx->tick, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT); /* the buses' handles close too */
    CHECK(uv_loop_close(&fx->loop) == 0);
    redis_stop(fx->redis);
}

/* Counts messages whose JSON contains needle. */
static int count_msgs(const struct node *n, const char *needle)
{
    int c = 0;

    for (int i = 0; i < n->nmsgs; i++)
        if (strstr(n->msgs[i].json, needle) != NULL)
            c++;
    return c;
}

/* ---- results of asynchronous calls ----------------------------------- */

struct result {
    bool done;
    enum bus_status st;
    int n_members;
    char members[16][200]; /* "peer@node=json" */
    int n_chat;
    char chat[8][64];
    char peer[64], old_node[96], peer_json[64];
    int64_t moves;
    int64_t since;   /* a resume's BUS_KNOCK */
    char reason[16]; /* BUS_DENIED */
};

static void on_room_result(void *arg, const struct bus_room *r)
{
    struct result *res = arg;

    res->done = true;
    res->st = r->status;
    res->n_members = (int)r->n_members;
    for (size_t i = 0; i < r->n_members && i < 16; i++)
        snprintf(res->members[i], sizeof res->members[i], "%s@%s=%.*s",
                 r->members[i].peer, r->members[i].node,
                 (int)r->members[i].json_len, r->members[i].json);
    res->n_chat = (int)r->n_chat;
    for (size_t i = 0; i < r->n_chat && i < 8; i++)
        snprintf(res->chat[i], sizeof res->chat[i], "%.*s", (int)r->chat[i].len,
                 r->chat[i].s);
    if (r->reason != NULL)
        snprintf(res->reason, sizeof res->reason, "%s", r->reason);
    if (r->peer != NULL)
        snprintf(res->peer, sizeof res->peer, "%s", r->peer);
    res->since = r->since;
    if (r->old_node != NULL) {
        snprintf(res->old_node, sizeof res->old_node, "%s", r->old_node);
        snprintf(res->peer_json, sizeof res->peer_json, "%.*s",
                 (int)r->peer_json_len, r->peer_json);
        res->moves = r->moves;
    }
}

static void on_done_result(void *arg, enum bus_status st)
{
    struct result *res = arg;

    res->done = true;
    res->st = st;
}

static bool has_member(const struct result *r, const char *peer,
                       const char *node)
{
    char want[200];

    snprintf(want, sizeof want, "%s@%s=", peer, node);
    for (int i = 0; i < r->n_members; i++)
        if (strncmp(r->members[i], want, strlen(want)) == 0)
            return true;
    return false;
}

/* Joins peer (peer object {"id":"<peer>"}, token "tok-<peer>") as e
 * says and waits. With e the peer object has a role too, which the access
 * rules read; NULL: a plain join. */
static enum bus_status join_as(struct fx *fx, struct node *n, const char *room,
                               const char *peer, const struct bus_entry *e,
                               struct result *res)
{
    char json[128], token[96], announce[160];

    memset(res, 0, sizeof *res);
    snprintf(json, sizeof json,
             e != NULL ? "{\"id\":\"%s\",\"role\":\"guest\"}"
                       : "{\"id\":\"%s\"}",
             peer);
    snprintf(token, sizeof token, "tok-%s", peer);
    snprintf(announce, sizeof announce,
             "{\"type\":\"peer-joined\",\"peer\":%s}", json);
    if (bus_join(n->bus, room, peer, token, json, strlen(json), announce,
                 strlen(announce), 0, e, on_room_result, res) < 0)
        return BUS_ERR;
    if (!RUN_UNTIL(fx, res->done, 5000))
        return BUS_ERR;
    return res->st;
}

static enum bus_status join_wait(struct fx *fx, struct node *n,
                                 const char *room, const char *peer,
                                 struct result *res)
{
    return join_as(fx, n, room, peer, NULL, res);
}

/* How join_as enters: the first member of an empty room (its host), a
 * first knock at a locked room, and a knock sent again. */
static const struct bus_entry as_host = {.role = -1};
static const struct bus_entry first_knock = {.knock = "{\"id\":\"k\"}"};
static const struct bus_entry knock_again = {.knocked = true, .knock = "{}"};

/* Resumes the seat of token in room with new_token, as the page's resume
 * numbered attempt (0: none), and waits. */
static enum bus_status resume_at(struct fx *fx, struct node *n,
                                 const char *room, const char *token,
                                 const char *new_token, int64_t attempt,
                                 struct result *res)
{
    memset(res, 0, sizeof *res);
    if (bus_resume(n->bus, room, token, new_token, attempt, on_room_result,
                   res) < 0)
        return BUS_ERR;
    return RUN_UNTIL(fx, res->done, 3000) ? res->st : BUS_ERR;
}

/* resume_at with no number, as a client that sends none. */
static enum bus_status resume_wait(struct fx *fx, struct node *n,
                                   const char *room, const char *token,
                                   const char *new_token, struct result *res)
{
    return resume_at(fx, n, room, token, new_token, 0, res);
}

/* Does a host action (or a withdrawal) and waits. */
static enum bus_status host_wait(struct fx *fx, struct node *n,
                                 enum bus_action act, const char *room,
                                 const char *by, const char *a)
{
    struct result res = {0};

    if (bus_host(n->bus, act, room, by, a, NULL, on_done_result, &res) < 0)
        return BUS_ERR;
    return RUN_UNTIL(fx, res.done, 5000) ? res.st : BUS_ERR;
}

/* ---- tests ------------------------------------------------------------ */

TEST(two_nodes_exchange_room_and_node_messages)
{
    struct fx fx;
    struct node a, b;
    struct result ra, rb;
    static const char hello[] = "{\"type\":\"chat\",\"text\":\"hi\"}";
    static const char direct[] = "{\"type\":\"signal\",\"data\":{}}";

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(bus_is_up(a.bus) && bus_is_up(b.bus));
    CHECK(strncmp(bus_node_id(a.bus), "a.", 2) == 0);
    CHECK(join_wait(&fx, &a, "r1", "pa", &ra) == BUS_OK);
    CHECK(join_wait(&fx, &b, "r1", "pb", &rb) == BUS_OK);
    /* a hears b's peer-joined; b does not hear its own */
    CHECK(RUN_UNTIL(&fx, count_msgs(&a, "\"pb\"") == 1, 3000));
    CHECK(count_msgs(&b, "peer-joined") == 0);

    CHECK(bus_publish_room(a.bus, "r1", hello, strlen(hello)) == 0);
    CHECK(RUN_UNTIL(&fx, count_msgs(&b, "\"hi\"") == 1, 3000));
    CHECK_STR(b.msgs[b.nmsgs - 1].room, "r1");
    CHECK_STR(b.msgs[b.nmsgs - 1].origin, bus_node_id(a.bus));
    CHECK_STR(b.msgs[b.nmsgs - 1].json, hello);

    CHECK(bus_publish_node(b.bus, bus_node_id(a.bus), direct, strlen(direct)) ==
          0);
    CHECK(RUN_UNTIL(&fx, count_msgs(&a, "signal") == 1, 3000));
    CHECK(a.msgs[a.nmsgs - 1].to_node);
    CHECK_STR(a.msgs[a.nmsgs - 1].origin, bus_node_id(b.bus));
    CHECK_STR(a.msgs[a.nmsgs - 1].json, direct);
    run_for(&fx, 100);
    CHECK(count_msgs(&a, "\"hi\"") == 0); /* own publish not echoed */

    CHECK(bus_publish_room(a.bus, "bad room", hello, strlen(hello)) < 0);
    CHECK(bus_publish_node(a.bus, "no spaces", hello, strlen(hello)) < 0);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

/* A chat goes to the nodes holding the room's other members, in order
 * with the room channel's messages: not back to its sender's node, not to
 * a node only subscribed to the room. Its reply, which nobody waits for,
 * is still read: a NOSCRIPT answer to it drops the bus, which reloads. */
TEST(chat_is_relayed_to_the_other_nodes_only_and_its_reply_is_read)
{
    struct fx fx;
    struct node a, b, c;
    struct result ra, rb;
    static const char m[] = "{\"type\":\"chat\",\"text\":\"relayed\"}";
    static const char left[] = "{\"type\":\"peer-left\",\"id\":\"pa\"}";
    redisContext *rc;
    redisReply *r;

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(node_start(&fx, &c, "c") == 0);
    CHECK(join_wait(&fx, &a, "r1", "pa", &ra) == BUS_OK);
    CHECK(join_wait(&fx, &b, "r1", "pb", &rb) == BUS_OK);
    CHECK(bus_subscribe_room(c.bus, "r1") == 0);
    run_for(&fx, 100);
    node_clear(&a);
    node_clear(&b);
    node_clear(&c);

    CHECK(bus_chat(a.bus, "r1", m, strlen(m), m, strlen(m), NULL, NULL) == 0);
    CHECK(bus_leave(a.bus, "r1", "pa", left, strlen(left), 0, NULL, NULL) == 0);
    CHECK(RUN_UNTIL(&fx, b.nmsgs == 2, 3000));
    CHECK(!b.msgs[0].to_node);
    CHECK_STR(b.msgs[0].room, "r1");
    CHECK_STR(b.msgs[0].origin, bus_node_id(a.bus));
    CHECK_STR(b.msgs[0].json, m);
    CHECK_STR(b.msgs[1].json, left); /* after the chat, on the room channel */
    run_for(&fx, 200);
    CHECK(a.nmsgs == 0 && b.nmsgs == 2 && c.nmsgs == 1);
    CHECK(count_msgs(&c, "relayed") == 0 && count_msgs(&c, "peer-left") == 1);
    /* b alone in the room: its chat is kept, and goes to no node */
    CHECK(bus_chat(b.bus, "r1", m, strlen(m), m, strlen(m), NULL, NULL) == 0);
    run_for(&fx, 200);
    CHECK(a.nmsgs == 0 && b.nmsgs == 2 && c.nmsgs == 1);
    CHECK(redis_int(fx.port, "LLEN", "huddle:room:r1:chat") == 2);

    rc = redis_sync(fx.port);
    r = rc != NULL ? redisCommand(rc, "SCRIPT FLUSH") : NULL;
    CHECK(r != NULL && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    redisFree(rc);
    CHECK(bus_chat(b.bus, "r1", m, strlen(m), m, strlen(m), NULL, NULL) == 0);
    CHECK(RUN_UNTIL(&fx, b.downs == 1, 3000));
    CHECK(RUN_UNTIL(&fx, b.ups == 2, 5000));
    CHECK(bus_chat(b.bus, "r1", m, strlen(m), m, strlen(m), NULL, NULL) == 0);
    CHECK(RUN_UNTIL(&fx, redis_int(fx.port, "LLEN", "huddle:room:r1:chat") == 3,
                    3000));
    node_stop(&a);
    node_stop(&b);
    node_stop(&c);
    fx_done(&fx);
}

/* The command connection reads only when someone waits for a reply, or
 * late: one closed by Redis while nothing is awaited is still noticed
 * (its heartbeat and ping replies are read late, and find the end). */
TEST(command_connection_closed_while_idle_is_noticed)
{
    struct fx fx;
    struct node a;
    struct result r;
    redisContext *rc;
    redisReply *rep;

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    run_for(&fx, 200); /* up, nothing awaited */
    rc = redis_sync(fx.port);
    rep = rc != NULL ? redisCommand(rc, "CLIENT KILL TYPE normal") : NULL;
    CHECK(rep != NULL && rep->type == REDIS_REPLY_INTEGER &&
          rep->integer == 1); /* a's command connection, not this one */
    freeReplyObject(rep);
    redisFree(rc);
    CHECK(RUN_UNTIL(&fx, a.downs == 1, 2000));
    CHECK(RUN_UNTIL(&fx, a.ups == 2, 5000));
    CHECK(join_wait(&fx, &a, "room", "pa", &r) == BUS_OK);
    node_stop(&a);
    fx_done(&fx);
}

TEST(unsubscribed_room_stops_delivery_and_churn_keeps_the_subscription)
{
    struct fx fx;
    struct node a, b;
    static const char m1[] = "{\"n\":1}", m2[] = "{\"n\":2}";
    static const char m3[] = "{\"n\":3}";

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(bus_subscribe_room(b.bus, "room") == 0);
    CHECK(bus_subscribe_room(b.bus, "no/room") < 0);
    /* no way to wait for a bare subscription: publish until it arrives */
    for (int i = 0; i < 100 && count_msgs(&b, "\"n\":1") == 0; i++) {
        CHECK(bus_publish_room(a.bus, "room", m1, strlen(m1)) == 0);
        RUN_UNTIL(&fx, count_msgs(&b, "\"n\":1") > 0, 20);
    }
    CHECK(count_msgs(&b, "\"n\":1") > 0);
    bus_unsubscribe_room(b.bus, "room");
    run_for(&fx, 100);
    CHECK(bus_publish_room(a.bus, "room", m2, strlen(m2)) == 0);
    run_for(&fx, 200);
    CHECK(count_msgs(&b, "\"n\":2") == 0);
    /* subscribe, unsubscribe, subscribe in one turn: hiredis keeps the
     * channel's callback (pending_subs), so delivery resumes */
    CHECK(bus_subscribe_room(b.bus, "room") == 0);
    bus_unsubscribe_room(b.bus, "room");
    CHECK(bus_subscribe_room(b.bus, "room") == 0);
    for (int i = 0; i < 100 && count_msgs(&b, "\"n\":3") == 0; i++) {
        CHECK(bus_publish_room(a.bus, "room", m3, strlen(m3)) == 0);
        RUN_UNTIL(&fx, count_msgs(&b, "\"n\":3") > 0, 20);
    }
    CHECK(count_msgs(&b, "\"n\":3") > 0);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

TEST(join_respects_the_cap_when_two_nodes_race_for_the_last_seat)
{
    struct fx fx;
    struct node a, b;
    int winners_a = 0, winners_b = 0;

    CHECK(fx_init(&fx) == 0);
    fx.cfg.max_peers = 3;
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    for (int round = 0; round < 20; round++) {
        char room[16];
        struct result r1, r2, ra, rb, all;
        snprintf(room, sizeof room, "race%d", round);
        CHECK(join_wait(&fx, &a, room, "p1", &r1) == BUS_OK);
        CHECK(join_wait(&fx, &b, room, "p2", &r2) == BUS_OK);
        memset(&ra, 0, sizeof ra);
        memset(&rb, 0, sizeof rb);
        /* both requests leave in the same loop turn, in turns first */
        for (int k = 0; k < 2; k++) {
            if ((k + round) % 2 == 0)
                CHECK(bus_join(a.bus, room, "pa", "tok-pa", "{}", 2, NULL, 0, 0,
                               NULL, on_room_result, &ra) == 0);
            else
                CHECK(bus_join(b.bus, room, "pb", "tok-pb", "{}", 2, NULL, 0, 0,
                               NULL, on_room_result, &rb) == 0);
        }
        CHECK(RUN_UNTIL(&fx, ra.done && rb.done, 5000));
        CHECK((ra.st == BUS_OK) != (rb.st == BUS_OK));
        CHECK(ra.st == BUS_FULL || rb.st == BUS_FULL);
        winners_a += ra.st == BUS_OK;
        winners_b += rb.st == BUS_OK;
        memset(&all, 0, sizeof all);
        CHECK(bus_room(a.bus, room, on_room_result, &all) == 0);
        CHECK(RUN_UNTIL(&fx, all.done, 5000) && all.n_members == 3);
    }
    printf("race: node a won %d rounds, node b %d\n", winners_a, winners_b);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

TEST(member_list_chat_update_and_leave_span_both_nodes)
{
    struct fx fx;
    struct node a, b;
    struct result ra, rb, st, done;
    char chat[32];

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(join_wait(&fx, &a, "room", "pa", &ra) == BUS_OK);
    for (int i = 0; i < 3; i++) {
        snprintf(chat, sizeof chat, "{\"text\":\"m%d\"}", i);
        memset(&done, 0, sizeof done);
        CHECK(bus_chat(a.bus, "room", chat, strlen(chat), chat, strlen(chat),
                       on_done_result, &done) == 0);
        CHECK(RUN_UNTIL(&fx, done.done, 3000) && done.st == BUS_OK);
    }
    CHECK(join_wait(&fx, &b, "room", "pb", &rb) == BUS_OK);
    CHECK(rb.n_members == 2);
    CHECK(has_member(&rb, "pa", bus_node_id(a.bus)));
    CHECK(has_member(&rb, "pb", bus_node_id(b.bus)));
    CHECK(rb.n_chat == 3);
    CHECK_STR(rb.chat[0], "{\"text\":\"m0\"}"); /* oldest first */
    CHECK_STR(rb.chat[2], "{\"text\":\"m2\"}");

    /* a joins pb again: the seat is b's */
    memset(&ra, 0, sizeof ra);
    CHECK(bus_join(a.bus, "room", "pb", "", "{}", 2, NULL, 0, BUS_JOIN_FORCE,
                   NULL, on_room_result, &ra) == 0);
    CHECK(RUN_UNTIL(&fx, ra.done, 3000) && ra.st == BUS_MOVED);

    memset(&done, 0, sizeof done);
    CHECK(bus_update(b.bus, "room", "pb", "{\"id\":\"pb\",\"hand\":true}", 24,
                     "{\"type\":\"peer-state\"}", 21, on_done_result,
                     &done) == 0);
    CHECK(RUN_UNTIL(&fx, done.done, 3000) && done.st == BUS_OK);
    CHECK(RUN_UNTIL(&fx, count_msgs(&a, "peer-state") == 1, 3000));
    memset(&done, 0, sizeof done);
    CHECK(bus_update(a.bus, "room", "pb", "{}", 2, NULL, 0, on_done_result,
                     &done) == 0);
    CHECK(RUN_UNTIL(&fx, done.done, 3000) && done.st == BUS_NONE);

    memset(&st, 0, sizeof st);
    CHECK(bus_room(a.bus, "room", on_room_result, &st) == 0);
    CHECK(RUN_UNTIL(&fx, st.done, 3000) && st.st == BUS_OK);
    CHECK(has_member(&st, "pb", bus_node_id(b.bus)));
    for (int i = 0; i < st.n_members; i++)
        if (strncmp(st.members[i], "pb@", 3) == 0)
            CHECK(strstr(st.members[i], "\"hand\":true") != NULL);

    /* leave by the wrong node is refused; by the holder it announces */
    memset(&done, 0, sizeof done);
    CHECK(bus_leave(a.bus, "room", "pb", NULL, 0, 0, on_done_result, &done) ==
          0);
    CHECK(RUN_UNTIL(&fx, done.done, 3000) && done.st == BUS_NONE);
    memset(&done, 0, sizeof done);
    CHECK(bus_leave(b.bus, "room", "pb", "{\"type\":\"peer-left\"}", 20, 0,
                    on_done_result, &done) == 0);
    CHECK(RUN_UNTIL(&fx, done.done, 3000) && done.st == BUS_OK);
    CHECK(RUN_UNTIL(&fx, count_msgs(&a, "peer-left") == 1, 3000));
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

TEST(resume_takes_the_seat_back_on_another_node_once)
{
    struct fx fx;
    struct node a, b;
    struct result r, rs, done;

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(join_wait(&fx, &a, "room", "pa", &r) == BUS_OK);
    CHECK(resume_wait(&fx, &b, "room", "tok-pa", "tok-new", &rs) == BUS_OK);
    CHECK_STR(rs.peer, "pa");
    CHECK_STR(rs.old_node, bus_node_id(a.bus));
    CHECK_STR(rs.peer_json, "{\"id\":\"pa\"}");
    CHECK(rs.n_members == 1 && has_member(&rs, "pa", bus_node_id(b.bus)));

    /* the old node's late grace expiry must not remove the moved seat */
    memset(&done, 0, sizeof done);
    CHECK(bus_leave(a.bus, "room", "pa", NULL, 0, 0, on_done_result, &done) ==
          0);
    CHECK(RUN_UNTIL(&fx, done.done, 3000) && done.st == BUS_NONE);
    /* until the newest token is used, the one before it still works (the
     * welcome that carried the newest may have been lost) */
    CHECK(resume_wait(&fx, &a, "room", "tok-pa", "tok-x", &rs) == BUS_OK);
    CHECK_STR(rs.peer, "pa");
    /* tokens are scoped to their room */
    CHECK(resume_wait(&fx, &a, "other", "tok-x", "tok-y", &rs) == BUS_NONE);
    /* using the newest ends every token before it */
    CHECK(resume_wait(&fx, &b, "room", "tok-x", "tok-z", &rs) == BUS_OK);
    CHECK_STR(rs.old_node, bus_node_id(a.bus));
    CHECK(resume_wait(&fx, &a, "room", "tok-pa", "tok-w", &rs) == BUS_NONE);
    CHECK(resume_wait(&fx, &a, "room", "tok-new", "tok-w", &rs) == BUS_NONE);
    CHECK(resume_wait(&fx, &a, "room", "tok-z", "tok-v", &rs) == BUS_OK);
    CHECK_STR(rs.old_node, bus_node_id(b.bus));
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

TEST(reaper_removes_members_of_a_dead_node_and_announces_once)
{
    struct fx fx;
    struct node a, b, c;
    struct result r, st;
    uint64_t died;

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(node_start(&fx, &c, "c") == 0);
    CHECK(join_wait(&fx, &a, "room", "a1", &r) == BUS_OK);
    CHECK(join_wait(&fx, &a, "room", "a2", &r) == BUS_OK);
    CHECK(join_wait(&fx, &a, "solo", "a3", &r) == BUS_OK);
    CHECK(join_wait(&fx, &b, "room", "b1", &r) == BUS_OK);
    CHECK(join_wait(&fx, &c, "room", "c1", &r) == BUS_OK);
    node_clear(&b);
    node_clear(&c);

    node_stop(&a); /* like kill -9: no leave, the heartbeat just stops */
    died = now_ms();
    CHECK(RUN_UNTIL(&fx,
                    count_msgs(&b, "\"reason\":\"timeout\"") == 2 &&
                        count_msgs(&c, "\"reason\":\"timeout\"") == 2,
                    10000));
    printf("reaped after %llu ms (node TTL %ld, reaper period %ld)\n",
           (unsigned long long)(now_ms() - died), fx.cfg.node_ttl_ms,
           fx.cfg.reaper_ms);
    CHECK(count_msgs(&b, "{\"type\":\"peer-left\",\"id\":\"a1\","
                         "\"reason\":\"timeout\"}") == 1);
    CHECK(count_msgs(&c, "\"id\":\"a2\"") == 1);
    for (int i = 0; i < b.nmsgs; i++) /* the reaper speaks for no node */
        if (strstr(b.msgs[i].json, "timeout") != NULL)
            CHECK(b.msgs[i].origin[0] == '\0');
    /* both b and c run reapers: wait several periods, still once */
    run_for(&fx, 4 * (int)fx.cfg.reaper_ms);
    CHECK(count_msgs(&b, "peer-left") == 2);
    CHECK(count_msgs(&c, "peer-left") == 2);
    memset(&st, 0, sizeof st);
    CHECK(bus_room(b.bus, "room", on_room_result, &st) == 0);
    CHECK(RUN_UNTIL(&fx, st.done, 3000) && st.n_members == 2);
    CHECK(has_member(&st, "b1", bus_node_id(b.bus)));
    CHECK(has_member(&st, "c1", bus_node_id(c.bus)));
    CHECK(redis_int(fx.port, "HLEN", "huddle:room:solo:members") == 0);
    CHECK(redis_int(fx.port, "SCARD", "huddle:nodes") == 2);
    node_stop(&b);
    node_stop(&c);
    fx_done(&fx);
}

TEST(seat_resumed_elsewhere_after_its_node_died_is_not_reaped)
{
    struct fx fx;
    struct node a, b;
    struct result r, rs, st;

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(join_wait(&fx, &a, "room", "a1", &r) == BUS_OK);
    CHECK(join_wait(&fx, &a, "room", "a2", &r) == BUS_OK);
    CHECK(join_wait(&fx, &b, "room", "b1", &r) == BUS_OK);
    node_stop(&a);
    /* a1's client reconnects to b within the grace period */
    CHECK(resume_wait(&fx, &b, "room", "tok-a1", "tok-a1b", &rs) == BUS_OK);
    CHECK_STR(rs.peer, "a1");
    CHECK(RUN_UNTIL(&fx, count_msgs(&b, "\"reason\":\"timeout\"") == 1, 10000));
    run_for(&fx, 3 * (int)fx.cfg.reaper_ms);
    CHECK(count_msgs(&b, "\"id\":\"a2\",\"reason\":\"timeout\"") == 1);
    CHECK(count_msgs(&b, "\"id\":\"a1\",\"reason\"") == 0);
    memset(&st, 0, sizeof st);
    CHECK(bus_room(b.bus, "room", on_room_result, &st) == 0);
    CHECK(RUN_UNTIL(&fx, st.done, 3000) && st.n_members == 2);
    CHECK(has_member(&st, "a1", bus_node_id(b.bus)));
    CHECK(has_member(&st, "b1", bus_node_id(b.bus)));
    node_stop(&b);
    fx_done(&fx);
}

TEST(a_dead_nodes_seats_wait_the_grace_for_a_resume_then_go_once)
{
    struct fx fx;
    struct node a, b, c;
    struct result r, rs, st;
    uint64_t died, gone;

    CHECK(fx_init(&fx) == 0);
    fx.cfg.resume_grace_ms = 1500;
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(node_start(&fx, &c, "c") == 0);
    CHECK(join_wait(&fx, &a, "room", "a1", &r) == BUS_OK);
    CHECK(join_wait(&fx, &a, "room", "a2", &r) == BUS_OK);
    CHECK(join_wait(&fx, &b, "room", "b1", &r) == BUS_OK);
    CHECK(join_wait(&fx, &c, "room", "c1", &r) == BUS_OK);
    node_clear(&b);
    node_clear(&c);
    char dead[BUS_ID_MAX + 1];
    snprintf(dead, sizeof dead, "%s", bus_node_id(a.bus));

    node_stop(&a); /* like kill -9, or a stall: the heartbeat stops */
    died = now_ms();
    /* reaped into the grace: the node is forgotten, its seats are not */
    CHECK(
        RUN_UNTIL(&fx, redis_int(fx.port, "ZCARD", "huddle:grace") == 2, 5000));
    CHECK(redis_int(fx.port, "SCARD", "huddle:nodes") == 2);
    CHECK(count_msgs(&b, "peer-left") == 0);
    /* a1's page comes back on b within the grace: same seat */
    CHECK(resume_wait(&fx, &b, "room", "tok-a1", "tok-a1b", &rs) == BUS_OK);
    CHECK_STR(rs.peer, "a1");
    CHECK_STR(rs.old_node, dead);
    CHECK(has_member(&rs, "a2", dead)); /* still listed, its old node */
    /* a2 never comes back: announced once, after the grace */
    CHECK(RUN_UNTIL(&fx, count_msgs(&c, "\"id\":\"a2\"") == 1, 10000));
    gone = now_ms() - died;
    printf("a dead node's unresumed seat went after %llu ms (node TTL %ld, "
           "grace %ld, reaper period %ld)\n",
           (unsigned long long)gone, fx.cfg.node_ttl_ms, fx.cfg.resume_grace_ms,
           fx.cfg.reaper_ms);
    CHECK(gone >= (uint64_t)fx.cfg.resume_grace_ms);
    run_for(&fx, 4 * (int)fx.cfg.reaper_ms);
    CHECK(count_msgs(&b, "\"id\":\"a2\",\"reason\":\"timeout\"") == 1);
    CHECK(count_msgs(&c, "\"id\":\"a2\",\"reason\":\"timeout\"") == 1);
    CHECK(count_msgs(&c, "\"id\":\"a1\"") == 0);
    CHECK(redis_int(fx.port, "ZCARD", "huddle:grace") == 0);
    memset(&st, 0, sizeof st);
    CHECK(bus_room(b.bus, "room", on_room_result, &st) == 0);
    CHECK(RUN_UNTIL(&fx, st.done, 3000) && st.n_members == 3);
    CHECK(has_member(&st, "a1", bus_node_id(b.bus)));
    node_stop(&b);
    node_stop(&c);
    fx_done(&fx);
}

/* Two nodes a and b, and room locked by its host "h" on a. */
static void locked_on_two_nodes(struct fx *fx, struct node *a, struct node *b,
                                const char *room)
{
    struct result res;

    CHECK(fx_init(fx) == 0);
    fx->cfg.lobby_max = 20;
    CHECK(node_start(fx, a, "a") == 0);
    CHECK(node_start(fx, b, "b") == 0);
    CHECK(join_as(fx, a, room, "h", &as_host, &res) == BUS_OK);
    CHECK(host_wait(fx, a, BUS_DO_LOCK, room, "h", "1") == BUS_OK);
}

/* The key of the set of n's knocks. */
static void knocks_key(char *out, size_t size, const struct node *n)
{
    snprintf(out, size, "huddle:node:%s:knocks", bus_node_id(n->bus));
}

/* A host's answer to a knock is kept in Redis until the knocker's node
 * takes it: a denial is answered to each join that comes with the knock
 * (a lost reply loses nothing) until the withdrawal takes it; an
 * admission lets the join in once; ending the meeting, or everyone
 * leaving, turns an admission not yet used into a denial. Nothing stays
 * once each is taken. */
TEST(a_hosts_answer_waits_in_redis_until_the_knocker_takes_it)
{
    struct fx fx;
    struct node a, b;
    struct result res;
    char knocks[128];

    locked_on_two_nodes(&fx, &a, &b, "lr");
    knocks_key(knocks, sizeof knocks, &b);

    /* denied: told to every join with the knock until withdrawn */
    CHECK(join_as(&fx, &b, "lr", "k1", &first_knock, &res) == BUS_KNOCK);
    CHECK(host_wait(&fx, &a, BUS_DO_DENY, "lr", "h", "k1") == BUS_OK);
    for (int i = 0; i < 2; i++) {
        CHECK(join_as(&fx, &b, "lr", "k1", &knock_again, &res) == BUS_DENIED);
        CHECK_STR(res.reason, "host");
    }
    CHECK(redis_int(fx.port, "HLEN", "huddle:room:lr:lobby") == 0);
    CHECK(host_wait(&fx, &b, BUS_DO_WITHDRAW, "lr", "k1", NULL) == BUS_OK);
    CHECK(redis_int(fx.port, "HLEN", "huddle:room:lr:answers") == 0);
    CHECK(join_as(&fx, &b, "lr", "k1", &knock_again, &res) == BUS_KNOCK);
    CHECK(host_wait(&fx, &b, BUS_DO_WITHDRAW, "lr", "k1", NULL) == BUS_OK);

    /* admitted: in once */
    CHECK(join_as(&fx, &b, "lr", "k2", &first_knock, &res) == BUS_KNOCK);
    CHECK(host_wait(&fx, &a, BUS_DO_ADMIT, "lr", "h", "k2") == BUS_OK);
    CHECK(join_as(&fx, &b, "lr", "k2", &knock_again, &res) == BUS_OK);
    CHECK(redis_int(fx.port, "HLEN", "huddle:room:lr:answers") == 0);
    CHECK(redis_int(fx.port, "SCARD", knocks) == 0);

    /* admitted, then the meeting ends before the knocker came in */
    CHECK(join_as(&fx, &b, "lr", "k3", &first_knock, &res) == BUS_KNOCK);
    CHECK(host_wait(&fx, &a, BUS_DO_ADMIT, "lr", "h", "k3") == BUS_OK);
    CHECK(host_wait(&fx, &a, BUS_DO_END, "lr", "h", NULL) == BUS_OK);
    CHECK(join_as(&fx, &b, "lr", "k3", &knock_again, &res) == BUS_DENIED);
    CHECK_STR(res.reason, "ended");
    CHECK(redis_int(fx.port, "HLEN", "huddle:room:lr:members") == 0);
    CHECK(host_wait(&fx, &b, BUS_DO_WITHDRAW, "lr", "k3", NULL) == BUS_OK);
    CHECK(redis_int(fx.port, "EXISTS", "huddle:room:lr:answers") == 0);

    /* admitted, then everyone leaves before the knocker came in */
    CHECK(join_as(&fx, &a, "lr", "h2", &as_host, &res) == BUS_OK);
    CHECK(host_wait(&fx, &a, BUS_DO_LOCK, "lr", "h2", "1") == BUS_OK);
    CHECK(join_as(&fx, &b, "lr", "k4", &first_knock, &res) == BUS_KNOCK);
    CHECK(host_wait(&fx, &a, BUS_DO_ADMIT, "lr", "h2", "k4") == BUS_OK);
    memset(&res, 0, sizeof res);
    CHECK(bus_leave(a.bus, "lr", "h2", NULL, 0, 0, on_done_result, &res) == 0);
    CHECK(RUN_UNTIL(&fx, res.done, 5000) && res.st == BUS_OK);
    CHECK(join_as(&fx, &b, "lr", "k4", &knock_again, &res) == BUS_DENIED);
    CHECK_STR(res.reason, "empty");
    CHECK(host_wait(&fx, &b, BUS_DO_WITHDRAW, "lr", "k4", NULL) == BUS_OK);
    CHECK(redis_int(fx.port, "EXISTS", "huddle:room:lr:answers") == 0);
    CHECK(redis_int(fx.port, "SCARD", knocks) == 0);

    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

/* The count of n's node messages that contain s. */
static int node_msgs_with(const struct node *n, const char *s)
{
    int k = 0;
    for (int i = 0; i < n->nmsgs; i++)
        k += n->msgs[i].to_node && strstr(n->msgs[i].json, s) != NULL;
    return k;
}

/* A knock's token, sent back as a resume by its page's new connection:
 * the resume names the knock (ordered by the page's numbers, as a seat's
 * are), and the join that takes it over moves its lobby row and its node's
 * knocks entry to the new node, whose old node hears x-knock-taken; only
 * the node holding a knock withdraws it, a knock sent again from the old
 * node is stale, and the token is the seat's once admitted. A knock gone
 * takes its token along. */
TEST(a_knock_moves_to_the_node_its_page_comes_back_to_with_its_token)
{
    struct fx fx;
    struct node a, b;
    struct result res;
    char knocks_a[128], knocks_b[128];
    const struct bus_entry knock = {.knock = "{\"id\":\"k1\",\"since\":1234}"};
    const struct bus_entry take = {
        .takes_over = true, .knock = "{}", .attempt = 2};
    const struct bus_entry older = {
        .takes_over = true, .knock = "{}", .attempt = 1};

    locked_on_two_nodes(&fx, &a, &b, "kt");
    knocks_key(knocks_a, sizeof knocks_a, &a);
    knocks_key(knocks_b, sizeof knocks_b, &b);
    CHECK(join_as(&fx, &b, "kt", "k1", &knock, &res) == BUS_KNOCK);

    CHECK(resume_at(&fx, &a, "kt", "tok-k1", "tok-new", 2, &res) == BUS_KNOCK);
    CHECK_STR(res.peer, "k1");
    CHECK(res.since == 1234);
    /* only the take-over's join records its number: the resume alone
     * (its join never came) outranks nothing */
    CHECK(resume_at(&fx, &a, "kt", "tok-k1", "tok-new", 2, &res) == BUS_KNOCK);
    CHECK(join_as(&fx, &a, "kt", "k1", &take, &res) == BUS_KNOCK);
    CHECK(resume_at(&fx, &a, "kt", "tok-k1", "tok-new", 2, &res) == BUS_STALE);
    /* a join of an older resume, on its way meanwhile (its sidecar
     * stalled), may not take it back */
    CHECK(join_as(&fx, &b, "kt", "k1", &older, &res) == BUS_STALE);
    CHECK(redis_int(fx.port, "SCARD", knocks_a) == 1);
    CHECK(redis_int(fx.port, "SCARD", knocks_b) == 0);
    CHECK(RUN_UNTIL(&fx, node_msgs_with(&b, "x-knock-taken") == 1, 3000));
    CHECK(node_msgs_with(&b, "\"attempt\":2") == 1);
    CHECK(node_msgs_with(&a, "x-knock-taken") == 0);
    /* b's connection ends late: its withdrawal leaves a's knock be */
    CHECK(host_wait(&fx, &b, BUS_DO_WITHDRAW, "kt", "k1", NULL) == BUS_OK);
    CHECK(redis_int(fx.port, "HLEN", "huddle:room:kt:lobby") == 1);
    CHECK(join_as(&fx, &b, "kt", "k1", &knock_again, &res) == BUS_STALE);
    CHECK_STR(res.peer, "k1");
    /* admitted: in on a, with the knock's token */
    CHECK(host_wait(&fx, &a, BUS_DO_ADMIT, "kt", "h", "k1") == BUS_OK);
    CHECK(join_as(&fx, &a, "kt", "k1", &knock_again, &res) == BUS_OK);
    CHECK(host_wait(&fx, &a, BUS_DO_WITHDRAW, "kt", "k1", NULL) == BUS_OK);
    CHECK(resume_at(&fx, &b, "kt", "tok-k1", "tok-b", 3, &res) == BUS_OK);
    CHECK_STR(res.peer, "k1");
    /* a knock withdrawn by its node takes its token along */
    CHECK(join_as(&fx, &b, "kt", "k2", &knock, &res) == BUS_KNOCK);
    CHECK(host_wait(&fx, &b, BUS_DO_WITHDRAW, "kt", "k2", NULL) == BUS_OK);
    CHECK(resume_at(&fx, &a, "kt", "tok-k2", "tok-x", 1, &res) == BUS_NONE);
    CHECK(redis_int(fx.port, "HLEN", "huddle:room:kt:lobby") == 0);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

TEST(an_admission_past_the_cap_is_refused_full_and_the_knock_waits_on)
{
    struct fx fx;
    struct node a, b;
    struct result res;

    CHECK(fx_init(&fx) == 0);
    fx.cfg.max_peers = 3;
    fx.cfg.lobby_max = 20;
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(join_as(&fx, &a, "fr", "h", &as_host, &res) == BUS_OK);
    CHECK(join_wait(&fx, &a, "fr", "g", &res) == BUS_OK);
    CHECK(host_wait(&fx, &a, BUS_DO_LOCK, "fr", "h", "1") == BUS_OK);
    CHECK(join_as(&fx, &b, "fr", "k1", &first_knock, &res) == BUS_KNOCK);
    CHECK(join_as(&fx, &b, "fr", "k2", &first_knock, &res) == BUS_KNOCK);
    /* one seat left: k1's admission takes it before k1 is in */
    CHECK(host_wait(&fx, &a, BUS_DO_ADMIT, "fr", "h", "k1") == BUS_OK);
    CHECK(host_wait(&fx, &a, BUS_DO_ADMIT, "fr", "h", "k2") == BUS_FULL);
    CHECK(redis_int(fx.port, "HLEN", "huddle:room:fr:lobby") == 1);
    CHECK(redis_int(fx.port, "HLEN", "huddle:room:fr:answers") == 1); /* k1 */
    CHECK(join_as(&fx, &b, "fr", "k1", &knock_again, &res) == BUS_OK);
    CHECK(host_wait(&fx, &a, BUS_DO_ADMIT, "fr", "h", "k2") == BUS_FULL);
    /* a seat frees: the knock that waited on is let in */
    memset(&res, 0, sizeof res);
    CHECK(bus_leave(a.bus, "fr", "g", NULL, 0, 0, on_done_result, &res) == 0);
    CHECK(RUN_UNTIL(&fx, res.done, 5000) && res.st == BUS_OK);
    CHECK(host_wait(&fx, &a, BUS_DO_ADMIT, "fr", "h", "k2") == BUS_OK);
    CHECK(join_as(&fx, &b, "fr", "k2", &knock_again, &res) == BUS_OK);
    CHECK(redis_int(fx.port, "HLEN", "huddle:room:fr:members") == 3);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

TEST(a_node_whose_key_expired_is_told_and_keeps_what_it_reasserts)
{
    struct fx fx;
    struct node a, b;
    struct result r, st;
    char key[sizeof BUS_NODE_KEY + BUS_ID_MAX + sizeof ":peers"];

    CHECK(fx_init(&fx) == 0);
    fx.cfg.resume_grace_ms = 5000;
    /* a's heartbeat comes seldom: its key, deleted below just after one as
     * if it had expired while a stalled, is found gone by b's reaper
     * (every 200 ms) well before a's next heartbeat finds it so */
    fx.cfg.heartbeat_ms = 3000;
    fx.cfg.node_ttl_ms = 6000;
    CHECK(node_start(&fx, &a, "a") == 0);
    fx.cfg.heartbeat_ms = 150;
    fx.cfg.node_ttl_ms = 600;
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(join_wait(&fx, &a, "room", "a1", &r) == BUS_OK);
    CHECK(join_wait(&fx, &a, "room", "a2", &r) == BUS_OK);
    CHECK(join_wait(&fx, &b, "room", "b1", &r) == BUS_OK);
    node_clear(&b);
    snprintf(key, sizeof key, BUS_NODE_KEY "%s", bus_node_id(a.bus));
    /* b's first reap comes node TTL + backoff cap after it connected */
    run_for(&fx, (int)fx.cfg.node_ttl_ms + (int)fx.cfg.backoff_max_ms);
    CHECK(RUN_UNTIL(&fx, redis_int(fx.port, "PTTL", key) > 5900, 4000));

    CHECK(redis_int(fx.port, "DEL", key) == 1);
    CHECK(
        RUN_UNTIL(&fx, redis_int(fx.port, "ZCARD", "huddle:grace") == 2, 3000));
    /* a's next heartbeat finds its key gone and says so; its connections
     * stay (what Redis holds for them would go with them) */
    CHECK(RUN_UNTIL(&fx, a.lapses == 1, 5000));
    CHECK(a.ups == 1 && a.downs == 0);
    /* it re-asserts what it still holds (cluster.c does so on lapsed): a1;
     * a2's connection went while a stalled */
    CHECK(join_wait(&fx, &a, "room", "a1", &r) == BUS_EXISTS);
    CHECK(redis_int(fx.port, "ZCARD", "huddle:grace") == 1);
    /* past the grace: a1 is still a's, a2 is announced gone once */
    CHECK(RUN_UNTIL(&fx, count_msgs(&b, "\"id\":\"a2\"") == 1, 8000));
    run_for(&fx, 3 * (int)fx.cfg.reaper_ms);
    CHECK(count_msgs(&b, "peer-left") == 1);
    CHECK(count_msgs(&b, "peer-joined") == 0);
    memset(&st, 0, sizeof st);
    CHECK(bus_room(b.bus, "room", on_room_result, &st) == 0);
    CHECK(RUN_UNTIL(&fx, st.done, 3000) && st.n_members == 2);
    CHECK(has_member(&st, "a1", bus_node_id(a.bus)));
    CHECK(redis_int(fx.port, "SCARD", "huddle:nodes") == 2);
    strcat(key, ":peers");
    CHECK(redis_int(fx.port, "SCARD", key) == 1);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

TEST(drained_seats_outlive_their_node_until_grace_and_are_announced_once)
{
    struct fx fx;
    struct node a, b, c;
    struct result r, rs, dr, st;
    const struct bus_seat seats[] = {
        /* graces well past node_ttl_ms + 2 reaper periods (2.4 s), which
         * the test waits, so that a loaded machine does not end them first */
        {"room", "a1", 5000},  /* nobody resumes it */
        {"room", "a2", 20000}, /* resumed on b */
        {"room", "a3", 0},     /* its grace had ended */
    };

    CHECK(fx_init(&fx) == 0);
    /* b and c must stay alive through the waits below even when the
     * machine is loaded: a node TTL well above a stalled loop */
    fx.cfg.node_ttl_ms = 2000;
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(node_start(&fx, &c, "c") == 0);
    CHECK(join_wait(&fx, &a, "room", "a1", &r) == BUS_OK);
    CHECK(join_wait(&fx, &a, "room", "a2", &r) == BUS_OK);
    CHECK(join_wait(&fx, &a, "room", "a3", &r) == BUS_OK);
    CHECK(join_wait(&fx, &a, "room", "a4", &r) == BUS_OK); /* not listed */
    CHECK(join_wait(&fx, &b, "room", "b1", &r) == BUS_OK);
    CHECK(join_wait(&fx, &c, "room", "c1", &r) == BUS_OK);
    node_clear(&b);
    node_clear(&c);

    memset(&dr, 0, sizeof dr);
    CHECK(bus_drain(a.bus, seats, 3, on_done_result, &dr) == 0);
    CHECK(RUN_UNTIL(&fx, dr.done, 3000) && dr.st == BUS_OK);
    char live[128];
    snprintf(live, sizeof live, "huddle:node:%s", bus_node_id(a.bus));
    node_stop(&a); /* the drained process exits */
    CHECK(redis_int(fx.port, "EXISTS", live) == 0); /* forgotten at once */
    CHECK(redis_int(fx.port, "SCARD", "huddle:nodes") == 2);
    /* a1 and a2 wait in the grace set; a3 may already be gone: b's and
     * c's reapers run while the drain is answered, and its grace is 0 */
    CHECK(redis_int(fx.port, "ZCARD", "huddle:grace") >= 2);
    /* a4 (unlisted) at once; a3 (no grace left) at the next reaper tick */
    CHECK(RUN_UNTIL(&fx, count_msgs(&b, "\"reason\":\"timeout\"") == 2, 3000));
    CHECK(count_msgs(&b, "\"id\":\"a4\",\"reason\":\"timeout\"") == 1);
    CHECK(count_msgs(&b, "\"id\":\"a3\",\"reason\":\"timeout\"") == 1);
    /* well past the node TTL, a1 and a2 are still seated */
    run_for(&fx, (int)fx.cfg.node_ttl_ms + 2 * (int)fx.cfg.reaper_ms);
    CHECK(count_msgs(&b, "\"id\":\"a1\"") == 0);
    CHECK(resume_wait(&fx, &b, "room", "tok-a2", "tok-a2b", &rs) == BUS_OK);
    CHECK_STR(rs.peer, "a2");
    CHECK(has_member(&rs, "a1", rs.old_node)); /* still listed, old node */
    /* a1's grace ends: announced once, by one of the two reapers */
    CHECK(RUN_UNTIL(&fx, count_msgs(&c, "\"id\":\"a1\"") == 1, 10000));
    run_for(&fx, 4 * (int)fx.cfg.reaper_ms);
    CHECK(count_msgs(&b, "\"id\":\"a1\",\"reason\":\"timeout\"") == 1);
    CHECK(count_msgs(&c, "\"id\":\"a1\",\"reason\":\"timeout\"") == 1);
    CHECK(count_msgs(&c, "\"id\":\"a2\"") == 0);
    CHECK(redis_int(fx.port, "ZCARD", "huddle:grace") == 0);
    memset(&st, 0, sizeof st);
    CHECK(bus_room(b.bus, "room", on_room_result, &st) == 0);
    CHECK(RUN_UNTIL(&fx, st.done, 3000) && st.n_members == 3);
    CHECK(has_member(&st, "a2", bus_node_id(b.bus)));
    CHECK(has_member(&st, "b1", bus_node_id(b.bus)));
    node_stop(&b);
    node_stop(&c);
    fx_done(&fx);
}

TEST(redis_stopped_reports_down_and_a_restart_brings_it_back)
{
    struct fx fx;
    struct node a, b;
    struct result r;
    static const char m[] = "{\"type\":\"chat\",\"text\":\"again\"}";

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(join_wait(&fx, &b, "room", "pb", &r) == BUS_OK);

    redis_stop(fx.redis);
    fx.redis = -1;
    CHECK(RUN_UNTIL(&fx, a.downs == 1 && b.downs == 1, 5000));
    CHECK(!bus_is_up(a.bus));
    CHECK(bus_publish_room(a.bus, "room", m, strlen(m)) < 0);
    CHECK(bus_publish_node(a.bus, bus_node_id(b.bus), m, strlen(m)) < 0);
    CHECK(bus_join(a.bus, "room", "pa", "t", "{}", 2, NULL, 0, 0, NULL,
                   on_room_result, &r) < 0);
    run_for(&fx, 600); /* a few failed reconnects with backoff */
    CHECK(a.ups == 1 && b.ups == 1);

    fx.redis = redis_start(fx.port);
    CHECK(fx.redis > 0);
    CHECK(RUN_UNTIL(&fx, a.ups == 2 && b.ups == 2, 10000));
    /* b still wants the room: it re-subscribed by itself */
    for (int i = 0; i < 100 && count_msgs(&b, "again") == 0; i++) {
        CHECK(bus_publish_room(a.bus, "room", m, strlen(m)) == 0);
        RUN_UNTIL(&fx, count_msgs(&b, "again") > 0, 50);
    }
    CHECK(count_msgs(&b, "again") > 0);
    CHECK(a.downs == 1 && b.downs == 1);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

TEST(watchdog_notices_a_redis_that_stops_answering)
{
    struct fx fx;
    struct node a;
    uint64_t stopped;

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    kill(fx.redis, SIGSTOP);
    stopped = now_ms();
    CHECK(RUN_UNTIL(&fx, a.downs == 1, 5000));
    printf("watchdog reported down after %llu ms (ping %ld, timeout %ld)\n",
           (unsigned long long)(now_ms() - stopped), fx.cfg.ping_ms,
           fx.cfg.ping_timeout_ms);
    run_for(&fx, 500); /* reconnects hang in the handshake: still down */
    CHECK(!bus_is_up(a.bus) && a.ups == 1);
    kill(fx.redis, SIGCONT);
    CHECK(RUN_UNTIL(&fx, a.ups == 2, 5000));
    CHECK(bus_is_up(a.bus));
    node_stop(&a);
    fx_done(&fx);
}

TEST(payload_of_48_kib_arrives_intact)
{
    struct fx fx;
    struct node a, b;
    struct result r;
    size_t n = (size_t)48 * 1024;
    char *big = malloc(n + 1);

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(join_wait(&fx, &b, "room", "pb", &r) == BUS_OK);
    memcpy(big, "{\"data\":\"", 9);
    for (size_t i = 9; i < n - 2; i++)
        big[i] = (char)('a' + i % 26);
    memcpy(big + n - 2, "\"}", 2);
    big[n] = '\0';
    CHECK(bus_publish_node(a.bus, bus_node_id(b.bus), big, n) == 0);
    CHECK(bus_publish_room(a.bus, "room", big, n) == 0);
    CHECK(RUN_UNTIL(&fx, b.nmsgs == 2, 5000));
    for (int i = 0; i < b.nmsgs; i++)
        CHECK(b.msgs[i].len == n && memcmp(b.msgs[i].json, big, n) == 0);
    free(big);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

/* 160 x 48 KiB queued in one loop turn leave in one write() that the
 * socket does not take whole: the rest must follow on POLLOUT alone (the
 * timers that queue commands of their own are pushed out of the way). */
TEST(burst_larger_than_the_socket_takes_arrives_whole_and_in_order)
{
    struct fx fx;
    struct node a, b;
    size_t n = (size_t)48 * 1024;
    int count = 160;
    char *big = malloc(n + 1);

    CHECK(fx_init(&fx) == 0);
    fx.cfg.node_ttl_ms = 60000;
    fx.cfg.heartbeat_ms = fx.cfg.reaper_ms = 30000;
    fx.cfg.ping_ms = fx.cfg.ping_timeout_ms = 30000;
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    memset(big, 'x', n);
    big[n] = '\0';
    for (int i = 0; i < count; i++) {
        int k = snprintf(big, 32, "{\"n\":%d,\"d\":\"", i);
        big[k] = 'x';
        memcpy(big + n - 2, "\"}", 2);
        CHECK(bus_publish_node(a.bus, bus_node_id(b.bus), big, n) == 0);
    }
    CHECK(RUN_UNTIL(&fx, b.nmsgs == count, 10000));
    for (int i = 0; i < b.nmsgs; i++) {
        char head[32];
        int k = snprintf(head, sizeof head, "{\"n\":%d,", i);
        CHECK(b.msgs[i].len == n &&
              memcmp(b.msgs[i].json, head, (size_t)k) == 0);
    }
    CHECK(a.downs == 0 && b.downs == 0);
    free(big);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

TEST(empty_room_leaves_no_keys_after_its_ttl)
{
    struct fx fx;
    struct node a;
    struct result r, done;
    char key[80];

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(join_wait(&fx, &a, "room", "pa", &r) == BUS_OK);
    memset(&done, 0, sizeof done);
    CHECK(bus_chat(a.bus, "room", "{}", 2, NULL, 0, on_done_result, &done) ==
          0);
    CHECK(RUN_UNTIL(&fx, done.done, 3000) && done.st == BUS_OK);
    /* members, nodes, tokens, chat, access (its counter), order */
    CHECK(redis_int(fx.port, "KEYS", "huddle:room:room:*") == 6);
    CHECK(redis_int(fx.port, "PTTL", "huddle:room:room:chat") == -1);
    snprintf(key, sizeof key, "huddle:node:%s:peers", bus_node_id(a.bus));
    CHECK(redis_int(fx.port, "SCARD", key) == 1);

    memset(&done, 0, sizeof done);
    CHECK(bus_leave(a.bus, "room", "pa", NULL, 0, 0, on_done_result, &done) ==
          0);
    CHECK(RUN_UNTIL(&fx, done.done, 3000) && done.st == BUS_OK);
    CHECK(redis_int(fx.port, "KEYS", "huddle:room:room:*") == 1);
    CHECK(redis_int(fx.port, "PTTL", "huddle:room:room:chat") > 0);
    CHECK(redis_int(fx.port, "EXISTS", key) == 0);
    CHECK(redis_int(fx.port, "KEYS", "huddle:history*") == 3);
    CHECK(redis_int(fx.port, "PTTL", "huddle:history") > 0);
    CHECK(
        RUN_UNTIL(&fx, redis_int(fx.port, "KEYS", "huddle:room:*") == 0, 5000));
    CHECK(RUN_UNTIL(&fx, redis_int(fx.port, "KEYS", "huddle:history*") == 0,
                    5000));
    node_stop(&a);
    fx_done(&fx);
}

/* Appends json to room and waits for the answer. */
static enum bus_status chat_wait(struct fx *fx, struct node *n,
                                 const char *room, const char *json)
{
    struct result done;

    memset(&done, 0, sizeof done);
    if (bus_chat(n->bus, room, json, strlen(json), NULL, 0, on_done_result,
                 &done) < 0 ||
        !RUN_UNTIL(fx, done.done, 3000))
        return BUS_ERR;
    return done.st;
}

TEST(chat_history_of_all_rooms_keeps_under_the_byte_budget_oldest_first)
{
    struct fx fx;
    struct node a;
    struct result r;
    char json[64], room[16];

    CHECK(fx_init(&fx) == 0);
    fx.cfg.history_max_bytes = 100; /* five messages of 20 bytes */
    fx.cfg.room_ttl_ms = 60000;
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(join_wait(&fx, &a, "r0", "pa", &r) == BUS_OK);
    /* Eight messages over four rooms, r0 occupied, the others empty. */
    for (int i = 0; i < 8; i++) {
        snprintf(room, sizeof room, "r%d", i % 4);
        snprintf(json, sizeof json, "{\"m\":\"msg-%d-xxxxxx\"}", i);
        CHECK(strlen(json) == 20);
        CHECK(chat_wait(&fx, &a, room, json) == BUS_OK);
    }
    /* Kept: the newest five (3..7), whichever room they went to. */
    CHECK(redis_int(fx.port, "LLEN", "huddle:room:r0:chat") == 1); /* 4 */
    CHECK(redis_int(fx.port, "LLEN", "huddle:room:r1:chat") == 1); /* 5 */
    CHECK(redis_int(fx.port, "LLEN", "huddle:room:r2:chat") == 1); /* 6 */
    CHECK(redis_int(fx.port, "LLEN", "huddle:room:r3:chat") == 2); /* 3, 7 */
    memset(&r, 0, sizeof r);
    CHECK(bus_room(a.bus, "r3", on_room_result, &r) == 0);
    CHECK(RUN_UNTIL(&fx, r.done, 3000) && r.st == BUS_OK);
    CHECK(r.n_chat == 2);
    CHECK_STR(r.chat[0], "{\"m\":\"msg-3-xxxxxx\"}");
    CHECK_STR(r.chat[1], "{\"m\":\"msg-7-xxxxxx\"}");
    CHECK(redis_int(fx.port, "ZCARD", "huddle:history") == 4);
    CHECK(redis_int(fx.port, "ZCARD", "huddle:history:expiry") == 3);
    CHECK(redis_int(fx.port, "PTTL", "huddle:history") == -1); /* r0 */
    /* A message over the budget alone is delivered but not kept. */
    char big[160]; /* {"m":"000...0"}: 158 bytes */
    snprintf(big, sizeof big, "{\"m\":\"%0150d\"}", 0);
    CHECK(chat_wait(&fx, &a, "r1", big) == BUS_OK);
    CHECK(redis_int(fx.port, "LLEN", "huddle:room:r1:chat") == 1);
    node_stop(&a);
    fx_done(&fx);
}

TEST(expired_room_history_leaves_the_budget_and_the_last_one_takes_the_keys)
{
    struct fx fx;
    struct node a;
    struct result r;

    CHECK(fx_init(&fx) == 0);
    fx.cfg.history_max_bytes = 1000;
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(chat_wait(&fx, &a, "gone", "{\"m\":1}") == BUS_OK); /* empty */
    CHECK(join_wait(&fx, &a, "kept", "pa", &r) == BUS_OK);
    CHECK(chat_wait(&fx, &a, "kept", "{\"m\":22}") == BUS_OK);
    CHECK(RUN_UNTIL(
        &fx, redis_int(fx.port, "EXISTS", "huddle:room:gone:chat") == 0, 5000));
    /* The reaper drops the expired room from the accounting. */
    CHECK(RUN_UNTIL(&fx, redis_int(fx.port, "ZCARD", "huddle:history") == 1,
                    5000));
    CHECK(redis_int(fx.port, "ZCARD", "huddle:history:expiry") == 0);
    CHECK(redis_int(fx.port, "PTTL", "huddle:history:bytes") == -1);
    {
        redisContext *c = redis_sync(fx.port);
        redisReply *t =
            c ? redisCommand(c, "HGET huddle:history:bytes *total") : NULL;
        CHECK(t != NULL && t->type == REDIS_REPLY_STRING &&
              strcmp(t->str, "8") == 0); /* {"m":22} */
        freeReplyObject(t);
        redisFree(c);
    }
    struct result done;
    memset(&done, 0, sizeof done);
    CHECK(bus_leave(a.bus, "kept", "pa", NULL, 0, 0, on_done_result, &done) ==
          0);
    CHECK(RUN_UNTIL(&fx, done.done, 3000) && done.st == BUS_OK);
    CHECK(RUN_UNTIL(&fx, redis_int(fx.port, "KEYS", "huddle:history*") == 0,
                    5000));
    CHECK(redis_int(fx.port, "KEYS", "huddle:room:*") == 0);
    node_stop(&a);
    fx_done(&fx);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

    return a < b ? -1 : a > b;
}

TEST(publish_round_trip_is_measured)
{
    enum { N = 2000 };
    struct fx fx;
    struct node a, b;
    static uint64_t us[N];
    static const char m[] = "{\"type\":\"chat\",\"text\":\"ping\"}";
    int got = 0;

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    for (int i = 0; i < N; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        CHECK(bus_publish_node(a.bus, bus_node_id(b.bus), m, strlen(m)) == 0);
        if (!RUN_UNTIL(&fx, b.nmsgs > 0, 2000))
            break;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        us[got++] = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
                    (uint64_t)(t1.tv_nsec - t0.tv_nsec) / 1000;
        node_clear(&b);
    }
    CHECK(got == N);
    qsort(us, (size_t)got, sizeof us[0], cmp_u64);
    if (got == N)
        printf("bus publish round trip (node a -> redis -> node b), %d "
               "messages: p50 %llu us, p99 %llu us, max %llu us\n",
               N, (unsigned long long)us[N / 2],
               (unsigned long long)us[N * 99 / 100],
               (unsigned long long)us[N - 1]);
    /* join = SUBSCRIBE of the room (first member here) + the join script */
    got = 0;
    for (int i = 0; i < N / 4; i++) {
        struct timespec t0, t1;
        struct result r;
        char room[16], peer[16];
        snprintf(room, sizeof room, "m%d", i);
        snprintf(peer, sizeof peer, "p%d", i);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (join_wait(&fx, &a, room, peer, &r) != BUS_OK)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        us[got++] = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
                    (uint64_t)(t1.tv_nsec - t0.tv_nsec) / 1000;
    }
    CHECK(got == N / 4);
    qsort(us, (size_t)got, sizeof us[0], cmp_u64);
    if (got == N / 4)
        printf("bus_join into a new room (subscribe + script), %d joins: "
               "p50 %llu us, p99 %llu us\n",
               got, (unsigned long long)us[got / 2],
               (unsigned long long)us[got * 99 / 100]);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

TEST(no_redis_keeps_retrying_and_frees_cleanly)
{
    uv_loop_t loop;
    uv_timer_t tick;
    struct bus_config cfg;
    struct node n;
    static const struct bus_callbacks cb = {
        node_on_up, node_on_down, node_on_room, node_on_node, node_on_lapsed};
    char url[64];
    uint64_t until;

    memset(&n, 0, sizeof n);
    uv_loop_init(&loop);
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 10, 10);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", free_port());
    bus_test_config(&cfg);
    cfg.url = url;
    cfg.node_id = "lonely";
    cfg.backoff_min_ms = 10;
    cfg.backoff_max_ms = 40;
    cfg.ping_ms = 20;
    cfg.ping_timeout_ms = 50;
    n.bus = bus_create(&loop, &cfg, &cb, &n);
    CHECK(n.bus != NULL);
    until = now_ms() + 300; /* several refused connects */
    while (now_ms() < until)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK(!bus_is_up(n.bus) && n.ups == 0 && n.downs == 0);
    CHECK(bus_publish_room(n.bus, "room", "{}", 2) < 0);
    CHECK(bus_room(n.bus, "room", on_room_result, NULL) < 0);
    CHECK(bus_subscribe_room(n.bus, "room") == 0); /* kept for later */
    bus_free(n.bus);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
}

struct resub {
    struct bus *bus;
    struct result res;
};

static void on_join_then_resubscribe(void *arg, const struct bus_room *r)
{
    struct resub *rs = arg;

    on_room_result(&rs->res, r);
    CHECK(bus_subscribe_room(rs->bus, "room") == 0); /* from the callback */
}

TEST(unsubscribe_fails_a_waiting_join_and_its_callback_may_resubscribe)
{
    struct fx fx;
    struct node a, b;
    struct resub rs;
    static const char m[] = "{\"n\":1}";

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    memset(&rs, 0, sizeof rs);
    rs.bus = b.bus;
    CHECK(bus_join(b.bus, "room", "pb", "tok", "{}", 2, NULL, 0, 0, NULL,
                   on_join_then_resubscribe, &rs) == 0);
    CHECK(!rs.res.done); /* waiting for the SUBSCRIBE confirmation */
    bus_unsubscribe_room(b.bus, "room");
    CHECK(rs.res.done && rs.res.st == BUS_ERR);
    for (int i = 0; i < 100 && count_msgs(&b, "\"n\":1") == 0; i++) {
        CHECK(bus_publish_room(a.bus, "room", m, strlen(m)) == 0);
        RUN_UNTIL(&fx, count_msgs(&b, "\"n\":1") > 0, 20);
    }
    CHECK(count_msgs(&b, "\"n\":1") > 0);
    CHECK(redis_int(fx.port, "HLEN", "huddle:room:room:members") == 0);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

TEST(password_and_db_from_the_url_are_used_and_a_wrong_one_never_comes_up)
{
    uv_loop_t loop;
    uv_timer_t tick;
    struct bus_config cfg;
    struct node good, bad;
    static const struct bus_callbacks cb = {
        node_on_up, node_on_down, node_on_room, node_on_node, node_on_lapsed};
    int port = free_port();
    pid_t pid = redis_start_pw(port, "s3cret");
    char url[96], badurl[96];
    redisContext *c;
    redisReply *r;
    uint64_t until;

    CHECK(pid > 0);
    memset(&good, 0, sizeof good);
    memset(&bad, 0, sizeof bad);
    uv_loop_init(&loop);
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 10, 10);
    snprintf(url, sizeof url, "redis://:s3cret@127.0.0.1:%d/2", port);
    snprintf(badurl, sizeof badurl, "redis://:wrong@127.0.0.1:%d/2", port);
    bus_test_config(&cfg);
    cfg.node_id = "pw";
    cfg.ping_ms = 50;
    cfg.ping_timeout_ms = 200;
    cfg.backoff_min_ms = 20;
    cfg.backoff_max_ms = 100;
    cfg.url = url;
    good.bus = bus_create(&loop, &cfg, &cb, &good);
    cfg.url = badurl;
    bad.bus = bus_create(&loop, &cfg, &cb, &bad);
    CHECK(good.bus != NULL && bad.bus != NULL);
    until = now_ms() + 5000;
    while (good.ups == 0 && now_ms() < until)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK(good.ups == 1);
    until = now_ms() + 300; /* the bad one keeps being refused */
    while (now_ms() < until)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK(bad.ups == 0 && !bus_is_up(bad.bus));

    c = redis_sync(port); /* the liveness key went to db 2 */
    r = c ? redisCommand(c, "AUTH s3cret") : NULL;
    freeReplyObject(r);
    r = c ? redisCommand(c, "SELECT 2") : NULL;
    freeReplyObject(r);
    r = c ? redisCommand(c, "SISMEMBER huddle:nodes %s", bus_node_id(good.bus))
          : NULL;
    CHECK(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    freeReplyObject(r);
    redisFree(c);

    bus_free(good.bus);
    bus_free(bad.bus);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
    redis_stop(pid);
}

/* ---- PeerJS ids ------------------------------------------------------- */

struct owner {
    bool done;
    enum bus_status st;
    char node[96];
};

static void on_owner(void *arg, enum bus_status st, const char *node)
{
    struct owner *o = arg;

    o->done = true;
    o->st = st;
    snprintf(o->node, sizeof o->node, "%s", node != NULL ? node : "");
}

static enum bus_status pj_claim_wait(struct fx *fx, struct node *n,
                                     const char *id, const char *token)
{
    struct result r = {0};

    if (bus_pj_claim(n->bus, id, token, on_done_result, &r) < 0)
        return BUS_ERR;
    return RUN_UNTIL(fx, r.done, 5000) ? r.st : BUS_ERR;
}

static enum bus_status pj_route_wait(struct fx *fx, struct node *n,
                                     const char *id, struct owner *o)
{
    memset(o, 0, sizeof *o);
    if (bus_pj_route(n->bus, id, 5000, on_owner, o) < 0)
        return BUS_ERR;
    return RUN_UNTIL(fx, o->done, 5000) ? o->st : BUS_ERR;
}

TEST(a_peerjs_id_is_claimed_once_across_nodes_and_released_only_by_its_holder)
{
    struct fx fx;
    struct node a, b;
    struct owner o;
    char key[128];

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(pj_claim_wait(&fx, &a, "peer x", "t1") == BUS_OK);
    CHECK(pj_claim_wait(&fx, &b, "peer x", "t2") == BUS_NONE);
    CHECK(pj_claim_wait(&fx, &b, "peer x", "t1") == BUS_NONE);
    CHECK(pj_claim_wait(&fx, &a, "peer x", "t2") == BUS_NONE);
    CHECK(pj_claim_wait(&fx, &a, "peer x", "t1") == BUS_OK); /* again */
    CHECK(pj_route_wait(&fx, &b, "peer x", &o) == BUS_OK);
    CHECK(strcmp(o.node, bus_node_id(a.bus)) == 0);

    CHECK(bus_pj_release(b.bus, "peer x", "t1", NULL, NULL) == 0); /* not b's */
    CHECK(bus_pj_release(a.bus, "peer x", "t2", NULL, NULL) ==
          0);                                              /* not its token */
    CHECK(pj_route_wait(&fx, &b, "peer x", &o) == BUS_OK); /* after b's */
    CHECK(pj_route_wait(&fx, &a, "peer x", &o) == BUS_OK); /* after a's */
    CHECK(bus_pj_release(a.bus, "peer x", "t1", NULL, NULL) == 0);
    /* a's next call runs after the release (one connection, in order) */
    CHECK(pj_route_wait(&fx, &a, "peer x", &o) == BUS_NONE);
    CHECK(pj_claim_wait(&fx, &b, "peer x", "t2") == BUS_OK);
    snprintf(key, sizeof key, "huddle:node:%s:pj", bus_node_id(a.bus));
    CHECK(redis_int(fx.port, "SCARD", key) == 0);

    /* only PeerJS ids reach the scripts */
    CHECK(bus_pj_claim(a.bus, "a:b", "t", on_done_result, NULL) < 0);
    CHECK(bus_pj_claim(a.bus, "", "t", on_done_result, NULL) < 0);
    CHECK(bus_pj_route(a.bus, "x\"y", 10, on_owner, NULL) < 0);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

TEST(a_peerjs_id_nobody_holds_tells_the_waiting_nodes_when_it_is_claimed)
{
    struct fx fx;
    struct node a, b;
    struct owner o;
    char want[256];

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(pj_route_wait(&fx, &b, "late", &o) == BUS_NONE);
    CHECK(o.node[0] == '\0');
    CHECK(redis_int(fx.port, "SCARD", "huddle:pj:late:waiting") == 1);
    node_clear(&b);
    CHECK(pj_claim_wait(&fx, &a, "late", "t") == BUS_OK);
    snprintf(want, sizeof want, "{\"pj-open\":\"late\",\"node\":\"%s\"}",
             bus_node_id(a.bus));
    CHECK(RUN_UNTIL(&fx, count_msgs(&b, want) == 1, 3000));
    CHECK(b.msgs[0].to_node && b.msgs[0].origin[0] == '\0');
    CHECK(redis_int(fx.port, "EXISTS", "huddle:pj:late:waiting") == 0);
    CHECK(count_msgs(&a, "pj-open") == 0); /* a did not wait */
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

TEST(a_dead_nodes_peerjs_ids_are_free_after_its_ttl_and_reaped)
{
    struct fx fx;
    struct node a, b;
    struct owner o;
    char key[128];

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(pj_claim_wait(&fx, &a, "orphan", "t1") == BUS_OK);
    CHECK(pj_claim_wait(&fx, &a, "other", "t1") == BUS_OK);
    snprintf(key, sizeof key, "huddle:node:%s:pj", bus_node_id(a.bus));
    node_stop(&a); /* like kill -9: its liveness key lives on a while */
    CHECK(pj_claim_wait(&fx, &b, "orphan", "t2") == BUS_NONE);
    CHECK(
        RUN_UNTIL(&fx, pj_route_wait(&fx, &b, "orphan", &o) == BUS_NONE, 5000));
    CHECK(pj_claim_wait(&fx, &b, "orphan", "t2") == BUS_OK);
    /* the reaper forgets the node and the ids it still held */
    CHECK(
        RUN_UNTIL(&fx, redis_int(fx.port, "SCARD", "huddle:nodes") == 1, 5000));
    CHECK(redis_int(fx.port, "EXISTS", key) == 0);
    CHECK(redis_int(fx.port, "EXISTS", "huddle:pj:other") == 0);
    CHECK(pj_route_wait(&fx, &b, "orphan", &o) == BUS_OK);
    node_stop(&b);
    fx_done(&fx);
}

/* ---- a resume whose answer was lost ------------------------------------ */

static enum bus_status seat_of_wait(struct fx *fx, struct node *n,
                                    const char *room, const char *token,
                                    struct owner *o)
{
    memset(o, 0, sizeof *o);
    if (bus_seat_of(n->bus, room, token, on_owner, o) < 0)
        return BUS_ERR;
    return RUN_UNTIL(fx, o->done, 5000) ? o->st : BUS_ERR;
}

TEST(seat_of_finds_a_seat_by_its_newest_token_while_this_node_holds_it)
{
    struct fx fx;
    struct node a, b;
    struct result r, rs;
    struct owner o;

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(join_wait(&fx, &a, "so", "p1", &r) == BUS_OK);
    CHECK(seat_of_wait(&fx, &a, "so", "tok-p1", &o) == BUS_OK);
    CHECK(strncmp(o.node, "p1 0 {", 6) == 0); /* peer, moves, json */
    CHECK(seat_of_wait(&fx, &b, "so", "tok-p1", &o) == BUS_NONE); /* a's */
    CHECK(seat_of_wait(&fx, &a, "so", "tok-none", &o) == BUS_NONE);
    /* b takes it with its resume: its new token is b's */
    CHECK(resume_wait(&fx, &b, "so", "tok-p1", "tok-p1b", &rs) == BUS_OK);
    CHECK(seat_of_wait(&fx, &b, "so", "tok-p1b", &o) == BUS_OK);
    CHECK(strncmp(o.node, "p1 ", 3) == 0);
    CHECK(seat_of_wait(&fx, &a, "so", "tok-p1", &o) == BUS_NONE);
    /* taken back with the token before it: the newest one names no seat */
    CHECK(resume_wait(&fx, &a, "so", "tok-p1", "tok-p1c", &rs) == BUS_OK);
    CHECK(seat_of_wait(&fx, &b, "so", "tok-p1b", &o) == BUS_NONE);
    CHECK(seat_of_wait(&fx, &a, "so", "tok-p1c", &o) == BUS_OK);
    CHECK(bus_seat_of(a.bus, "so", "bad token", on_owner, &o) < 0);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}

/* A stalled sidecar may send a page's resume to Redis after the page gave
 * up on it and took its seat back elsewhere with the same token (the one
 * before the newest is still good): the page numbers its resumes, and one
 * numbered no higher than the last that took the seat back is refused.
 * The seat's moves between nodes are counted for the x-moved. */
TEST(a_resume_older_than_the_last_is_stale_and_moves_are_counted)
{
    struct fx fx;
    struct node a, b;
    struct result r, rs, done;
    struct owner o;

    CHECK(fx_init(&fx) == 0);
    CHECK(node_start(&fx, &a, "a") == 0);
    CHECK(node_start(&fx, &b, "b") == 0);
    CHECK(join_wait(&fx, &a, "st", "p1", &r) == BUS_OK);
    /* the page's 5th resume reaches b first */
    CHECK(resume_at(&fx, &b, "st", "tok-p1", "tok-b", 5, &rs) == BUS_OK);
    CHECK(rs.moves == 1);
    /* its 4th and its 5th, late on a: refused, the seat stays b's */
    CHECK(resume_at(&fx, &a, "st", "tok-p1", "tok-a", 5, &rs) == BUS_STALE);
    CHECK_STR(rs.peer, "p1");
    CHECK(resume_at(&fx, &a, "st", "tok-p1", "tok-a", 4, &rs) == BUS_STALE);
    CHECK(seat_of_wait(&fx, &b, "st", "tok-b", &o) == BUS_OK);
    CHECK(strncmp(o.node, "p1 1 {", 6) == 0); /* peer, moves, json */
    /* the 6th, with the old token still good: back to a, a second move */
    CHECK(resume_at(&fx, &a, "st", "tok-p1", "tok-a2", 6, &rs) == BUS_OK);
    CHECK_STR(rs.old_node, bus_node_id(b.bus));
    CHECK(rs.moves == 2);
    /* a client that numbers none is never stale; on the same node the
     * seat does not move */
    CHECK(resume_wait(&fx, &a, "st", "tok-a2", "tok-a3", &rs) == BUS_OK);
    CHECK(rs.moves == 2);
    CHECK(resume_at(&fx, &a, "st", "tok-a3", "tok-a4", 7, &rs) == BUS_OK);
    /* Redis lost the count (its data): the holder's re-assertion brings it
     * back, and the next move counts on from it */
    redisContext *rc = redis_sync(fx.port);
    REQUIRE(rc != NULL);
    freeReplyObject(redisCommand(rc, "HDEL huddle:room:st:tokens m:p1"));
    redisFree(rc);
    const struct bus_entry again = {.role = -1, .moves = 2};
    memset(&r, 0, sizeof r);
    CHECK(bus_join(a.bus, "st", "p1", "tok-a4", "{}", 2, NULL, 0,
                   BUS_JOIN_FORCE, &again, on_room_result, &r) == 0);
    CHECK(RUN_UNTIL(&fx, r.done, 3000) && r.st == BUS_EXISTS);
    /* which keeps the last resume's number */
    CHECK(resume_at(&fx, &b, "st", "tok-a4", "tok-x", 7, &rs) == BUS_STALE);
    CHECK(resume_at(&fx, &b, "st", "tok-a4", "tok-b2", 8, &rs) == BUS_OK);
    CHECK(rs.moves == 3);
    /* a seat that goes takes its marks along: the same id anew starts
     * from nothing */
    memset(&done, 0, sizeof done);
    CHECK(bus_leave(b.bus, "st", "p1", NULL, 0, 0, on_done_result, &done) == 0);
    CHECK(RUN_UNTIL(&fx, done.done, 3000) && done.st == BUS_OK);
    CHECK(join_wait(&fx, &a, "st", "p1", &r) == BUS_OK);
    CHECK(resume_at(&fx, &b, "st", "tok-p1", "tok-b", 1, &rs) == BUS_OK);
    CHECK(rs.moves == 1);
    node_stop(&a);
    node_stop(&b);
    fx_done(&fx);
}
