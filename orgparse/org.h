/*
 * orgparse: a structural parser for Emacs org-mode text.
 *
 * org_parse() reads a buffer in one forward pass into a document: headings,
 * planning lines with their timestamps parsed (date, time, time and date
 * ranges, repeater, warning delay), property drawers and their
 * node properties, #+KEYWORD: lines, greater blocks, other drawers. It
 * follows Emacs org-element (Org 9.5.5) for everything it reports. Any byte
 * sequence is valid org: parsing never fails except for lack of memory,
 * never reads out of bounds, and gives every element its 1-based line
 * number. org_timestamp_parse() reads one timestamp on its own.
 *
 * This library is standalone: it never logs, never exits and knows nothing
 * of keeper.
 *
 * Ownership: org_parse() copies what it needs; the input buffer may be freed
 * as soon as it returns. Every pointer reachable from an org_doc (strings,
 * arrays) is owned by the document and lives until org_free(). Strings are
 * NUL-terminated and also carry their length, because org text may contain
 * NUL bytes. An absent optional string has s == NULL and len == 0.
 * org_timestamp_parse() allocates nothing: the raw text it returns points
 * into the caller's buffer.
 */
#ifndef ORGPARSE_ORG_H
#define ORGPARSE_ORG_H

#include <stddef.h>

typedef struct org_str {
	const char	*s;
	size_t		 len;
} org_str;

enum org_type {
	ORG_HEADING = 1,
	ORG_PLANNING,
	ORG_PROPERTY,		/* a node property of a real property drawer */
	ORG_KEYWORD,
	ORG_DRAWER,		/* any drawer other than a heading's property drawer */
	ORG_BLOCK
};

typedef struct org_heading {
	size_t		 line;
	int		 level;		/* number of stars */
	org_str		 todo;		/* TODO keyword, or absent */
	org_str		 priority;	/* the letter/number inside [#X], or absent */
	org_str		 title;		/* without keyword, priority, COMMENT, tags */
	const org_str	*tags;		/* without colons */
	size_t		 ntags;
	int		 commented;	/* COMMENT keyword */
	long		 parent;	/* index in doc->headings, -1 at top */
	long		 planning;	/* index in doc->plannings, or -1 */
	size_t		 props;		/* first node property in doc->props */
	size_t		 nprops;	/* its property drawer's node properties */
	int		 has_propdrawer;
	int		 olevel;	/* org-element's level: 1 + level / 2
					   under #+STARTUP: odd, else level */
} org_heading;

/*
 * A timestamp as org-element-timestamp-parser reads it. org-element checks
 * almost nothing: the fields are the digits as written, so a date may be
 * 2023-02-29 or 2024-04-31 and a time 25:99 (callers that need a real date
 * must check), and the day name is skipped, never compared with the date.
 * A diary sexp (<%%(...)>) has type ORG_TS_DIARY and no fields (dates 0,
 * times -1, no repeater or warning).
 */
enum org_ts_type { ORG_TS_NONE = 0, ORG_TS_ACTIVE, ORG_TS_ACTIVE_RANGE,
	ORG_TS_INACTIVE, ORG_TS_INACTIVE_RANGE, ORG_TS_DIARY };
enum org_rep_type { ORG_REP_NONE = 0, ORG_REP_CUMULATE /* + */,
	ORG_REP_CATCH_UP /* ++ */, ORG_REP_RESTART /* .+ */ };
enum org_warn_type { ORG_WARN_NONE = 0, ORG_WARN_ALL /* - */,
	ORG_WARN_FIRST /* -- */ };

typedef struct org_timestamp {
	enum org_ts_type type;
	/* hour/minute -1: no time (both or neither) */
	int		 year_start, month_start, day_start, hour_start,
			 minute_start;
	/* The end date is a date range's second timestamp's, else the
	 * start's; the end time the second timestamp's, else a time
	 * range's (<... 06:00-07:30>), else the start's: as org-element
	 * fills them. */
	int		 year_end, month_end, day_end, hour_end, minute_end;
	/* Values beyond INT_MAX (org-element keeps bignums) read INT_MAX. */
	enum org_rep_type repeater_type;
	int		 repeater_value;
	char		 repeater_unit;	/* 'h','d','w','m','y' or 0 */
	enum org_warn_type warning_type;
	int		 warning_value;
	char		 warning_unit;
	org_str		 raw;		/* the timestamp's text */
} org_timestamp;

