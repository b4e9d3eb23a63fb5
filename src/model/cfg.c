/*
 * cfg: helpers shared by the config models.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "util.h"

char *
cfg_read(const char *path, size_t *lenp, struct diag *d)
{
	struct sb sb = { 0 };
	struct stat st;
	char chunk[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		diag_err(d, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		diag_err(d, path, 0, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		diag_err(d, path, 0, "is a directory");
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		/* FIFOs and devices could block or never end. */
		diag_err(d, path, 0, "not a regular file");
		goto fail;
	}
	if ((uintmax_t)st.st_size > CFG_MAX_BYTES) {
		diag_err(d, path, 0, "file too large (%jd bytes, limit %u)",
		    (intmax_t)st.st_size, CFG_MAX_BYTES);
		goto fail;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			diag_err(d, path, 0, "cannot read: %s",
			    strerror(errno));
			goto fail;
		}
		if (sb.len + (size_t)n > CFG_MAX_BYTES) {
			/* It grew while we read it. */
			diag_err(d, path, 0, "file too large (limit %u)",
			    CFG_MAX_BYTES);
			goto fail;
		}
		sb_add(&sb, chunk, (size_t)n);
	}
	close(fd);
	*lenp = sb.len;
	return sb_detach(&sb);
fail:
	close(fd);
	sb_release(&sb);
	return NULL;
}

int
cfg_name_ok(const char *name, size_t max)
{
	size_t n = strlen(name);

	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	if (name[0] == '.' || name[0] == '-' || name[n - 1] == '.')
		return 0;
	if (strstr(name, "..") != NULL)
		return 0;
	if (n >= 5 && strcmp(name + n - 5, ".lock") == 0)
		return 0;
	return 1;
}

int
cfg_int(const char *s, long min, long max, long *out)
{
	const char *p = s;
	long v = 0;
	int neg = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (LONG_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0')
		return -1;
	if (neg)
		v = -v;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
cfg_bool(const char *s)
{
	if (s[0] == '\0' || strcasecmp(s, "nil") == 0)
		return 0;
	if (strcasecmp(s, "t") == 0)
		return 1;
	return -1;
}

int
cfg_regex_check(const char *pat, int nonempty, char *err, size_t len)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	pcre2_code *code;
	pcre2_match_data *md;
	int rc, ret = -1;

	/* Same options as redact.c, so that what check accepts runs. */
	code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	    PCRE2_NEVER_UTF, &rc, &off, NULL);
	if (code == NULL) {
		pcre2_get_error_message(rc, msg, sizeof(msg));
		snprintf(err, len, "%s at offset %zu", (char *)msg,
		    (size_t)off);
		return -1;
	}
	if (nonempty) {
		md = pcre2_match_data_create_from_pattern(code, NULL);
		if (md == NULL) {
			snprintf(err, len, "out of memory");
			goto done;
		}
		rc = pcre2_match(code, (PCRE2_SPTR)"", 0, 0, 0, md, NULL);
		pcre2_match_data_free(md);
		if (rc >= 0) {
			snprintf(err, len, "it matches the empty string");
			goto done;
		}
	}
	ret = 0;
done:
	pcre2_code_free(code);
	return ret;
}

char *
cfg_resolve(const char *dir, const char *path)
{
	if (dir == NULL || strcmp(dir, ".") == 0)
		return xstrdup(path);
	return util_resolve(dir, path);
}

void *
cfg_grow(void *array, size_t n, size_t sz)
{
	if ((n & (n - 1)) != 0)
		return array;		/* n is not a power of two: room left */
	return xreallocarray(array, n ? n * 2 : 1, sz);
}

char *
cfg_strn(const char *s, size_t len)
{
	return s ? xstrndup(s, len) : xstrdup("");
}

static int
in_list(const char *key, const char *const *list)
{
	for (; *list; list++) {
		size_t n = strlen(*list);

		/* An entry ending in '*' is a prefix. */
		if ((*list)[n - 1] == '*') {
			if (strncasecmp(key, *list, n - 1) == 0)
				return 1;
		} else if (strcasecmp(key, *list) == 0)
			return 1;
	}
	return 0;
}

int
cfg_org_keyword(const char *key)
{
	static const char *const std[] = {
		"TITLE", "AUTHOR", "EMAIL", "DATE", "DESCRIPTION",
		"KEYWORDS", "LANGUAGE", "SUBTITLE", "CREATOR", "OPTIONS",
		"STARTUP", "PROPERTY", "FILETAGS", "TAGS", "TODO", "SEQ_TODO",
		"TYP_TODO", "CATEGORY", "ARCHIVE", "COLUMNS", "CONSTANTS",
		"LINK", "PRIORITIES", "SETUPFILE", "INCLUDE", "MACRO", "BIND",
		"SELECT_TAGS", "EXCLUDE_TAGS", "NAME", "CAPTION", "HEADER",
		"HEADERS", "RESULTS", "PLOT", "CALL", "TBLFM", "INDEX", "TOC",
		"CINDEX", "KINDEX", "PINDEX", "TINDEX", "VINDEX", "FINDEX",
		"DRAWERS", "SOURCE", "SRCNAME", "TBLNAME", "DATA", "LABEL",
		"ATTR_*", "EXPORT_*", "HTML", "HTML_*", "LATEX", "LATEX_*",
		"BEAMER", "BEAMER_*", "ODT", "ODT_*", "TEXINFO", "TEXINFO_*",
		"MAN_*", "ASCII", "INFOJS_OPT", "STYLE", "LINK_HOME", "LINK_UP",
		NULL
	};

	return in_list(key, std);
}

int
cfg_org_property(const char *key)
{
	static const char *const std[] = {
		"ID", "CUSTOM_ID", "CATEGORY", "ARCHIVE", "ARCHIVE_*",
		"COLUMNS", "LOGGING", "VISIBILITY", "ORDERED", "NOBLOCKING",
		"EFFORT", "CREATED", "STYLE", "COOKIE_DATA", "CLOCK_*",
		"TABLE_EXPORT_*", "EXPORT_*", "HTML_*", "LATEX_*", "ATTACH_*",
		"DIR", "HEADER-ARGS", "HEADER-ARGS:*", "NOTES", "SUMMARY",
		"DESCRIPTION", "ALT_TITLE", "UNNUMBERED", "LAST_REPEAT",
		"REPEAT_TO_STATE", "TRIGGER", "BLOCKER", "ITEM", "TODO",
		"PRIORITY", "TAGS", "ALLTAGS", "FILE", "TIMESTAMP", "SCHEDULED",
		"DEADLINE", "CLOSED",
		NULL
	};

	return in_list(key, std);
}
