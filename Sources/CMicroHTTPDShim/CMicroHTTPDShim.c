#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "CMicroHTTPDShim.h"

static void slawatch_mhd_forward_log(void *cls, const char *format, va_list arguments) {
    struct slawatch_mhd_logger *logger = cls;
    char line[512];
    vsnprintf(line, sizeof line, format, arguments);
    // MHD's messages end with a newline; the receiver wants the line alone.
    size_t length = strnlen(line, sizeof line);
    while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r')) {
        line[--length] = '\0';
    }
    logger->log(logger->context, line);
}

struct MHD_Daemon *slawatch_mhd_start_daemon(
    unsigned int flags, const struct sockaddr *address, unsigned int thread_pool_size,
    unsigned int connection_timeout_seconds, MHD_AccessHandlerCallback handler, void *handler_context,
    MHD_RequestCompletedCallback completed, void *completed_context, struct slawatch_mhd_logger *logger) {
    return MHD_start_daemon(
        flags, 0, NULL, NULL, handler, handler_context,
        /* First: libmicrohttpd warns (on stderr) about an external logger given after other options. */
        MHD_OPTION_EXTERNAL_LOGGER, slawatch_mhd_forward_log, (void *)logger,
        MHD_OPTION_SOCK_ADDR, address,
        MHD_OPTION_THREAD_POOL_SIZE, thread_pool_size,
        MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_seconds,
        MHD_OPTION_NOTIFY_COMPLETED, completed, completed_context,
        MHD_OPTION_END);
}

unsigned int slawatch_mhd_bind_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

int slawatch_mhd_client_address(
    struct MHD_Connection *connection, char *host, size_t host_capacity, unsigned int *port) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL) return 0;
    const struct sockaddr *address = info->client_addr;
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
        if (inet_ntop(AF_INET, &v4->sin_addr, host, (socklen_t)host_capacity) == NULL) return 0;
        *port = ntohs(v4->sin_port);
        return 1;
    }
    if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
        if (inet_ntop(AF_INET6, &v6->sin6_addr, host, (socklen_t)host_capacity) == NULL) return 0;
        *port = ntohs(v6->sin6_port);
        return 1;
    }
    return 0;
}
