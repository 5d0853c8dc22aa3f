#ifndef SLAWATCH_CMICROHTTPDSHIM_H
#define SLAWATCH_CMICROHTTPDSHIM_H
#include <stddef.h>
#include <sys/socket.h>
#include <microhttpd.h>

// Swift cannot call C variadic functions (MHD_start_daemon and its MHD_OPTION_* list,
// MHD_get_daemon_info, MHD_get_connection_info) nor implement MHD's va_list logger; these give each
// use of them one typed entry point.

/// One line of MHD's error log, already formatted.
typedef void (*slawatch_mhd_log_line)(void *context, const char *line);

/// What MHD's logger option points at; owned by the caller, alive until the daemon is stopped.
struct slawatch_mhd_logger {
    slawatch_mhd_log_line log;
    void *context;
};

/// MHD_start_daemon with the options slawatch uses: the listening address, the thread pool size,
/// the idle timeout of a connection in seconds, the request-completed notification and the logger.
struct MHD_Daemon *slawatch_mhd_start_daemon(
    unsigned int flags, const struct sockaddr *address, unsigned int thread_pool_size,
    unsigned int connection_timeout_seconds, MHD_AccessHandlerCallback handler, void *handler_context,
    MHD_RequestCompletedCallback completed, void *completed_context, struct slawatch_mhd_logger *logger);

/// The port the daemon listens on (MHD_DAEMON_INFO_BIND_PORT); 0 when MHD cannot tell.
unsigned int slawatch_mhd_bind_port(struct MHD_Daemon *daemon);

/// The client's address as text ("127.0.0.1", "::1") and its port; returns 0 when MHD has none or it is
/// neither IPv4 nor IPv6.
int slawatch_mhd_client_address(
    struct MHD_Connection *connection, char *host, size_t host_capacity, unsigned int *port);
#endif
