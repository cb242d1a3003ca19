/* LD_PRELOAD shim for tests/test_network_isolation.py: records every host-name lookup
 * made through the C library, from Python or from any native library (onnxruntime's
 * statically linked libcurl calls getaddrinfo too), and refuses it.
 *
 * Why a shim as well as strace: with nscd or systemd-resolved running, a lookup is a
 * connect to a Unix socket that also serves user lookups (getpwuid), so the syscall trace
 * alone cannot tell "who is uid 0" from "where is mobile.events.data.microsoft.com".
 * Names that need no lookup (NULL, numeric addresses, "localhost") pass to the C library.
 *
 * Every process that loads it writes "loaded PID" first, so a test can prove the guard was
 * there: a missing line means the guard did not run, and the test fails.
 *
 * Build: cc -shared -fPIC -O1 -o lookupguard.so lookupguard.c -ldl
 * Log:   $LOOKUPGUARD_LOG (appended with O_APPEND: one write per line, safe across processes).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void record(const char *what, const char *name) {
    const char *path = getenv("LOOKUPGUARD_LOG");
    if (path == NULL || *path == '\0')
        return;
    char line[512];
    int n = snprintf(line, sizeof line, "%s %d %s\n", what, (int)getpid(), name ? name : "(null)");
    if (n <= 0)
        return;
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1, line[n - 1] = '\n';
    int saved = errno;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        ssize_t ignored = write(fd, line, (size_t)n);
        (void)ignored;
        close(fd);
    }
    errno = saved;
}

__attribute__((constructor)) static void announce(void) { record("loaded", program_invocation_name); }

/* A name the C library answers without asking anyone. */
static int local_name(const char *name) {
    unsigned char buf[sizeof(struct in6_addr)];
    if (name == NULL)
        return 1;
    if (strcmp(name, "localhost") == 0 || strcmp(name, "ip6-localhost") == 0)
        return 1;
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
    if (!local_name(node)) {
        record("getaddrinfo", node);
        return EAI_NONAME;
    }
    return REAL(getaddrinfo)(node, service, hints, res);
}

struct hostent *gethostbyname(const char *name) {
    if (!local_name(name)) {
        record("gethostbyname", name);
        h_errno = HOST_NOT_FOUND;
        return NULL;
    }
    return REAL(gethostbyname)(name);
}

struct hostent *gethostbyname2(const char *name, int af) {
    if (!local_name(name)) {
        record("gethostbyname2", name);
        h_errno = HOST_NOT_FOUND;
        return NULL;
    }
    return REAL(gethostbyname2)(name, af);
}

int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                    int *h_errnop) {
    if (!local_name(name)) {
        record("gethostbyname_r", name);
        *result = NULL;
        *h_errnop = HOST_NOT_FOUND;
        return 0;
    }
    return REAL(gethostbyname_r)(name, ret, buf, buflen, result, h_errnop);
}

int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
                     struct hostent **result, int *h_errnop) {
    if (!local_name(name)) {
        record("gethostbyname2_r", name);
        *result = NULL;
        *h_errnop = HOST_NOT_FOUND;
        return 0;
    }
    return REAL(gethostbyname2_r)(name, af, ret, buf, buflen, result, h_errnop);
}

/* Reverse lookups ask a name server too (unless the caller wants numbers only). */
struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type) {
    record("gethostbyaddr", "(address)");
    h_errno = HOST_NOT_FOUND;
    (void)addr, (void)len, (void)type;
    return NULL;
}

int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret, char *buf, size_t buflen,
                    struct hostent **result, int *h_errnop) {
    record("gethostbyaddr_r", "(address)");
    (void)addr, (void)len, (void)type, (void)ret, (void)buf, (void)buflen;
    *result = NULL;
    *h_errnop = HOST_NOT_FOUND;
    return 0;
}

int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv,
                socklen_t servlen, int flags) {
    if (host != NULL && hostlen > 0 && !(flags & NI_NUMERICHOST)) {
        record("getnameinfo", "(address)");
        flags |= NI_NUMERICHOST; /* answer with the number: no name server is asked */
    }
    return REAL(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags);
}

/* The resolver's own entry points (libc since glibc 2.34, libresolv before). */
int res_query(const char *dname, int class, int type, unsigned char *answer, int anslen) {
    record("res_query", dname);
    (void)class, (void)type, (void)answer, (void)anslen;
    h_errno = HOST_NOT_FOUND;
    return -1;
}

int res_search(const char *dname, int class, int type, unsigned char *answer, int anslen) {
    record("res_search", dname);
    (void)class, (void)type, (void)answer, (void)anslen;
    h_errno = HOST_NOT_FOUND;
    return -1;
}

/* <resolv.h> renames them for callers compiled against it. */
int __res_query(const char *dname, int class, int type, unsigned char *answer, int anslen)
    __attribute__((alias("res_query")));
int __res_search(const char *dname, int class, int type, unsigned char *answer, int anslen)
    __attribute__((alias("res_search")));
