/*
 * net.c - base layer: TCP sockets for the control and data planes: listen, accept and connect
 * with timeouts, socket options, address text, and the loopback test behind the rule that a
 * listener beyond loopback needs a shared secret.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"

/* Milliseconds left until deadline_ns, for poll: -1 for no deadline, at least 0. */
static int ms_left(int64_t deadline_ns)
{
    if (deadline_ns < 0)
        return -1;
    int64_t left = (deadline_ns - rill__mono_ns() + 999999) / 1000000;
    return left <= 0 ? 0 : (int)RILL_MIN(left, INT32_MAX);
}

int rill__net_set_nonblock(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

int rill__net_set_nodelay(int fd)
{
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ? -errno : 0;
}

static const char *sockaddr_text(const struct sockaddr *sa, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const void *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
        port = ntohs(v4->sin_port);
        snprintf(buf, cap, "%s:%d", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const void *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
        port = ntohs(v6->sin6_port);
        snprintf(buf, cap, "[%s]:%d", host, port);
    } else {
        snprintf(buf, cap, "?");
    }
    return buf;
}

const char *rill__net_peer_name(int fd, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(buf, cap, "?");
        return buf;
    }
    return sockaddr_text((struct sockaddr *)&ss, buf, cap);
}

static int resolve(const char *host, int port, bool passive, struct addrinfo **res, rill__err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)};
    char serv[16];
    snprintf(serv, sizeof serv, "%d", port);
    int gai = getaddrinfo(host, serv, &hints, res);
    if (gai == 0)
        return 0;
    *res = NULL;
    if (gai == EAI_SYSTEM)
        return rill__err_set(err, -errno, "%s:%d: %s", host, port, strerror(errno));
    return rill__err_set(err, RILL_ENOENT, "%s:%d: %s", host, port, gai_strerror(gai));
}

int rill__net_listen(const char *addr, int port, int backlog, int *fd_out, int *port_out,
                     rill__err *err)
{
    *fd_out = -1;
    if (!addr || !*addr)
        return rill__err_set(err, RILL_EINVAL, "listen: no bind address given");
    if (port < 0 || port > 65535)
        return rill__err_set(err, RILL_EINVAL, "listen on %s: port %d out of range", addr, port);
    struct addrinfo *res;
    int rc = resolve(addr, port, true, &res, err);
    if (rc)
        return rc;
    int fd = -1;
    rc = RILL_ENOENT;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            rc = rill__err_set(err, -errno, "listen on %s:%d: socket: %s", addr, port,
                               strerror(errno));
            continue;
        }
        /* a restarted JobManager must get its port back while old connections linger */
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, backlog > 0 ? backlog : 128) == 0) {
            rc = 0;
            break;
        }
        rc = rill__err_set(err, -errno, "listen on %s:%d: %s", addr, port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (rc)
        return rc;
    if (port_out) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
            rc = rill__err_set(err, -errno, "listen on %s:%d: getsockname: %s", addr, port,
                               strerror(errno));
            close(fd);
            return rc;
        }
        *port_out = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                             : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    *fd_out = fd;
    return 0;
}

int rill__net_accept(int lfd, int timeout_ms, int *fd_out, char *peer, size_t peer_cap,
                     rill__err *err)
{
    *fd_out = -1;
    int64_t deadline = timeout_ms < 0 ? -1 : rill__mono_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        int n = poll(&p, 1, ms_left(deadline));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return rill__err_set(err, -errno, "accept: poll: %s", strerror(errno));
        if (n == 0) {
            if (timeout_ms == 0)
                return RILL_AGAIN;
            return rill__err_set(err, -ETIMEDOUT, "accept: no connection within %d ms", timeout_ms);
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
        if (fd < 0) {
            /* the connection went away between poll and accept, or a signal: wait again */
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
                continue;
            return rill__err_set(err, -errno, "accept: %s", strerror(errno));
        }
        rill__net_set_nodelay(fd); /* fails only for non-TCP sockets, where it means nothing */
        if (peer)
            sockaddr_text((struct sockaddr *)&ss, peer, peer_cap);
        *fd_out = fd;
        return 0;
    }
}

