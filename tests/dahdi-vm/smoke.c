/* smoke.c - end-to-end check of the real DAHDI driver inside the VM.
 *
 * Expects the system.conf of this directory: two 24-channel dynamic loc spans
 * looped to each other (1..24 <-> 25..48): 1/25 bchan, 3/27 cas, 24/48 dchan.
 * Checks: DAHDI_STARTUP on both spans, CAS bits 3<->27, HDLC frame 24->48,
 * audio block 1->25, SPANSTAT.  Prints ioctl numbers and struct sizes (compare
 * them with the Rust side).  Exit 0 only if every check passes.
 *
 * Build: cc -O2 -Wall -o smoke smoke.c      (uses <dahdi/user.h> from dahdi-source)
 */
#define _GNU_SOURCE
#include <dahdi/user.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#ifndef ELAST
#define ELAST 500
#endif

static int failures;
#define CHECK(cond, ...) do { if (cond) { printf("PASS: " __VA_ARGS__); printf("\n"); } \
	else { printf("FAIL: " __VA_ARGS__); printf("  (errno %d %s)\n", errno, strerror(errno)); failures++; } } while (0)

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void print_abi(void)
{
#define P(x) printf("ABI %-28s 0x%08lx\n", #x, (unsigned long)(x))
#define S(x) printf("ABI sizeof(%s) %zu\n", #x, sizeof(x))
	S(struct dahdi_params);
	S(struct dahdi_spaninfo);
	S(struct dahdi_bufferinfo);
	S(struct dahdi_dialoperation);
	S(struct dahdi_versioninfo);
	S(struct dahdi_attach_echocan);
	S(struct dahdi_echocanparams);
	S(struct dahdi_echocanparam);
	printf("ABI offsetof(dahdi_params.name) %zu, .chan_alarms %zu\n",
	       offsetof(struct dahdi_params, name), offsetof(struct dahdi_params, chan_alarms));
	printf("ABI offsetof(dahdi_spaninfo.alarms) %zu, .fecount %zu, .irqmisses %zu, .lboname %zu, .irq %zu, .linecompat %zu, .spantype %zu\n",
	       offsetof(struct dahdi_spaninfo, alarms), offsetof(struct dahdi_spaninfo, fecount),
	       offsetof(struct dahdi_spaninfo, irqmisses), offsetof(struct dahdi_spaninfo, lboname),
	       offsetof(struct dahdi_spaninfo, irq), offsetof(struct dahdi_spaninfo, linecompat),
	       offsetof(struct dahdi_spaninfo, spantype));
	P(DAHDI_GET_BLOCKSIZE); P(DAHDI_SET_BLOCKSIZE); P(DAHDI_FLUSH);
	P(DAHDI_GET_PARAMS); P(DAHDI_SET_PARAMS); P(DAHDI_HOOK); P(DAHDI_GETEVENT);
	P(DAHDI_IOMUX); P(DAHDI_SPANSTAT); P(DAHDI_SENDTONE);
	P(DAHDI_GET_BUFINFO); P(DAHDI_SET_BUFINFO); P(DAHDI_DIAL); P(DAHDI_AUDIOMODE);
	P(DAHDI_ECHOCANCEL); P(DAHDI_ECHOCANCEL_PARAMS); P(DAHDI_CHANNO); P(DAHDI_DIALING);
	P(DAHDI_HDLCRAWMODE); P(DAHDI_HDLCFCSMODE); P(DAHDI_SPECIFY); P(DAHDI_SETLAW);
	P(DAHDI_SETLINEAR); P(DAHDI_GETRXBITS); P(DAHDI_SETTXBITS); P(DAHDI_GETVERSION);
	P(DAHDI_ATTACH_ECHOCAN); P(DAHDI_STARTUP); P(DAHDI_SHUTDOWN); P(DAHDI_BUFFER_EVENTS);
	P(DAHDI_SIG_CAS); P(DAHDI_SIG_HDLCFCS); P(DAHDI_SIG_CLEAR); P(DAHDI_SIG_EM);
	P(DAHDI_EVENT_BITSCHANGED); P(DAHDI_EVENT_ALARM); P(DAHDI_EVENT_NOALARM);
	P(DAHDI_ALARM_RED); P(DAHDI_ALARM_BLUE); P(DAHDI_ALARM_YELLOW); P(DAHDI_ALARM_NOTOPEN);
#undef P
#undef S
}

