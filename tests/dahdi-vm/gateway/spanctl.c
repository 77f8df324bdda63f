/* spanctl: the test's hand on the driver (what dahdi_cfg and hot-plug would do).
 *   spanctl alarms SPAN                           print SPANSTAT alarms (hex)
 *   spanctl shutdown|startup SPAN                 DAHDI_SHUTDOWN / DAHDI_STARTUP
 *   spanctl destroy|create DRIVER ADDR CHANS      DAHDI_DYNAMIC_DESTROY / _CREATE
 *   spanctl chanconfig FIRST LAST bchan|dchan     DAHDI_CHANCONFIG (as dahdi_cfg does)
 * Exit 0 on success, 1 with a message on failure. Built against the real dahdi/user.h. */
#include <dahdi/user.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: spanctl alarms|shutdown|startup SPAN | destroy|create DRIVER ADDR CHANS"
			" | chanconfig FIRST LAST bchan|dchan\n");
	return 2;
}

int main(int argc, char **argv)
{
	int fd, span;
	if (argc < 3)
		return usage();
	fd = open("/dev/dahdi/ctl", O_RDWR);
	if (fd < 0) {
		perror("open /dev/dahdi/ctl");
		return 1;
	}
	if (!strcmp(argv[1], "destroy") || !strcmp(argv[1], "create")) {
		struct dahdi_dynamic_span d;
		int create = argv[1][0] == 'c';
		if (argc != 5)
			return usage();
		memset(&d, 0, sizeof(d));
		snprintf(d.driver, sizeof(d.driver), "%s", argv[2]);
		snprintf(d.addr, sizeof(d.addr), "%s", argv[3]);
		d.numchans = atoi(argv[4]);
		if (ioctl(fd, create ? DAHDI_DYNAMIC_CREATE : DAHDI_DYNAMIC_DESTROY, &d)) {
			fprintf(stderr, "spanctl %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		if (create)
			printf("%d\n", d.spanno);
		return 0;
	}
	if (!strcmp(argv[1], "chanconfig")) {
		int c, last;
		if (argc != 5)
			return usage();
		last = atoi(argv[3]);
		for (c = atoi(argv[2]); c <= last; c++) {
			struct dahdi_chanconfig cc;
			memset(&cc, 0, sizeof(cc));
			cc.chan = c;
			cc.sigtype = !strcmp(argv[4], "dchan") ? DAHDI_SIG_HDLCFCS : DAHDI_SIG_CLEAR;
			if (ioctl(fd, DAHDI_CHANCONFIG, &cc)) {
				fprintf(stderr, "spanctl chanconfig %d: %s\n", c, strerror(errno));
				return 1;
			}
		}
		return 0;
	}
	span = atoi(argv[2]);
	if (!strcmp(argv[1], "alarms")) {
		struct dahdi_spaninfo si;
		memset(&si, 0, sizeof(si));
		si.spanno = span;
		if (ioctl(fd, DAHDI_SPANSTAT, &si)) {
			fprintf(stderr, "spanctl alarms %d: %s\n", span, strerror(errno));
			return 1;
		}
		printf("0x%x\n", si.alarms);
		return 0;
	}
	if (!strcmp(argv[1], "shutdown") || !strcmp(argv[1], "startup")) {
		if (ioctl(fd, argv[1][1] == 'h' ? DAHDI_SHUTDOWN : DAHDI_STARTUP, &span)) {
			fprintf(stderr, "spanctl %s %d: %s\n", argv[1], span, strerror(errno));
			return 1;
		}
		return 0;
	}
	return usage();
}
