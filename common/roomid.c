#include "roomid.h"

#include <string.h>
#include <strings.h>

/* Names that route elsewhere in nginx or are kept for later use. Compared
 * without case: /HEALTHZ is no room either. */
static const char *const roomid_reserved[] = {
    "ws", "healthz", "assets", "api", "peerjs", "metrics",
};

static bool is_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9');
}

bool roomid_valid(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > ROOMID_MAX || !is_alnum(s[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    }
    for (size_t i = 0; i < sizeof roomid_reserved / sizeof *roomid_reserved;
         i++) {
        if (strlen(roomid_reserved[i]) == len &&
            strncasecmp(roomid_reserved[i], s, len) == 0)
            return false;
    }
    return true;
}
