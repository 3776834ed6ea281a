/* The hub's insides, shared with cluster.c only: the cluster finishes in
 * its Redis callbacks what the hub started (a join, a resync), with the
 * hub's own state and helpers. Nothing else includes this. */
#ifndef HUDDLE_HUB_PRIV_H
#define HUDDLE_HUB_PRIV_H

#include "hub.h"

struct hub {
    const struct config *cfg;
    const struct hub_ops *ops;
    const struct ice *ice;
    const struct hub_cluster *cl; /* NULL: standalone */
    struct room_reg *rooms;
    struct msg_limits lim;
    char *limits_json;
    bool answered_error; /* during one hub_on_text */
};

/* Sends m (consumed) to every connected member of r but skip. */
void hub_fanout(struct hub *h, struct room *r, struct out_msg *m,
                const struct peer *skip);

/* Sends m (consumed) to c. */
void hub_send_to(struct hub *h, struct hub_conn *c, struct out_msg *m);

/* Answers an error to c, counting runs (may close c). */
void hub_answer_error(struct hub *h, struct hub_conn *c, const char *code,
                      const char *message, const char *ref, int64_t now);

/* The seat was taken over while old was still open: peer-left replaced,
 * close 1000. */
void hub_replace_conn(struct hub *h, struct hub_conn *old,
                      const struct peer *p);

#endif
