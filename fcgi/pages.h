/* The responses huddle-fcgi sends, as complete CGI-style byte strings
 * ("Status: ...\r\nheaders\r\n\r\nbody") ready for FastCGI stdout. No I/O:
 * the caller owns the buffer (one per worker thread, so building a page
 * allocates nothing). */
#ifndef HUDDLE_PAGES_H
#define HUDDLE_PAGES_H

#include <stddef.h>

struct tpl;

/* Templates loaded once at start, shared read-only by every thread. */
struct pages {
    struct tpl *room;      /* views/room.html, slot {{room}} */
    struct tpl *not_found; /* views/404.html, no slots */
};

/* Loads views_dir/room.html and views_dir/404.html into p. Returns 0, or
 * -1 after logging which file failed (p is then left empty). */
int pages_load(struct pages *p, const char *views_dir);

void pages_free(struct pages *p);

/* Writes the whole response for method and uri (FastCGI REQUEST_METHOD
 * and REQUEST_URI, either may be NULL) into out (cap bytes). *status gets
 * the HTTP status. Returns the response length, or -1 when it does not fit
 * in cap (the caller then sends pages_error_500). */
long pages_respond(const struct pages *p, const char *method, const char *uri,
                   char *out, size_t cap, int *status);

/* A fixed response for when pages_respond fails. */
extern const char pages_error_500[];

#endif
