/*
 * fuzz_archive.c - libFuzzer harness for archive input (archive.h): the input is a whole file,
 * read as an archive the way `pycinspect scan ARCHIVE` and `dump ARCHIVE` read one.
 *
 * The bytes go into a memory file (memfd) judged by pyci_scan_archive_fd, with small limits so
 * that one input stays within libFuzzer's time and memory: scan when the input's last byte is
 * even, dump's three passes (every member's bytes read through its reader, and its forensic
 * object built) when odd.  Each record and error is checked against its contract: a record's
 * path is the archive's, "!/", and its member; its member's path is no longer than the path;
 * its verdict has a status; an error has a message; a result is 0, 1 or -1 with errno.  The
 * seeds (fuzz/make_corpus.sh) are small zips, wheels, tarballs and an image.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pycinspect/archive.h"
#include "pycinspect/dump.h"
#include "pycinspect/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

#define NAME "fuzz.bin"

struct seen {
	int dump;
	pyci_buf out;
};

static int on_record(void *ctx, const pyci_record *r)
{
	struct seen *s = ctx;
	const pyci_member *m = r->member;
	if (!m || !r->path || r->path_len < sizeof(NAME "!/") - 1 ||
	    memcmp(r->path, NAME "!/", sizeof(NAME "!/") - 1) != 0 || m->path_len > r->path_len ||
	    !r->verdict || !r->header || !r->cname)
		__builtin_trap();
	sink += strlen(pyci_status_name(r->verdict->status)) + m->path_len;
	pyci_buf_clear(&s->out);
	if (pyci_record_json(&s->out, r, NULL) != 0)
		return -1;
	if (s->dump) {
		pyci_dump_options o = {.consts = 1};
		pyci_buf_clear(&s->out);
		int rc = pyci_dump_json(&s->out, r, &o);
		if (rc < -1 || rc > 1)
			__builtin_trap();
	}
	sink += s->out.len;
	return 0;
}

static void on_error(void *ctx, const pyci_archive_error *e)
{
	(void)ctx;
	if (!e->path || !e->message)
		__builtin_trap();
	sink += strlen(e->message) + (e->detail ? strlen(e->detail) : 0);
}

static int on_done(void *ctx, const pyci_archive_info *a)
{
	(void)ctx;
	if (!a->format || a->nlayers > 16)
		__builtin_trap();
	for (size_t i = 0; i < a->nlayers; i++)
		sink += a->layers[i].caches.total.count + strlen(a->layers[i].name);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t done = 0;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);
		if (n <= 0) {
			close(fd);
			return 0;
		}
		done += (size_t)n;
	}
	struct seen s = {.dump = size && (data[size - 1] & 1)};
	pyci_archive_options ao = {.limits = PYCI_ARCHIVE_LIMITS_DEFAULT, .stream = s.dump};
	ao.limits.max_bytes = (uint64_t)64 << 20;
	ao.limits.ratio_floor = (uint64_t)1 << 20;
	ao.limits.max_table = (size_t)64 << 20;
	ao.limits.max_source = (uint64_t)1 << 20;
	ao.limits.max_layers = 16;
	pyci_scan_options o = {.check = PYCI_CHECK_DEFAULT};
	pyci_scan_ops ops = {.record = on_record, .ctx = &s};
	pyci_archive_ops aops = {.error = on_error, .done = on_done, .ctx = &s};
	errno = 0;
	int rc = pyci_scan_archive_fd(fd, NAME, &ao, &o, &ops, &aops);
	if (rc < -1 || rc > 1 || (rc == -1 && errno == 0))
		__builtin_trap();
	pyci_buf_free(&s.out);
	close(fd);
	return 0;
}
