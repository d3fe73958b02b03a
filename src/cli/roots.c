/*
 * roots.c - the command line's word on PATHs that name the same files (pyci_roots_overlaps):
 * an error for a run that would act on them twice, a warning for one that reports them again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scanrun.h"
#include "pycinspect/roots.h"

static void say(const char *inner, const char *outer, int inner_dir, int same, int refuse)
{
	pyci_buf a = PYCI_BUF_INIT, b = PYCI_BUF_INIT;
	if (cli_quote_path(&a, inner, strlen(inner)) == 0 &&
	    cli_quote_path(&b, outer, strlen(outer)) == 0) {
		const char *rel = same ? "is the same as" : "is inside";
		if (refuse)
			cli_error("'%s' %s '%s': name each tree once (nothing was removed)", a.data,
				  rel, b.data);
		else
			cli_error("warning: '%s' %s '%s': %s reported again", a.data, rel, b.data,
				  inner_dir ? "its caches are" : "it is");
	}
	pyci_buf_free(&a);
	pyci_buf_free(&b);
}

int roots_overlap(char **paths, const pyci_scan_options *o, int refuse)
{
	size_t n = 0;
	while (paths[n])
		n++;
	pyci_roots_overlap *ov;
	size_t nov;
	if (pyci_roots_overlaps((const char *const *)paths, n, o, &ov, &nov) != 0)
		return 0; /* out of memory: the walk still works; only this courtesy is lost */
	for (size_t i = 0; i < nov; i++)
		say(paths[ov[i].inner], paths[ov[i].outer], ov[i].inner_dir, ov[i].same, refuse);
	free(ov);
	return nov > 0;
}
