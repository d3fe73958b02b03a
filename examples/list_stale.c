/*
 * list_stale.c - the library on one page: judge every cache under each PATH (default: .), and
 * print the ones that CPython would not use as they are (status, version, path, reasons).
 *
 *   cc list_stale.c $(pkg-config --cflags --libs pycinspect) -o list_stale
 *   ./list_stale --target 3.12 src/        # or without --target: the interpreters on PATH
 *
 * Exit status: 0 all fresh, 1 some cache is not, 2 a PATH could not be scanned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pycinspect/record.h>
#include <pycinspect/scan.h>
#include <pycinspect/target.h>

struct seen {
	unsigned long fresh, other;
};

/* ops.record: called once per cache, in walk order, on the calling thread. */
static int on_cache(void *ctx, const pyci_record *r)
{
	struct seen *s = ctx;
	if (r->verdict->status == PYCI_FRESH) {
		s->fresh++;
		return 0;
	}
	s->other++;
	char version[24];
	if (pyci_record_version(r, version, sizeof(version)) != 0)
		strcpy(version, "-");
	if (printf("%-10s %-8s %s", pyci_status_name(r->verdict->status), version, r->path) < 0)
		return -1; /* stops the scan; errno says why */
	for (int i = 0; i < PYCI_R_COUNT; i++)
		if (r->verdict->reasons & PYCI_REASON_BIT(i))
			(void)printf(" [%s]", pyci_reason_text((pyci_reason)i));
	return putchar('\n') == EOF ? -1 : 0;
}

/* ops.error: a directory that could not be walked; the walk goes on. */
static void on_error(void *ctx, const char *path, pyci_walk_err kind, int err)
{
	(void)ctx;
	(void)kind;
	(void)fprintf(stderr, "list_stale: %s: %s\n", path, strerror(err));
}

int main(int argc, char **argv)
{
	pyci_targets targets;
	pyci_targets_init(&targets);
	int first = 1;
	if (argc > 2 && strcmp(argv[1], "--target") == 0) {
		if (pyci_targets_add_list(&targets, argv[2]) != 0) {
			(void)fprintf(stderr, "list_stale: bad --target '%s'\n", argv[2]);
			return 2;
		}
		first = 3;
	} else {
		size_t added;
		if (pyci_targets_from_path(&targets, getenv("PATH"), &added) != 0) {
			perror("list_stale: cannot read the directories of PATH");
			return 2;
		}
	}
	pyci_scan_options opt = {0}; /* default checks, no mount crossing, one thread per CPU */
	opt.targets = targets.count ? &targets : NULL;
	struct seen s = {0, 0};
	pyci_scan_ops ops = {.record = on_cache, .error = on_error, .ctx = &s};
	static char dot[] = ".";
	char *dflt[] = {dot};
	char **paths = argc > first ? argv + first : dflt;
	int npaths = argc > first ? argc - first : 1;
	int rc = 0;
	for (int i = 0; i < npaths; i++) {
		if (pyci_scan_path(paths[i], &opt, &ops) != 0) {
			(void)fprintf(stderr, "list_stale: cannot scan %s: %s\n", paths[i],
				      strerror(errno));
			rc = 2;
		}
	}
	if (fflush(stdout) != 0)
		return 2;
	(void)fprintf(stderr, "%lu fresh, %lu not\n", s.fresh, s.other);
	return rc ? rc : s.other ? 1 : 0;
}