int rill__net_connect(const char *host, int port, int timeout_ms, int *fd_out, rill__err *err)
{
    *fd_out = -1;
    if (!host || !*host || port <= 0 || port > 65535)
        return rill__err_set(err, RILL_EINVAL, "connect: bad address '%s:%d'", host ? host : "",
                             port);
    struct addrinfo *res;
    int rc = resolve(host, port, false, &res, err);
    if (rc)
        return rc;
    int64_t deadline = timeout_ms < 0 ? -1 : rill__mono_ns() + (int64_t)timeout_ms * 1000000;
    int fd = -1;
    rc = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        /* non-blocking connect and poll: a blocking connect to a black-holed host would wait
         * for the kernel's SYN retries (minutes), not for timeout_ms */
        int e = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
        if (e == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int n;
            while ((n = poll(&p, 1, ms_left(deadline))) < 0 && errno == EINTR) {
            }
            if (n == 0) {
                e = ETIMEDOUT;
            } else if (n < 0) {
                e = errno;
            } else {
                socklen_t len = sizeof e;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
                    e = errno;
            }
        }
        if (e == 0 && rill__net_set_nonblock(fd, false) == 0) {
            rill__net_set_nodelay(fd);
            rc = 0;
            break;
        }
        rc = -(e ? e : EIO);
        close(fd);
        fd = -1;
        if (e == ETIMEDOUT)
            break; /* the time is spent: the next address would get none */
    }
    freeaddrinfo(res);
    if (rc) {
        if (rc == -ETIMEDOUT)
            return rill__err_set(err, rc, "connect to %s:%d: no answer within %d ms", host, port,
                                 timeout_ms);
        return rill__err_set(err, rc, "connect to %s:%d: %s", host, port, strerror(-rc));
    }
    *fd_out = fd;
    return 0;
}

int rill__net_parse_hostport(const char *s, char *host, size_t host_cap, int *port_out)
{
    const char *colon, *h = s;
    size_t hlen;
    if (!s || !*s)
        return RILL_EPARSE;
    if (*s == '[') {
        const char *close_br = strchr(s, ']');
        if (!close_br || close_br[1] != ':')
            return RILL_EPARSE;
        h = s + 1;
        hlen = (size_t)(close_br - h);
        colon = close_br + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return RILL_EPARSE; /* no port, or an IPv6 address without brackets */
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= host_cap)
        return RILL_EPARSE;
    int64_t port;
    if (rill__parse_i64(colon + 1, strlen(colon + 1), &port) || port < 1 || port > 65535)
        return RILL_EPARSE;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port_out = (int)port;
    return 0;
}

bool rill__net_sockaddr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const void *)sa;
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

bool rill__net_addr_is_loopback(const char *addr)
{
    if (!addr || !*addr)
        return false;
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    if (getaddrinfo(addr, "1", &hints, &res) != 0)
        return false;
    /* a name is loopback only when everything it resolves to is: binding picks one of them */
    bool all = res != NULL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        all = all && rill__net_sockaddr_is_loopback(ai->ai_addr);
    freeaddrinfo(res);
    return all;
}

int rill__net_listen_addr(const char *what, const char *addr, int port, struct sockaddr_storage *ss,
                          bool *v6, rill__err *err)
{
    if (!addr || !*addr)
        addr = RILL_NET_DEFAULT_BIND;
    if (port < 0 || port > 65535)
        return rill__err_set(err, RILL_EINVAL, "%s port %d out of range (0-65535)", what, port);
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    *v6 = false;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *v6 = true;
    } else {
        return rill__err_set(err, RILL_EINVAL,
                             "%s bind address '%s' is not a numeric IPv4 or IPv6 address", what,
                             addr);
    }
    return 0;
}

int rill__net_check_bind(const char *what, const char *addr, bool have_secret, rill__err *err)
{
    if (have_secret || rill__net_addr_is_loopback(addr))
        return 0;
    return rill__err_set(err, RILL_ECONFIG,
                         "%s binds to %s, beyond loopback: a shared secret is required "
                         "(--secret-file)",
                         what, addr ? addr : "(none)");
}
