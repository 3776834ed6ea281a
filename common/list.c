#include "list.h"

#include <string.h>

const char *list_next(const char **p, size_t *n)
{
    const char *s = *p;

    if (s == NULL)
        return NULL;
    s += strspn(s, LIST_SEPARATORS);
    if (*s == '\0') {
        *p = s;
        return NULL;
    }
    *n = strcspn(s, LIST_SEPARATORS);
    *p = s + *n;
    return s;
}
