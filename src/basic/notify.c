// SPDX-License-Identifier: GPL-2.0-or-later
/* sd_notify(3)'s wire format is one datagram of NEWLINE-separated VAR=value lines. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "log.h"
#include "macro.h"
#include "notify.h"

int notify_open(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = getenv("NOTIFY_SOCKET");
	_cleanup_close_ int fd = -EBADF;
	socklen_t len;
	size_t n;

	if (!path || !*path)
		return -ENOENT;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace: no trailing NUL in the length */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0)
		return -errno;
	/* Children (there are none) must not talk to the manager in our name. */
	unsetenv("NOTIFY_SOCKET");
	return TAKE_FD(fd);
}

void notify_send(int fd, const char *state)
{
	if (fd < 0)
		return;
	if (send(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug_errno(errno, "cannot notify the service manager: %m");
}
