// SPDX-License-Identifier: GPL-2.0-or-later
/* The floor for bench/rpc: a bare single-threaded epoll server on a UNIX stream socket that
 * answers every request line with a fixed reply line of REPLY-BYTES (the size of gpukeepd's
 * reply), doing no other work. Runs until killed. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev, evs[64];
	size_t reply_len;
	char *reply, buf[4096];
	int lfd, ep;

	if (argc != 3) {
		fprintf(stderr, "usage: echo-server SOCKET REPLY-BYTES\n");
		return 2;
	}
	reply_len = (size_t)atoi(argv[2]);
	reply = malloc(reply_len);
	memset(reply, 'x', reply_len);
	reply[reply_len - 1] = '\n';
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 256) < 0) {
		perror("bind");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev = (struct epoll_event){.events = EPOLLIN, .data.fd = lfd};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			ssize_t k;

			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

				ev = (struct epoll_event){.events = EPOLLIN, .data.fd = c};
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				continue;
			}
			k = read(fd, buf, sizeof(buf));
			if (k <= 0) {
				close(fd);
				continue;
			}
			/* one reply per newline received */
			for (ssize_t j = 0; j < k; j++)
				if (buf[j] == '\n' &&
				    send(fd, reply, reply_len, MSG_NOSIGNAL) != (ssize_t)reply_len)
					close(fd);
		}
	}
}