static int open_chan(int channo)
{
	int fd = open("/dev/dahdi/channel", O_RDWR | O_NONBLOCK);
	if (fd < 0) {
		printf("open /dev/dahdi/channel: %s\n", strerror(errno));
		return -1;
	}
	if (ioctl(fd, DAHDI_SPECIFY, &channo)) {
		printf("DAHDI_SPECIFY(%d): %s\n", channo, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void print_params(int fd)
{
	struct dahdi_params p;
	memset(&p, 0, sizeof(p));
	if (ioctl(fd, DAHDI_GET_PARAMS, &p) == 0)
		printf("  chan %d span %d pos %d name '%s' sigtype 0x%x sigcap 0x%x law %d rxbits 0x%x txbits 0x%x alarms 0x%x\n",
		       p.channo, p.spanno, p.chanpos, p.name, p.sigtype, p.sigcap, p.curlaw,
		       p.rxbits, p.txbits, p.chan_alarms);
	else
		printf("  GET_PARAMS: %s\n", strerror(errno));
}

/* read all pending events; return 1 if `want` was seen */
static int drain_events(int fd, const char *who, int want)
{
	int seen = 0, ev;
	for (int i = 0; i < 64; i++) {
		ev = 0;
		if (ioctl(fd, DAHDI_GETEVENT, &ev) || ev == 0)
			break;
		printf("  %s: event %d\n", who, ev);
		if (ev == want)
			seen = 1;
	}
	return seen;
}

static int wait_event(int fd, const char *who, int want, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	while (now_ms() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLPRI };
		poll(&pfd, 1, 50);
		if (drain_events(fd, who, want))
			return 1;
	}
	return 0;
}

/* ----------------------------------------------------------------- CAS */
static void test_cas(int a, int b, int bits)
{
	int fa = open_chan(a), fb = open_chan(b);
	CHECK(fa >= 0 && fb >= 0, "CAS: open channels %d and %d", a, b);
	if (fa < 0 || fb < 0)
		goto out;
	print_params(fa);
	print_params(fb);
	drain_events(fa, "cas a", -1);
	drain_events(fb, "cas b", -1);
	int r = ioctl(fa, DAHDI_SETTXBITS, &bits);
	CHECK(r == 0, "CAS: SETTXBITS 0x%x on %d", bits, a);
	int got = wait_event(fb, "cas b", DAHDI_EVENT_BITSCHANGED, 2000);
	CHECK(got, "CAS: BITSCHANGED event on %d", b);
	int rx = -1;
	r = ioctl(fb, DAHDI_GETRXBITS, &rx);
	CHECK(r == 0 && (rx & 0xf) == bits, "CAS: GETRXBITS on %d = 0x%x (want 0x%x)", b, rx & 0xf, bits);
out:
	if (fa >= 0) close(fa);
	if (fb >= 0) close(fb);
}

/* ----------------------------------------------------------------- HDLC */
static void test_hdlc(int a, int b)
{
	int fa = open_chan(a), fb = open_chan(b);
	CHECK(fa >= 0 && fb >= 0, "HDLC: open channels %d and %d", a, b);
	if (fa < 0 || fb < 0)
		goto out;
	print_params(fa);
	print_params(fb);
	struct dahdi_bufferinfo bi = { .txbufpolicy = DAHDI_POLICY_IMMEDIATE,
		.rxbufpolicy = DAHDI_POLICY_IMMEDIATE, .numbufs = 32, .bufsize = 1024 };
	CHECK(ioctl(fa, DAHDI_SET_BUFINFO, &bi) == 0 && ioctl(fb, DAHDI_SET_BUFINFO, &bi) == 0,
	      "HDLC: SET_BUFINFO {0,0,32,1024}");
	drain_events(fa, "hdlc a", -1);
	drain_events(fb, "hdlc b", -1);

	unsigned char frame[64];
	const char *payload = "trunkd-smoke-hdlc";
	int n = 0;
	frame[n++] = 0x00; frame[n++] = 0x01; frame[n++] = 0x7f; /* LAPD-ish header */
	memcpy(frame + n, payload, strlen(payload));
	n += strlen(payload);
	frame[n] = frame[n + 1] = 0; /* 2 dummy FCS bytes, filled by the kernel */

	int ok = 0;
	for (int attempt = 1; attempt <= 5 && !ok; attempt++) {
		ssize_t w = write(fa, frame, n + 2);
		if (w < 0 && errno == ELAST) { drain_events(fa, "hdlc a", -1); continue; }
		printf("  HDLC attempt %d: write %zd bytes -> %zd\n", attempt, (ssize_t)(n + 2), w);
		long long end = now_ms() + 1000;
		while (now_ms() < end && !ok) {
			struct pollfd pfd = { .fd = fb, .events = POLLIN | POLLPRI };
			poll(&pfd, 1, 100);
			unsigned char buf[1024];
			ssize_t r = read(fb, buf, sizeof(buf));
			if (r < 0) {
				if (errno == ELAST)
					drain_events(fb, "hdlc b", -1);
				continue;
			}
			printf("  HDLC read %zd bytes:", r);
			for (ssize_t i = 0; i < r && i < 32; i++)
				printf(" %02x", buf[i]);
			printf("\n");
			if (r == n + 2 && memcmp(buf, frame, n) == 0)
				ok = 1;
		}
	}
	CHECK(ok, "HDLC: frame of %d bytes (+2 FCS) %d -> %d", n, a, b);
out:
	if (fa >= 0) close(fa);
	if (fb >= 0) close(fb);
}

/* ----------------------------------------------------------------- audio */
static int setup_bearer(int fd)
{
	int bs = 160, one = 1, law = DAHDI_LAW_MULAW;
	struct dahdi_bufferinfo bi = { .txbufpolicy = DAHDI_POLICY_IMMEDIATE,
		.rxbufpolicy = DAHDI_POLICY_IMMEDIATE, .numbufs = 4, .bufsize = 160 };
	if (ioctl(fd, DAHDI_SET_BLOCKSIZE, &bs)) { printf("  SET_BLOCKSIZE: %s\n", strerror(errno)); return -1; }
	if (ioctl(fd, DAHDI_SET_BUFINFO, &bi)) { printf("  SET_BUFINFO: %s\n", strerror(errno)); return -1; }
	if (ioctl(fd, DAHDI_AUDIOMODE, &one)) { printf("  AUDIOMODE: %s\n", strerror(errno)); return -1; }
	if (ioctl(fd, DAHDI_SETLAW, &law)) { printf("  SETLAW: %s\n", strerror(errno)); return -1; }
	bs = 0;
	ioctl(fd, DAHDI_GET_BLOCKSIZE, &bs);
	printf("  blocksize now %d\n", bs);
	return bs == 160 ? 0 : -1;
}

static void test_audio(int a, int b)
{
	int fa = open_chan(a), fb = open_chan(b);
	CHECK(fa >= 0 && fb >= 0, "AUDIO: open channels %d and %d", a, b);
	if (fa < 0 || fb < 0)
		goto out;
	print_params(fa);
	print_params(fb);
	CHECK(setup_bearer(fa) == 0 && setup_bearer(fb) == 0, "AUDIO: blocksize 160, bufinfo {0,0,4,160}, audiomode 1, mu-law");
	int all = DAHDI_FLUSH_ALL;
	ioctl(fa, DAHDI_FLUSH, &all);
	ioctl(fb, DAHDI_FLUSH, &all);
	drain_events(fa, "audio a", -1);
	drain_events(fb, "audio b", -1);

	/* a recognisable, non-idle mu-law pattern */
	unsigned char blk[160];
	for (int i = 0; i < 160; i++)
		blk[i] = (unsigned char)(0x10 + (i % 96));
	static unsigned char rx[160 * 200];
	size_t rxn = 0;
	int written = 0, found = 0;
	long long end = now_ms() + 3000;
	while (now_ms() < end && !found) {
		if (written < 10) {
			ssize_t w = write(fa, blk, sizeof(blk));
			if (w == (ssize_t)sizeof(blk))
				written++;
			else if (w < 0 && errno == ELAST)
				drain_events(fa, "audio a", -1);
		}
		struct pollfd pfd = { .fd = fb, .events = POLLIN | POLLPRI };
		poll(&pfd, 1, 20);
		unsigned char buf[320];
		ssize_t r;
		while ((r = read(fb, buf, sizeof(buf))) > 0 && rxn + r <= sizeof(rx)) {
			memcpy(rx + rxn, buf, r);
			rxn += r;
		}
		if (r < 0 && errno == ELAST)
			drain_events(fb, "audio b", -1);
		/* look for 64 consecutive pattern bytes anywhere in the stream */
		if (rxn >= 64 && memmem(rx, rxn, blk + 16, 64))
			found = 1;
	}
	printf("  AUDIO: wrote %d blocks on %d, read %zu bytes on %d; first bytes:", written, a, rxn, b);
	for (size_t i = 0; i < rxn && i < 16; i++)
		printf(" %02x", rx[i]);
	printf("\n");
	if (!found && rxn) {
		/* show a non-idle window to help debugging */
		for (size_t i = 0; i < rxn; i++)
			if (rx[i] != 0xff && rx[i] != 0x7f) {
				printf("  AUDIO: first non-idle byte at %zu:", i);
				for (size_t j = i; j < rxn && j < i + 24; j++)
					printf(" %02x", rx[j]);
				printf("\n");
				break;
			}
	}
	CHECK(written > 0 && found, "AUDIO: 160-byte block %d -> %d received intact", a, b);
out:
	if (fa >= 0) close(fa);
	if (fb >= 0) close(fb);
}

static void spanstat(int ctl, int span)
{
	struct dahdi_spaninfo si;
	memset(&si, 0, sizeof(si));
	si.spanno = span;
	int r = ioctl(ctl, DAHDI_SPANSTAT, &si);
	CHECK(r == 0, "SPANSTAT span %d", span);
	if (r == 0)
		printf("  span %d name '%s' desc '%s' alarms 0x%x numchans %d totalchans %d spantype '%.6s'\n",
		       si.spanno, si.name, si.desc, si.alarms, si.numchans, si.totalchans, si.spantype);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	print_abi();

	int ctl = open("/dev/dahdi/ctl", O_RDWR);
	CHECK(ctl >= 0, "open /dev/dahdi/ctl");
	if (ctl < 0)
		return 1;
	struct dahdi_versioninfo vi;
	memset(&vi, 0, sizeof(vi));
	if (ioctl(ctl, DAHDI_GETVERSION, &vi) == 0)
		printf("DAHDI version '%s' echocan '%s'\n", vi.version, vi.echo_canceller);

	for (int span = 1; span <= 2; span++) {
		int s = span;
		int r = ioctl(ctl, DAHDI_STARTUP, &s);
		CHECK(r == 0, "DAHDI_STARTUP span %d", span);
	}
	spanstat(ctl, 1);
	spanstat(ctl, 2);
	usleep(200 * 1000); /* let the dynamic spans exchange a few frames */

	test_cas(3, 27, DAHDI_ABIT | DAHDI_CBIT);  /* 0xA */
	test_cas(27, 3, DAHDI_BBIT | DAHDI_DBIT);  /* 0x5 */
	test_hdlc(24, 48);
	test_hdlc(48, 24);
	test_audio(1, 25);
	test_audio(25, 1);

	printf("after tests:\n");
	spanstat(ctl, 1);
	spanstat(ctl, 2);
	close(ctl);
	printf("SMOKE %s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
	return failures ? 1 : 0;
}