typedef struct org_planning {
	size_t		 line;
	long		 heading;
	org_str		 scheduled;	/* raw timestamp text, or absent */
	org_str		 deadline;
	org_str		 closed;
	/* The same timestamps parsed, raw pointing at the strings above;
	 * type ORG_TS_NONE when absent, and also when the raw text is one
	 * org-element would stop on with an error (<2024-1-1 +1d>,
	 * <2024-01-01>--<x>). */
	org_timestamp	 scheduled_ts, deadline_ts, closed_ts;
} org_planning;

typedef struct org_prop {
	size_t		 line;
	long		 heading;	/* owning heading */
	org_str		 key;		/* as written, without colons or '+' */
	org_str		 value;		/* trimmed */
	int		 append;	/* written :KEY+: */
} org_prop;

typedef struct org_keyword {
	size_t		 line;
	long		 heading;	/* heading whose section holds it, or -1 */
	org_str		 key;		/* upper-cased */
	org_str		 value;		/* trimmed */
} org_keyword;

typedef struct org_drawer {
	size_t		 line;
	long		 heading;
	org_str		 name;		/* as written */
} org_drawer;

typedef struct org_block {
	size_t		 line;		/* the #+BEGIN_ line */
	size_t		 end_line;	/* the #+END_ line */
	long		 heading;
	org_str		 name;		/* upper-cased: SRC, EXAMPLE, QUOTE, ... */
	org_str		 lang;		/* SRC only: the language, or absent */
	org_str		 params;	/* the rest of the #+BEGIN_ line, or absent */
	org_str		 value;		/* contents, comma escapes removed */
} org_block;

/* One entry per element, in document order; index points into the array
 * for its type. */
typedef struct org_elem {
	enum org_type	 type;
	size_t		 line;
	size_t		 index;
} org_elem;

typedef struct org_doc {
	const org_elem		*elems;
	size_t			 nelems;
	const org_heading	*headings;
	size_t			 nheadings;
	const org_planning	*plannings;
	size_t			 nplannings;
	const org_prop		*props;
	size_t			 nprops;
	const org_keyword	*keywords;
	size_t			 nkeywords;
	const org_drawer	*drawers;
	size_t			 ndrawers;
	const org_block		*blocks;
	size_t			 nblocks;
	size_t			 nlines;
	void			*priv;		/* the parser's own */
} org_doc;

/* Parse len bytes at buf. Returns NULL only when out of memory. */
org_doc		*org_parse(const char *buf, size_t len);
void		 org_free(org_doc *);

/*
 * Value of property key (ASCII case-insensitive) for heading h (-1: the
 * file's own property drawer and #+PROPERTY: lines), as org-entry-get
 * computes it: the first :KEY: line is the base value (a base of "nil"
 * counts as none), each :KEY+: line appends to it with a space. With
 * inherit, a heading without a base value takes its ancestors' (their
 * values coming first), then the file drawer's, then #+PROPERTY: lines'.
 * Returns a malloc'd string the caller frees, or NULL when absent (or out
 * of memory). *line, when not NULL, gets the line of the last entry read.
 */
char		*org_property(const org_doc *, long h, const char *key,
		    int inherit, size_t *line);

/* The last #+KEY: keyword with this key (case-insensitive), or NULL. */
const org_keyword *org_keyword_get(const org_doc *, const char *key);

/* Index of the heading whose section holds line, -1 before the first. */
long		 org_heading_at_line(const org_doc *, size_t line);

/*
 * 0 with *ts filled when s[0..len) is one timestamp (or range) org-element
 * would read, as in a planning line (case-sensitive: +1D is no repeater),
 * else -1 with *ts zeroed (type ORG_TS_NONE). ts->raw points into s.
 */
int		 org_timestamp_parse(const char *s, size_t len,
		    org_timestamp *ts);

#endif
