/* failmalloc: an LD_PRELOAD library that makes some of a program's own
 * allocations fail, to reach the out-of-memory paths a test cannot reach
 * otherwise (Linux overcommits: malloc rarely returns NULL, the OOM killer
 * comes first).
 *
 *   HUDDLE_FAILMALLOC=PPM:FROM_MS:UNTIL_MS   (e.g. 50000:1500:9000)
 *
 * fails PPM in a million allocations made between FROM_MS and UNTIL_MS
 * after the process started, and only those called from the program itself
 * or from libcjson (the code huddle owns or drives directly): libuv,
 * libwebsockets, hiredis and libc keep their memory, as they would not
 * survive a NULL they were never written to handle. malloc, calloc,
 * realloc, strdup and strndup are covered; the real ones are glibc's
 * __libc_* entry points, so no dlsym is needed before the first malloc.
 *
 * At exit it prints "failmalloc: F failed of E eligible" to stderr, so a
 * test can tell that failures were injected at all. Release builds only:
 * ASan brings its own allocator and must come first in the library list. */
#define _GNU_SOURCE
#include <link.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t k, size_t n);
extern void *__libc_realloc(void *p, size_t n);

#define MAX_RANGES 16

struct range {
    uintptr_t lo, hi;
};

static struct range ranges[MAX_RANGES];
static int nranges;
static long ppm;
static int64_t from_ms, until_ms, start_ms;
static atomic_long eligible, failed;
static __thread uint64_t rng;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records the executable segments of the program (empty name) and of
 * libcjson: the callers whose allocations may fail. */
static int add_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    const char *name = info->dlpi_name;
    if (name[0] != '\0' && strstr(name, "libcjson") == NULL)
        return 0;
    for (int i = 0; i < info->dlpi_phnum && nranges < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        ranges[nranges].lo = info->dlpi_addr + ph->p_vaddr;
        ranges[nranges].hi = ranges[nranges].lo + ph->p_memsz;
        nranges++;
    }
    return 0;
}

__attribute__((constructor)) static void failmalloc_init(void)
{
    const char *spec = getenv("HUDDLE_FAILMALLOC");
    long a, b, c;

    start_ms = mono_ms();
    if (spec == NULL || sscanf(spec, "%ld:%ld:%ld", &a, &b, &c) != 3 || a < 0 ||
        a > 1000000 || b < 0 || c < b) {
        if (spec != NULL)
            fprintf(stderr,
                    "failmalloc: HUDDLE_FAILMALLOC=%s is not "
                    "PPM:FROM_MS:UNTIL_MS; failing nothing\n",
                    spec);
        return;
    }
    ppm = a;
    from_ms = b;
    until_ms = c;
    dl_iterate_phdr(add_object, NULL);
}

__attribute__((destructor)) static void failmalloc_report(void)
{
    if (ppm > 0)
        fprintf(stderr, "failmalloc: %ld failed of %ld eligible\n",
                atomic_load(&failed), atomic_load(&eligible));
}

/* xorshift64*, one state per thread, seeded from its address and time. */
static uint64_t next_random(void)
{
    if (rng == 0)
        rng = (uint64_t)(uintptr_t)&rng ^ (uint64_t)mono_ms() ^
              0x9e3779b97f4a7c15ULL;
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

/* True when this allocation, asked for from code at caller, is to fail. */
static int should_fail(const void *caller)
{
    uintptr_t at = (uintptr_t)caller;
    int ours = 0;

    if (ppm == 0)
        return 0;
    for (int i = 0; i < nranges && !ours; i++)
        ours = at >= ranges[i].lo && at < ranges[i].hi;
    if (!ours)
        return 0;
    int64_t t = mono_ms() - start_ms;
    if (t < from_ms || t >= until_ms)
        return 0;
    atomic_fetch_add(&eligible, 1);
    if (next_random() % 1000000 >= (uint64_t)ppm)
        return 0;
    atomic_fetch_add(&failed, 1);
    return 1;
}

void *malloc(size_t n)
{
    if (should_fail(__builtin_return_address(0)))
        return NULL;
    return __libc_malloc(n);
}

void *calloc(size_t k, size_t n)
{
    if (should_fail(__builtin_return_address(0)))
        return NULL;
    return __libc_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
    if (n > 0 && should_fail(__builtin_return_address(0)))
        return NULL;
    return __libc_realloc(p, n);
}

static char *copy(const char *s, size_t n)
{
    char *d = __libc_malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *strdup(const char *s)
{
    if (should_fail(__builtin_return_address(0)))
        return NULL;
    return copy(s, strlen(s));
}

char *strndup(const char *s, size_t max)
{
    if (should_fail(__builtin_return_address(0)))
        return NULL;
    return copy(s, strnlen(s, max));
}
