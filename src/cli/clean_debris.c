/*
 * clean_debris.c - the words of `clean --debris`: a debris record's members and the summary's
 * counts per topic (clean_debris.h).  The acts and the order of records are cmd_clean.c's.
 */
#include "clean_debris.h"

#include <sys/stat.h>

#include "cli.h"

const char *debris_kind(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "directory";
	case S_IFLNK:
		return "symlink";
	default:
		return "other";
	}
}

static const char *topic_name(unsigned topic)
{
	size_t n;
	const pyci_debris_topic *topics = pyci_debris_topics(&n);
	return topic < n ? topics[topic].name : "?";
}

void debris_record_members(pyci_jw *w, const pyci_debris_entry *e)
{
	pyci_jw_cstr(w, "type", "debris");
	pyci_jw_str(w, "path", e->path, e->path_len);
	pyci_jw_cstr(w, "topic", topic_name(e->topic));
	pyci_jw_cstr(w, "kind", debris_kind(e->mode));
	if (!S_ISDIR(e->mode))
		pyci_jw_u64(w, "size", e->size);
}

void debris_tally_removed(struct debris_tally *t, const pyci_debris_entry *e)
{
	struct debris_count *c = &t->topic[e->topic % 32];
	if (S_ISDIR(e->mode)) {
		c->dirs++;
	} else {
		c->files++;
		c->bytes += e->size;
	}
}

/* The sum over every topic. */
static struct debris_count total(const struct debris_tally *t)
{
	struct debris_count s = {0, 0, 0};
	for (size_t i = 0; i < 32; i++) {
		s.files += t->topic[i].files;
		s.bytes += t->topic[i].bytes;
		s.dirs += t->topic[i].dirs;
	}
	return s;
}

int debris_summary_text(pyci_buf *b, const struct debris_tally *t, int dry_run)
{
	struct debris_count s = total(t);
	size_t n;
	const pyci_debris_topic *topics = pyci_debris_topics(&n);
	int rc =
		pyci_buf_printf(b, "debris: %s %llu file%s (", dry_run ? "would remove" : "removed",
				s.files, s.files == 1 ? "" : "s");
	rc |= cli_human_bytes(b, s.bytes);
	rc |= pyci_buf_printf(b, ") and %llu director%s\n", s.dirs, s.dirs == 1 ? "y" : "ies");
	for (size_t i = 0; i < n; i++) {
		const struct debris_count *c = &t->topic[i];
		if (!c->files && !c->dirs)
			continue;
		rc |= pyci_buf_printf(b, "  %-10s %8llu  ", topics[i].name, c->files);
		rc |= cli_human_bytes(b, c->bytes);
		rc |= pyci_buf_printf(b, ", %llu director%s\n", c->dirs,
				      c->dirs == 1 ? "y" : "ies");
	}
	if (t->failed || t->kept)
		rc |= pyci_buf_printf(
			b, "debris not removed: %llu failed, %llu kept for safety (see stderr)\n",
			t->failed, t->kept);
	return rc ? -1 : 0;
}

void debris_summary_members(pyci_jw *w, const struct debris_tally *t)
{
	struct debris_count s = total(t);
	size_t n;
	const pyci_debris_topic *topics = pyci_debris_topics(&n);
	pyci_jw_begin(w, "debris");
	pyci_jw_begin_array(w, "topics");
	for (size_t i = 0; i < n; i++)
		if (t->topics & PYCI_DEBRIS_TOPIC_BIT(i))
			pyci_jw_cstr(w, NULL, topics[i].name);
	pyci_jw_end_array(w);
	pyci_jw_u64(w, "files", s.files);
	pyci_jw_u64(w, "bytes", s.bytes);
	pyci_jw_u64(w, "directories", s.dirs);
	pyci_jw_u64(w, "failed", t->failed);
	pyci_jw_u64(w, "kept", t->kept);
	pyci_jw_begin(w, "by_topic");
	for (size_t i = 0; i < n; i++) {
		if (!(t->topics & PYCI_DEBRIS_TOPIC_BIT(i)))
			continue;
		pyci_jw_begin(w, topics[i].name);
		pyci_jw_u64(w, "files", t->topic[i].files);
		pyci_jw_u64(w, "bytes", t->topic[i].bytes);
		pyci_jw_u64(w, "directories", t->topic[i].dirs);
		pyci_jw_end(w);
	}
	pyci_jw_end(w);
	pyci_jw_end(w);
}
