/*
 * org.c: keeper's structural org-mode parser.
 *
 * What it reads, following Emacs org-element (Org 9.5.5) element by
 * element: headings (stars, TODO keyword from #+TODO/#+SEQ_TODO/#+TYP_TODO
 * or TODO/DONE, priority cookie, COMMENT, title, tags), planning lines
 * and their timestamps (org-element-timestamp-parser's fields),
 * property drawers and node properties, keywords, blocks (#+BEGIN_X ...
 * #+END_X), other drawers. To put these on the same lines org-element
 * does, it also recognises, without reporting them, everything that
 * decides where elements begin and end: paragraphs, plain lists and
 * items, affiliated keywords (#+NAME:, #+CAPTION:, #+RESULTS:,
 * #+HEADER:, #+ATTR_*:, which attach to the next element), babel calls,
 * dynamic blocks, footnote definitions, comments, fixed-width areas,
 * tables (with #+TBLFM:), LaTeX environments, clocks, diary sexps and
 * horizontal rules. Greater elements (drawers, greater blocks, dynamic
 * blocks, lists, footnote definitions) are searched recursively, as
 * org-element does.
 *
 * The text is read the way Emacs reads a file with utf-8-dos: CR LF ends
 * a line like LF, a lone CR is text, bytes that are not UTF-8 are one
 * character each.
 *
 * Deliberate differences from org-element (none shows in the fidelity
 * test over the shared corpus, tests/golden and generated documents):
 *  - Inline tasks are not special: Emacs only knows them once
 *    org-inlinetask is loaded; without it every "*+ " line is a heading,
 *    as here.
 *  - #+SETUPFILE: is not followed (its TODO keywords are not seen).
 *  - Unicode character classes are approximated: outside ASCII, a
 *    character is a word character and [[:alnum:]] unless uclass() lists
 *    its range as space, punctuation or symbol; NBSP and the Unicode
 *    spaces Emacs gives whitespace syntax are whitespace. Upper-casing of
 *    keys and block names covers Latin-1, Latin Extended-A, Greek and
 *    Cyrillic; other letters keep their case, and case-insensitive
 *    matching of block and drawer ends folds ASCII only.
 *  - In list structure, a block's end line is matched literally, where
 *    org-element builds a regexp from the unquoted block name (a block
 *    named "c++" inside a list).
 *  - #+TODO: lines count when they are keyword elements of the parse;
 *    org-collect-keywords asks org-element-at-point, which agrees except
 *    in pathological nestings.
 *  - Where org-element signals an error (a planning timestamp such as
 *    <2024-1-1 +1d>, some malformed lists), this parser just goes on:
 *    such a timestamp keeps its raw text and is left unparsed.
 *  - A repeater or warning value beyond INT_MAX reads INT_MAX, where
 *    Emacs keeps a bignum.
 *  - The file is read as with utf-8-dos even when its line ends are mixed,
 *    where Emacs would then keep every CR.
 *  - Greater elements nested deeper than MAXDEPTH are not searched (Emacs
 *    runs out of max-lisp-eval-depth well before).
 *
 * Speed: one pass to index lines (newlines found 64 bytes at a time),
 * one recursive pass over elements, each line predicate called only on
 * lines whose first byte it could match, no regular expressions, strings
 * in one arena, elements in growable arrays.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "org.h"

/* ---------------------------------------------------------------- */
/* Memory */

struct chunk {
	struct chunk	*next;
	size_t		 used, cap;
	char		 data[];
};

struct arena {
	struct chunk	*head;
};

struct tagref {
	size_t	 first, n;
};

struct todoset;

/* A line that closes blocks named like hash (0 for #+END:, dynamic). */
struct endline {
	uint32_t	 hash;
	size_t		 line;
};

struct parser {
	/* input */
	const char	*buf;
	size_t		 len;
	size_t		*ls;		/* line starts, nlines + 1 entries */
	unsigned char	*ind;		/* indentation bytes, 255: more */
	unsigned char	*nl;		/* per line: F_* flags */
	size_t		 nlines;
	int		 oom;

	struct arena	 arena;

	org_elem	*elems;	size_t nelems, celems;
	org_heading	*heads;	size_t nheads, cheads;
	org_planning	*plans;	size_t nplans, cplans;
	org_prop	*props;	size_t nprops, cprops;
	org_keyword	*kws;	size_t nkws, ckws;
	org_drawer	*drws;	size_t ndrws, cdrws;
	org_block	*blks;	size_t nblks, cblks;
	org_str		*tags;	size_t ntags, ctags;
	struct tagref	*tagrefs;	/* per heading */
	size_t		 ntagrefs, ctagrefs;
	int		 maybe_todo;	/* a #+TODO:-like line exists */
	size_t		*todolines;	/* those lines */
	size_t		 ntodolines, ctodolines;
	/* Lines that may close a block (#+END...) or a drawer (:END:), so
	 * that searching for an end never walks every line again: a file of
	 * unclosed blocks would otherwise take quadratic time. */
	struct endline	*bends;
	size_t		 nbends, cbends;
	size_t		*dends, ndends, cdends;
	size_t		*lends, nlends, clends;	/* \\end{...} lines */
	struct todoset	*dflt;		/* TODO/DONE, used while parsing */

	long		 cur_heading;

	/* last END search, to keep repeated failing searches linear */
	struct {
		int	 kind;
		const char *name;
		size_t	 namelen;
		size_t	 from, limit, result;
		int	 valid;
	} endcache;
};

struct priv {
	struct arena	 arena;
	size_t		*ls;
	unsigned char	*nl, *ind;
	org_str		*tags;
};

static void *
grow(void *p, size_t *cap, size_t n, size_t sz, int *oom)
{
	size_t	 ncap;
	void	*np;

	if (n < *cap)
		return p;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / sz) {
		*oom = 1;
		return NULL;
	}
	np = realloc(p, ncap * sz);
	if (np == NULL) {
		*oom = 1;
		return NULL;
	}
	*cap = ncap;
	return np;
}

#define PUSH(P, arr, n, c) \
	(((P)->arr = grow((P)->arr, &(P)->c, (P)->n, sizeof(*(P)->arr), \
	    &(P)->oom)) == NULL ? NULL : &(P)->arr[(P)->n++])

static char *
arena_alloc(struct parser *P, size_t n)
{
	struct chunk	*c = P->arena.head;
	size_t		 cap;

	if (c == NULL || c->cap - c->used < n) {
		cap = n > 65536 ? n : 65536;
		if ((c = malloc(sizeof(*c) + cap)) == NULL) {
			P->oom = 1;
			return NULL;
		}
		c->used = 0;
		c->cap = cap;
		c->next = P->arena.head;
		P->arena.head = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

static org_str
mkstr(struct parser *P, const char *s, size_t n)
{
	org_str	 r = { NULL, 0 };
	char	*d;

	if ((d = arena_alloc(P, n + 1)) == NULL)
		return r;
	if (n)
		memcpy(d, s, n);
	d[n] = '\0';
	r.s = d;
	r.len = n;
	return r;
}

/* Upper case of code point c, for the scripts keys are written in:
 * ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic. */
static long
upcase_cp(long c)
{
	if (c >= 'a' && c <= 'z')
		return c - 32;
	if (c == 0xB5)
		return 0x39C;
	if (c == 0x3C2)
		return 0x3A3;
	if (c < 0xE0 || c == 0xDF)
		return c;
	if (c <= 0xFE)
		return c == 0xF7 ? c : c - 32;
	if (c == 0xFF)
		return 0x178;
	if (c >= 0x100 && c <= 0x137)
		return c & 1 ? c - 1 : c;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
		return c & 1 ? c : c - 1;
	if (c >= 0x14A && c <= 0x177)
		return c & 1 ? c - 1 : c;
	if (c >= 0x3B1 && c <= 0x3C9)
		return c - 32;
	if (c >= 0x430 && c <= 0x44F)
		return c - 32;
	if (c >= 0x450 && c <= 0x45F)
		return c - 80;
	return c;
}

static size_t	u8char(const unsigned char *, const unsigned char *, long *);

/* Copy of [s, s + n) upper-cased as Emacs' upcase does for the scripts
 * above; other characters are kept. Case pairs in these ranges encode in
 * the same number of bytes, except U+00FF (2) and U+0178 (2): all 2. */
static org_str
mkupper(struct parser *P, const char *s, size_t n)
{
	org_str		 r = mkstr(P, s, n);
	unsigned char	*d = (unsigned char *)(uintptr_t)r.s;
	size_t		 i, k;
	long		 c, u;

	if (d == NULL)
		return r;
	for (i = 0; i < n; i += k) {
		if (d[i] < 0x80) {
			if (d[i] >= 'a' && d[i] <= 'z')
				d[i] -= 32;
			k = 1;
			continue;
		}
		k = u8char(d + i, d + n, &c);
		if (c == 0xDF) {
			/* Sharp s upcases to "SS", also two bytes. */
			d[i] = d[i + 1] = 'S';
			continue;
		}
		if (c < 0 || (u = upcase_cp(c)) == c)
			continue;
		if (k == 1)
			d[i] = (unsigned char)u;
		else if (k == 2 && u < 0x800) {
			d[i] = (unsigned char)(0xC0 | (u >> 6));
			d[i + 1] = (unsigned char)(0x80 | (u & 0x3F));
		}
	}
	return r;
}

/* ---------------------------------------------------------------- */
/* Characters, as Emacs sees them in an org buffer */

/* Length of the character at p as Emacs' UTF-8 decoder reads it: 1 for a
 * byte that starts no valid sequence (a raw byte). Stores the code point,
 * or -1 for a raw byte. */
static size_t
u8char(const unsigned char *p, const unsigned char *e, long *cp)
{
	unsigned	 c = p[0];
	size_t		 n, i;
	unsigned long	 v, min;

	*cp = -1;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2; v = c & 0x1F; min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3; v = c & 0x0F; min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF7) {
		n = 4; v = c & 0x07; min = 0x10000;
	} else if (c == 0xF8) {
		n = 5; v = 0; min = 0x200000;
	} else
		return 1;
	if ((size_t)(e - p) < n)
		return 1;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 1;
		v = (v << 6) | (p[i] & 0x3F);
	}
	if (v < min || (v >= 0xD800 && v <= 0xDFFF) || v > 0x3FFF7F)
		return 1;
	*cp = (long)v;
	return n;
}

/* Emacs syntax classes for a code point (-1: raw byte). */
enum { C_WS = 1, C_WORD = 2, C_ALNUM = 4 };

static int
uclass(long c)
{
	if (c < 0)
		return C_WORD;
	if (c < 0x80) {
		if (c == ' ' || c == '\t' || c == '\n' || c == '\f' ||
		    c == '\r')
			return C_WS;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			return C_WORD | C_ALNUM;
		/* org-mode's syntax table: ' from text-mode, $ and % from
		 * the standard table. */
		if (c == '\'' || c == '$' || c == '%')
			return C_WORD;
		return 0;
	}
	if (c == 0xA0 || (c >= 0x2000 && c <= 0x200B) || c == 0x202F ||
	    c == 0x205F || c == 0x3000)
		return C_WS;
	if (c < 0xC0) {
		if (c == 0xAA || c == 0xB5 || c == 0xBA)
			return C_WORD | C_ALNUM;
		if (c < 0xA0)
			return C_WORD;
		return 0;
	}
	if (c == 0xD7 || c == 0xF7)
		return 0;
	if ((c >= 0x2010 && c <= 0x206F) || (c >= 0x3001 && c <= 0x303F))
		return 0;
	if ((c >= 0x2070 && c <= 0x2BFF) || (c >= 0x1F000 && c <= 0x1FAFF) ||
	    c > 0x10FFFF)
		return C_WORD;
	return C_WORD | C_ALNUM;
}

/* Class of the character at p, its length in *n. */
static int
cclass(const char *p, const char *e, size_t *n)
{
	long	 cp;

	*n = u8char((const unsigned char *)p, (const unsigned char *)e, &cp);
	return uclass(cp);
}

/* Skip a run of word characters, '-' and '_' (a drawer or footnote
 * label, [-_[:word:]]+ in org-element's regexps). */
static const char *
skip_label(const char *p, const char *e)
{
	size_t	 n;

	while (p < e) {
		if (*p == '-' || *p == '_') {
			p++;
			continue;
		}
		if (!(cclass(p, e, &n) & C_WORD))
			break;
		p += n;
	}
	return p;
}

static int
isblank_c(char c)
{
	return c == ' ' || c == '\t';
}

/* Skip a run of non-whitespace-syntax characters (\S-). */
static const char *
skip_nonws(const char *p, const char *e)
{
	size_t	 n;

	while (p < e) {
		if ((unsigned char)*p < 0x80) {
			if (*p == ' ' || *p == '\t' || *p == '\n' ||
			    *p == '\f' || *p == '\r')
				break;
			p++;
			continue;
		}
		if (cclass(p, e, &n) & C_WS)
			break;
		p += n;
	}
	return p;
}

static const char *
skip_blanks(const char *p, const char *e)
{
	while (p < e && isblank_c(*p))
		p++;
	return p;
}

/* Does [p, e) start with lit, ASCII case-insensitively? */
static inline int
ieq_n(const char *p, const char *e, const char *lit, size_t n)
{
	size_t	 i;

	if ((size_t)(e - p) < n)
		return 0;
	for (i = 0; i < n; i++) {
		char c = p[i], l = lit[i];

		if (c == l)
			continue;
		/* Only letters fold. */
		if (!(((l | 0x20) >= 'a' && (l | 0x20) <= 'z') &&
		    (c | 0x20) == (l | 0x20)))
			return 0;
	}
	return 1;
}

#define ieq(p, e, lit)	ieq_n((p), (e), (lit), sizeof(lit) - 1)

/* ---------------------------------------------------------------- */
/* Lines */

/* Line flags, computed once while indexing. */
#define F_NL	1	/* ends with a newline */
#define F_RX	2	/* only spaces and tabs: "[ \t]*$" */
#define F_WS	4	/* only " \r\t": what skip-chars-forward skips */
#define F_HEAD	8	/* a heading: "\*+ " */
#define F_CR	16	/* its newline is CR LF */

#define LB(P, l)	((P)->buf + (P)->ls[l])
/* Content end: the next line's start less the LF and a CR before it. */
#define LE(P, l)	((P)->buf + (P)->ls[(l) + 1] - ((P)->nl[l] & F_NL) - \
			    (((P)->nl[l] & F_CR) >> 4))
/* The first character that is not a space or tab. */
#define FB(P, l)	((P)->ind[l] != 255 ? LB(P, l) + (P)->ind[l] : \
			    skip_blanks(LB(P, l), LE(P, l)))

/* Hash of a block name, ASCII case folded; never 0. */
static uint32_t
name_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t	 i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		h = (h ^ c) * 16777619u;
	}
	return h ? h : 1;
}

/* Order the end lines by name hash for find_end()'s binary search. They
 * were noted in line order, which a stable sort keeps within each hash:
 * a radix sort, a byte of the hash a pass. */
static int
sort_bends(struct parser *P)
{
	struct endline	*a = P->bends, *b, *t;
	size_t		 cnt[256], i, n = P->nbends, sum, c;
	int		 shift;

	if (n < 2)
		return 0;
	if ((b = malloc(n * sizeof(*b))) == NULL)
		return -1;
	for (shift = 0; shift < 32; shift += 8) {
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < n; i++)
			cnt[(a[i].hash >> shift) & 255]++;
		for (sum = 0, i = 0; i < 256; i++) {
			c = cnt[i];
			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			b[cnt[(a[i].hash >> shift) & 255]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	/* Four passes: the sorted lines are back in P->bends. */
	free(b);
	return 0;
}

/* Flags of the line [p, q) (q at its LF, or the end); its first byte
 * that is not a space or tab in *t. */
static unsigned char
line_flags(const char *p, const char *q, int nl, const char **t)
{
	unsigned char	 f = nl ? F_NL : 0;
	const char	*r;

	*t = p;
	if (p < q && *p == '*') {
		for (r = p; r < q && *r == '*'; r++)
			;
		if (r < q && *r == ' ')
			f |= F_HEAD;
		return f;
	}
	if (p < q && *p != ' ' && *p != '\t' && *p != '\r')
		return f;
	for (r = p; r < q && (*r == ' ' || *r == '\t'); r++)
		;
	*t = r;
	/* A CR before the LF is not part of the line. */
	if (r == q || (nl && r + 1 == q && *r == '\r'))
		return f | F_RX | F_WS;
	while (r < q && (*r == ' ' || *r == '\t' || *r == '\r'))
		r++;
	return r == q ? f | F_WS : f;
}

/* Record line i, starting (after blanks) at t, if it may close a block
 * or a drawer. */
static int
note_end(struct parser *P, size_t i, const char *t, const char *e)
{
	struct endline	*el;
	size_t		*dl;
	const char	*n, *ne;

	if (ieq(t, e, ":END:")) {
		if ((dl = PUSH(P, dends, ndends, cdends)) == NULL)
			return -1;
		*dl = i;
		return 0;
	}
	if (!ieq(t, e, "#+END"))
		return 0;
	n = t + 5;
	if (n < e && *n == '_') {
		n++;
		for (ne = n; ne < e && !isblank_c(*ne); ne++)
			;
		if (ne == n)
			return 0;
	} else if (n == e || *n == ':' || isblank_c(*n))
		ne = n;		/* #+END or #+END: closes dynamic blocks */
	else
		return 0;
	if ((el = PUSH(P, bends, nbends, cbends)) == NULL)
		return -1;
	el->hash = ne == n ? 0 : name_hash(n, (size_t)(ne - n));
	el->line = i;
	return 0;
}

/* \\end{[A-Za-z0-9*]+}[ \t]*$ somewhere at the end of [p, e). */
static int
is_latex_end_line(const char *p, const char *e)
{
	while (e > p && isblank_c(e[-1]))
		e--;
	if (e == p || e[-1] != '}')
		return 0;
	e--;
	while (e > p && ((e[-1] >= 'a' && e[-1] <= 'z') || (e[-1] >= 'A' &&
	    e[-1] <= 'Z') || (e[-1] >= '0' && e[-1] <= '9') || e[-1] == '*'))
		e--;
	return e - p >= 5 && strncasecmp(e - 5, "\\end{", 5) == 0;
}

/*
 * Newlines for index_lines(), in order. Most lines are short, and a
 * memchr call per line costs more than its search: with SSE2 (every
 * x86-64 has it) compare 64 bytes at a time and keep the chunk's
 * newlines as a bit mask for the lines that follow. Elsewhere, and for
 * the last partial chunk, memchr.
 */
struct nlscan {
	const char	*next;		/* the next chunk to read */
	const char	*stop;		/* the end of the whole chunks */
	const char	*chunk;		/* the chunk mask is of */
	uint64_t	 mask;		/* its newlines not returned yet */
};

#ifdef __SSE2__
static inline uint64_t
nlmask16(const char *p)
{
	__m128i	 v = _mm_loadu_si128((const __m128i *)(const void *)p);

	return (uint64_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v,
	    _mm_set1_epi8('\n')));
}
#endif

static void
nlscan_init(struct nlscan *ns, const char *b, size_t len)
{
	ns->next = ns->chunk = b;
	ns->stop = b + (len - len % 64);
	ns->mask = 0;
}

/* The first newline at or after p (just past the one returned last), or
 * e when none is left. */
static const char *
nlscan_next(struct nlscan *ns, const char *p, const char *e)
{
	const char	*q;

#ifdef __SSE2__
	for (;;) {
		if (ns->mask != 0) {
			q = ns->chunk + __builtin_ctzll(ns->mask);
			ns->mask &= ns->mask - 1;
			return q;
		}
		if (ns->next == ns->stop)
			break;
		ns->chunk = ns->next;
		ns->next += 64;
		ns->mask = nlmask16(ns->chunk) | nlmask16(ns->chunk + 16) << 16 |
		    nlmask16(ns->chunk + 32) << 32 |
		    nlmask16(ns->chunk + 48) << 48;
	}
	/* No newline is left before stop. */
	if (p < ns->stop)
		p = ns->stop;
#else
	(void)ns;
#endif
	q = memchr(p, '\n', (size_t)(e - p));
	return q != NULL ? q : e;
}

static int
index_lines(struct parser *P)
{
	const char	*b = P->buf, *p, *e = P->buf + P->len, *q, *ce, *t;
	size_t		 cap, i = 0;
	unsigned char	 f;
	struct nlscan	 ns;

	cap = P->len / 32 + 16;
	P->ls = malloc(cap * sizeof(size_t));
	P->nl = malloc(cap);
	P->ind = malloc(cap);
	if (P->ls == NULL || P->nl == NULL || P->ind == NULL)
		return -1;
	nlscan_init(&ns, b, P->len);
	for (p = b; p < e; p = q + 1) {
		if (i + 1 >= cap) {
			size_t		*nls;
			unsigned char	*nnl, *nind;

			cap *= 2;
			if ((nls = realloc(P->ls, cap * sizeof(size_t))) != NULL)
				P->ls = nls;
			if ((nnl = realloc(P->nl, cap)) != NULL)
				P->nl = nnl;
			if ((nind = realloc(P->ind, cap)) != NULL)
				P->ind = nind;
			if (nls == NULL || nnl == NULL || nind == NULL)
				return -1;
		}
		q = nlscan_next(&ns, p, e);
		/* ce: the content end, before a CR LF's CR. */
		ce = q;
		f = 0;
		if (q < e) {
			f = F_NL;
			if (q > p && q[-1] == '\r') {
				f |= F_CR;
				ce--;
			}
		}
		P->ls[i] = (size_t)(p - b);
		t = p;
		/* Most lines start with text: no flags, no indentation. */
		if (p < q && (*p == ' ' || *p == '\t' || *p == '\r' ||
		    *p == '*')) {
			f |= line_flags(p, q, q < e, &t);
		} else if (p == q)
			f |= F_RX | F_WS;
		P->nl[i] = f;
		P->ind[i] = t - p < 255 ? (unsigned char)(t - p) : 255;
		if (t < ce && (*t == '#' || *t == ':')) {
			if (note_end(P, i, t, ce) < 0)
				return -1;
			if (ce - t >= 7 && t[0] == '#' && t[1] == '+' &&
			    (ieq(t + 2, ce, "TODO:") ||
			    ieq(t + 2, ce, "SEQ_TODO:") ||
			    ieq(t + 2, ce, "TYP_TODO:"))) {
				size_t *tl = PUSH(P, todolines, ntodolines,
				    ctodolines);

				if (tl == NULL)
					return -1;
				*tl = i;
				P->maybe_todo = 1;
			}
		}
		if (ce > t && (ce[-1] == '}' || isblank_c(ce[-1])) &&
		    is_latex_end_line(t, ce)) {
			size_t *el = PUSH(P, lends, nlends, clends);

			if (el == NULL)
				return -1;
			*el = i;
		}
		i++;
	}
	P->ls[i] = P->len;
	P->nl[i] = 0;
	P->ind[i] = 0;
	P->nlines = i;
	return sort_bends(P);
}

/* Only spaces and tabs: Emacs' "[ \t]*$". */
static inline int
rxblank(struct parser *P, size_t l)
{
	return (P->nl[l] & F_RX) != 0;
}

/* Only characters of " \r\t\n": what skip-chars-forward skips. Line end
 * CRs are already gone, so only a lone CR is left to count. */
static inline int
wsblank(struct parser *P, size_t l)
{
	return (P->nl[l] & F_WS) != 0;
}

/* First line at or after l that is not blank, or limit. */
static size_t
skip_blank(struct parser *P, size_t l, size_t limit)
{
	while (l < limit && wsblank(P, l))
		l++;
	return l;
}

/* The line after the last non-blank line before l. */
static size_t
back_blank(struct parser *P, size_t l)
{
	while (l > 0 && wsblank(P, l - 1))
		l--;
	return l;
}

static inline int
is_heading(struct parser *P, size_t l)
{
	return (P->nl[l] & F_HEAD) != 0;
}

/* Column of the first non-blank character, tabs every 8. */
static size_t
indent_col(struct parser *P, size_t l, const char **after)
{
	const char	*p = LB(P, l), *e = LE(P, l);
	size_t		 col = 0;

	for (; p < e && isblank_c(*p); p++)
		col = *p == '\t' ? (col / 8 + 1) * 8 : col + 1;
	if (after)
		*after = p;
	return col;
}

/* ---------------------------------------------------------------- */
/* Line predicates (each mirrors one org regexp) */

/* org-drawer-regexp: ^[ \t]*:((?:\w|[-_])+):[ \t]*$ */
static int
is_drawer(struct parser *P, size_t l, const char **nb, const char **ne)
{
	const char	*p = FB(P, l), *e = LE(P, l);
	const char	*s;

	if (p >= e || *p != ':')
		return 0;
	s = ++p;
	p = skip_label(p, e);
	if (p == s || p >= e || *p != ':')
		return 0;
	if (nb) {
		*nb = s;
		*ne = p;
	}
	return skip_blanks(p + 1, e) == e;
}

/* ^[ \t]*:END:[ \t]*$ (case-insensitive) */
static int
is_end(struct parser *P, size_t l)
{
	const char	*p = FB(P, l), *e = LE(P, l);

	return ieq(p, e, ":END:") && skip_blanks(p + 5, e) == e;
}

/* ^[ \t]*#\+END_name[ \t]*$, or #+END:?[ \t]*$ when dyn. */
static int
is_block_end(struct parser *P, size_t l, const char *name, size_t nlen,
    int dyn)
{
	const char	*p = FB(P, l), *e = LE(P, l);

	if (!ieq(p, e, "#+END"))
		return 0;
	p += 5;
	if (dyn) {
		if (p < e && *p == ':')
			p++;
		return skip_blanks(p, e) == e;
	}
	if (p >= e || *p != '_')
		return 0;
	p++;
	if ((size_t)(e - p) < nlen || strncasecmp(p, name, nlen) != 0)
		return 0;
	return skip_blanks(p + nlen, e) == e;
}

enum { K_DRAWER = 1, K_BLOCK, K_DYN };

/* First line in [from, limit) that closes: a drawer, a block of that
 * name, a dynamic block. Returns limit when none. */
static size_t
find_end(struct parser *P, int kind, const char *name, size_t nlen,
    size_t from, size_t limit)
{
	size_t	 l;

	if (P->endcache.valid && P->endcache.kind == kind &&
	    P->endcache.limit == limit && P->endcache.namelen == nlen &&
	    (nlen == 0 || strncasecmp(P->endcache.name, name, nlen) == 0) &&
	    from >= P->endcache.from && from <= P->endcache.result)
		return P->endcache.result;
	if (kind == K_DRAWER) {
		const size_t *c = P->dends;
		size_t n = P->ndends, lo = 0, hi = n, mid;

		/* First candidate line at or after from. */
		while (lo < hi) {
			mid = (lo + hi) / 2;
			if (c[mid] < from)
				lo = mid + 1;
			else
				hi = mid;
		}
		l = limit;
		for (; lo < n && c[lo] < limit; lo++)
			if (is_end(P, c[lo])) {
				l = c[lo];
				break;
			}
	} else {
		const struct endline *c = P->bends;
		uint32_t h = kind == K_DYN ? 0 : name_hash(name, nlen);
		size_t n = P->nbends, lo = 0, hi = n, mid;

		/* First (hash, line) at or after (h, from). */
		while (lo < hi) {
			mid = (lo + hi) / 2;
			if (c[mid].hash < h || (c[mid].hash == h &&
			    c[mid].line < from))
				lo = mid + 1;
			else
				hi = mid;
		}
		l = limit;
		for (; lo < n && c[lo].hash == h && c[lo].line < limit; lo++)
			if (is_block_end(P, c[lo].line, name, nlen,
			    kind == K_DYN)) {
				l = c[lo].line;
				break;
			}
	}
	P->endcache.valid = 1;
	P->endcache.kind = kind;
	P->endcache.name = name;
	P->endcache.namelen = nlen;
	P->endcache.from = from;
	P->endcache.limit = limit;
	P->endcache.result = l;
	return l;
}

/* [ \t]*#\+BEGIN_(\S-+): the name. */
static int
is_block_begin(struct parser *P, size_t l, const char **nb, const char **ne)
{
	const char	*p = FB(P, l), *e = LE(P, l);
	const char	*q;

	if (!ieq(p, e, "#+BEGIN_"))
		return 0;
	p += 8;
	q = skip_nonws(p, e);
	if (q == p)
		return 0;
	*nb = p;
	*ne = q;
	return 1;
}

/* ^[ \t]*\\begin{([A-Za-z0-9*]+)} */
static int
is_latex_begin(struct parser *P, size_t l, const char **nb, const char **ne)
{
	const char	*p = FB(P, l), *e = LE(P, l);
	const char	*s;

	if (!ieq(p, e, "\\begin{"))
		return 0;
	s = p += 7;
	while (p < e && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
	    || (*p >= '0' && *p <= '9') || *p == '*'))
		p++;
	if (p == s || p >= e || *p != '}')
		return 0;
	*nb = s;
	*ne = p;
	return 1;
}

/* \\end{name}[ \t]*$ anywhere on the line (case-insensitive). */
static int
has_latex_end(struct parser *P, size_t l, const char *name, size_t nlen)
{
	const char	*p = LB(P, l), *e = LE(P, l), *q;

	/* The match must end the line, less trailing blanks. */
	q = e;
	while (q > p && isblank_c(q[-1]))
		q--;
	for (;;) {
		if ((size_t)(q - p) < nlen + 6)
			return 0;
		if (q[-1] == '}' && strncasecmp(q - 1 - nlen, name, nlen) == 0
		    && strncasecmp(q - 6 - nlen, "\\end{", 5) == 0)
			return 1;
		/* Trailing blanks may also be eaten by [ \t]*: retry
		 * with fewer only if blanks remain, which they cannot. */
		return 0;
	}
}

static size_t
find_latex_end(struct parser *P, const char *name, size_t nlen, size_t from,
    size_t limit)
{
	size_t	 lo = 0, hi = P->nlends, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (P->lends[mid] < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < P->nlends && P->lends[lo] < limit; lo++)
		if (has_latex_end(P, P->lends[lo], name, nlen))
			return P->lends[lo];
	return limit;
}

/* [ \t]*#( |$) */
static int
is_comment(struct parser *P, size_t l)
{
	const char	*p = FB(P, l), *e = LE(P, l);

	return p < e && *p == '#' && (p + 1 == e || p[1] == ' ');
}

/* [ \t]*:( |$) */
static int
is_fixed(struct parser *P, size_t l)
{
	const char	*p = FB(P, l), *e = LE(P, l);

	return p < e && *p == ':' && (p + 1 == e || p[1] == ' ');
}

/* org-item-re: [ \t]*([-+]|[0-9]+[.)])([ \t]+|$) or [ \t]+\*([ \t]+|$).
 * Sets *body to after the bullet's blanks. */
static int
is_item(struct parser *P, size_t l, const char **body)
{
	const char	*s = LB(P, l), *e = LE(P, l);
	const char	*p = FB(P, l);

	if (p >= e)
		return 0;
	if (*p == '-' || *p == '+' || (*p == '*' && p > s))
		p++;
	else if (*p >= '0' && *p <= '9') {
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		if (p >= e || (*p != '.' && *p != ')'))
			return 0;
		p++;
	} else
		return 0;
	if (p < e && !isblank_c(*p))
		return 0;
	if (body)
		*body = skip_blanks(p, e);
	return 1;
}

/* org-element--affiliated-re */
static int
is_affiliated(struct parser *P, size_t l)
{
	static const struct {
		const char	*w;
		size_t		 n;
	} kw[] = { { "DATA", 4 }, { "HEADERS", 7 }, { "HEADER", 6 },
	    { "LABEL", 5 }, { "NAME", 4 }, { "PLOT", 4 }, { "RESNAME", 7 },
	    { "RESULTS", 7 }, { "RESULT", 6 }, { "SOURCE", 6 },
	    { "SRCNAME", 7 }, { "TBLNAME", 7 } };
	const char	*p = FB(P, l), *e = LE(P, l);
	const char	*q;
	size_t		 i, n;

	if (e - p < 3 || p[0] != '#' || p[1] != '+')
		return 0;
	p += 2;
	/* Most keywords (TITLE, BEGIN_SRC...) are none of these. */
	if (!strchr("ACDHLNPRSTacdhlnprst", *p) || *p == '\0')
		return 0;
	if (ieq(p, e, "CAPTION") || ieq(p, e, "RESULTS")) {
		q = p + 7;
		if (q < e && *q == ':')
			return 1;
		if (q < e && *q == '[') {
			/* \[(.*)\]: greedy: any "]:" after q. */
			for (e--; e > q; e--)
				if (e[-1] == ']' && *e == ':')
					return 1;
			return 0;
		}
	}
	if (ieq(p, e, "ATTR_")) {
		q = p + 5;
		while (q < e && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' &&
		    *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '-' ||
		    *q == '_'))
			q++;
		if (q > p + 5 && q < e && *q == ':')
			return 1;
		/* [-_A-Za-z0-9]+ may give back characters, but none of
		 * them is a colon, so no shorter match exists. */
		return 0;
	}
	for (i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		n = kw[i].n;
		if (ieq_n(p, e, kw[i].w, n) && p + n < e && p[n] == ':')
			return 1;
	}
	return 0;
}

/* [ \t]*-{5,}[ \t]*$ */
static int
is_hrule(struct parser *P, size_t l)
{
	const char	*p = FB(P, l), *e = LE(P, l);
	const char	*s = p;

	while (p < e && *p == '-')
		p++;
	return p - s >= 5 && skip_blanks(p, e) == e;
}

/* ^\[fn:([-_[:word:]]+)\] */
static int
is_fndef(struct parser *P, size_t l, const char **after)
{
	const char	*p = LB(P, l), *e = LE(P, l), *s;

	if (!ieq(p, e, "[fn:") || strncmp(p, "[fn:", 4) != 0)
		return 0;
	s = p += 4;
	p = skip_label(p, e);
	if (p == s || p >= e || *p != ']')
		return 0;
	if (after)
		*after = p + 1;
	return 1;
}

/* [ \t]*\+(-+\+)+[ \t]*$ */
static int
is_tel_rule(struct parser *P, size_t l)
{
	const char	*p = FB(P, l), *e = LE(P, l);
	int		 seg = 0;

	if (p >= e || *p != '+')
		return 0;
	p++;
	for (;;) {
		const char *s = p;

		while (p < e && *p == '-')
			p++;
		if (p == s || p >= e || *p != '+')
			break;
		p++;
		seg++;
	}
	/* A failed segment leaves p inside dashes: not a rule. */
	if (seg == 0)
		return 0;
	return skip_blanks(p, e) == e;
}

/* ^[ \t]*($|[^+| \t]): a line that is not table.el material. */
static int
is_nontel(struct parser *P, size_t l)
{
	const char	*p = FB(P, l), *e = LE(P, l);

	return p == e || (*p != '+' && *p != '|');
}

/* org-property-re: [ \t]*:(\S-+):([ \t]+(.*?))?[ \t]*$ */
static int
is_property(struct parser *P, size_t l, org_str *key, org_str *val, int mk)
{
	const char	*p = FB(P, l), *e = LE(P, l);
	const char	*t, *v, *ve;

	if (p >= e || *p != ':')
		return 0;
	t = skip_nonws(p + 1, e);
	if (t - p < 3 || t[-1] != ':')
		return 0;
	if (t < e && !isblank_c(*t))
		return 0;
	if (!mk)
		return 1;
	v = skip_blanks(t, e);
	ve = e;
	while (ve > v && isblank_c(ve[-1]))
		ve--;
	*key = mkstr(P, p + 1, (size_t)(t - 1 - (p + 1)));
	*val = mkstr(P, v, (size_t)(ve - v));
	return 1;
}

/* A line of org-property-drawer-re's body: [ \t]*:\S-+:( .*)?[ \t]*\n */
static int
is_pd_line(struct parser *P, size_t l)
{
	const char	*p = FB(P, l), *e = LE(P, l);
	const char	*t, *c;

	if (!(P->nl[l] & F_NL) || p >= e || *p != ':')
		return 0;
	t = skip_nonws(p + 1, e);
	/* \S-+ backtracks to any colon of the run that is followed by
	 * " ", or by [ \t]* and the end. */
	for (c = t; c > p + 2; c--) {
		if (c[-1] != ':')
			continue;
		if (c < e && *c == ' ')
			return 1;
		if (skip_blanks(c, e) == e)
			return 1;
	}
	return 0;
}

/* org-property-drawer-re at line l; the :END: line in *endl. */
static int
is_propdrawer(struct parser *P, size_t l, size_t *endl)
{
	const char	*p = FB(P, l), *e = LE(P, l);
	size_t		 k;

	if (!ieq(p, e, ":PROPERTIES:") || skip_blanks(p + 12, e) != e ||
	    !(P->nl[l] & F_NL))
		return 0;
	for (k = l + 1; k < P->nlines; k++) {
		if (is_end(P, k)) {
			*endl = k;
			return 1;
		}
		if (!is_pd_line(P, k))
			return 0;
	}
	return 0;
}

/* ---------------------------------------------------------------- */
/* Emitting */

static int
emit(struct parser *P, enum org_type t, size_t line, size_t idx)
{
	org_elem	*e = PUSH(P, elems, nelems, celems);

	if (e == NULL)
		return -1;
	e->type = t;
	e->line = line + 1;
	e->index = idx;
	return 0;
}

static void
emit_keyword(struct parser *P, size_t l)
{
	const char	*p = FB(P, l) + 2, *e = LE(P, l);
	const char	*t, *c, *v, *ve;
	org_keyword	*k;

	/* [ \t]*#\+(\S-*): : the key ends at the run's last colon. */
	t = skip_nonws(p, e);
	for (c = t; c > p && c[-1] != ':'; c--)
		;
	if (c == p)
		return;
	v = c;
	while (v < e && (isblank_c(*v) || *v == '\r'))
		v++;
	ve = e;
	while (ve > v && (isblank_c(ve[-1]) || ve[-1] == '\r'))
		ve--;
	if ((k = PUSH(P, kws, nkws, ckws)) == NULL)
		return;
	k->line = l + 1;
	k->heading = P->cur_heading;
	k->key = mkupper(P, p, (size_t)(c - 1 - p));
	k->value = mkstr(P, v, (size_t)(ve - v));
	emit(P, ORG_KEYWORD, l, P->nkws - 1);
}

static void
emit_drawer(struct parser *P, size_t l, const char *nb, const char *ne)
{
	org_drawer	*d;

	if ((d = PUSH(P, drws, ndrws, cdrws)) == NULL)
		return;
	d->line = l + 1;
	d->heading = P->cur_heading;
	d->name = mkstr(P, nb, (size_t)(ne - nb));
	emit(P, ORG_DRAWER, l, P->ndrws - 1);
}

/* Does line start (after blanks) with ,*,(\*|#\+)? Returns the comma to
 * drop, or NULL. */
static const char *
escaped_comma(const char *p, const char *e)
{
	const char	*c;

	p = skip_blanks(p, e);
	if (p >= e || *p != ',')
		return NULL;
	for (c = p; c < e && *c == ','; c++)
		;
	if (c < e && (*c == '*' || (*c == '#' && c + 1 < e && c[1] == '+')))
		return c - 1;
	return NULL;
}

/* Lines (b, end) joined with newlines; unescape drops comma escapes. */
static org_str
block_value(struct parser *P, size_t b, size_t end, int unescape)
{
	size_t		 l, n = 0;
	char		*d, *q;
	const char	*cm;
	org_str		 r = { NULL, 0 };

	for (l = b; l < end; l++)
		n += (size_t)(LE(P, l) - LB(P, l)) + 1;
	if ((d = arena_alloc(P, n + 1)) == NULL)
		return r;
	q = d;
	for (l = b; l < end; l++) {
		const char *s = LB(P, l), *e = LE(P, l);

		cm = unescape ? escaped_comma(s, e) : NULL;
		if (cm) {
			memcpy(q, s, (size_t)(cm - s));
			q += cm - s;
			s = cm + 1;
		}
		memcpy(q, s, (size_t)(e - s));
		q += e - s;
		*q++ = '\n';
	}
	*q = '\0';
	r.s = d;
	r.len = (size_t)(q - d);
	return r;
}

static void
emit_block(struct parser *P, size_t l, size_t endl, const char *nb,
    const char *ne)
{
	org_block	*b;
	const char	*p, *e = LE(P, l), *q, *s;
	int		 src, unesc;
	size_t		 nlen = (size_t)(ne - nb);

	if ((b = PUSH(P, blks, nblks, cblks)) == NULL)
		return;
	memset(b, 0, sizeof(*b));
	b->line = l + 1;
	b->end_line = endl + 1;
	b->heading = P->cur_heading;
	b->name = mkupper(P, nb, nlen);
	src = nlen == 3 && strncasecmp(nb, "SRC", 3) == 0;
	unesc = src || (nlen == 7 && strncasecmp(nb, "EXAMPLE", 7) == 0) ||
	    (nlen == 6 && strncasecmp(nb, "EXPORT", 6) == 0);
	p = ne;
	if (src) {
		/* #+BEGIN_SRC( +(\S-+))?(switches)?(.*)[ \t]*$ */
		q = p;
		while (q < e && *q == ' ')
			q++;
		if (q > p && q < e && (s = skip_nonws(q, e)) > q) {
			b->lang = mkstr(P, q, (size_t)(s - q));
			p = s;
		}
		/* Switches: ( +(-(l ".+"|[ikr])|[-+]n( *[0-9]+)?))+ */
		for (;;) {
			q = p;
			while (q < e && *q == ' ')
				q++;
			if (q == p || q >= e)
				break;
			if (*q == '-' && q + 1 < e && q[1] == 'l' &&
			    q + 3 < e && q[2] == ' ' && q[3] == '"') {
				const char *r = e;

				while (r > q + 5 && r[-1] != '"')
					r--;
				if (r > q + 5) {
					p = r;
					continue;
				}
			}
			if (*q == '-' && q + 1 < e && (q[1] == 'i' ||
			    q[1] == 'k' || q[1] == 'r')) {
				p = q + 2;
				continue;
			}
			if ((*q == '-' || *q == '+') && q + 1 < e &&
			    q[1] == 'n') {
				const char *r = q + 2, *d;

				while (r < e && *r == ' ')
					r++;
				for (d = r; d < e && *d >= '0' && *d <= '9';)
					d++;
				p = d > r ? d : q + 2;
				continue;
			}
			break;
		}
	}
	/* The rest, org-trim'd; absent when blank. */
	while (p < e && (isblank_c(*p) || *p == '\r'))
		p++;
	while (e > p && (isblank_c(e[-1]) || e[-1] == '\r'))
		e--;
	if (e > p)
		b->params = mkstr(P, p, (size_t)(e - p));
	b->value = block_value(P, l + 1, endl, unesc);
	emit(P, ORG_BLOCK, l, P->nblks - 1);
}

/* ---------------------------------------------------------------- */
/* Timestamps and planning */

static int
isdig(char c)
{
	return c >= '0' && c <= '9';
}

/* [hdwmy] (with_h) or [dwmy]. */
static int
ts_unit(char c, int with_h)
{
	return c == 'd' || c == 'w' || c == 'm' || c == 'y' ||
	    (with_h && c == 'h');
}

/* org-element--timestamp-regexp at p. */
static int
ts_start(const char *p, const char *e)
{
	const char	*q, *d3 = NULL;
	int		 i;

	if (p >= e)
		return 0;
	if (*p == '<' || *p == '[') {
		/* [[<]\d{4}-\d{2}-\d{2}( .*?)?[]>] */
		q = p + 1;
		for (i = 0; i < 10; i++, q++) {
			if (q >= e)
				goto alt;
			if (i == 4 || i == 7) {
				if (*q != '-')
					goto alt;
			} else if (!isdig(*q))
				goto alt;
		}
		if (q < e && (*q == ']' || *q == '>'))
			return 1;
		if (q < e && *q == ' ') {
			for (q++; q < e; q++)
				if (*q == ']' || *q == '>')
					return 1;
		}
	}
alt:
	if (*p != '<')
		return 0;
	/* <%%\(([^>\n]+)\)> */
	if (e - p >= 4 && p[1] == '%' && p[2] == '%' && p[3] == '(') {
		q = memchr(p + 4, '>', (size_t)(e - p - 4));
		if (q != NULL && q - (p + 4) >= 2 && q[-1] == ')')
			return 1;
	}
	/* <\d+-\d+-\d+[^>\n]+?\+\d+[dwmy]>: the match ends at the first
	 * '>', and the third \d+ may give back digits to [^>\n]+?, so
	 * <2024-01-01+1d> is one ("0" and "1" around the lazy part). */
	q = p + 1;
	for (i = 0; i < 3; i++) {
		const char *s = q;

		while (q < e && isdig(*q))
			q++;
		if (q == s)
			return 0;
		if (i < 2) {
			if (q >= e || *q != '-')
				return 0;
			q++;
		} else
			d3 = s;
	}
	{
		const char *gt = memchr(q, '>', (size_t)(e - q)), *r;

		if (gt == NULL || !ts_unit(gt[-1], 0))
			return 0;
		r = gt - 2;
		if (r < d3 || !isdig(*r))
			return 0;
		while (r >= d3 && isdig(*r))
			r--;
		/* One digit of the date, one lazy character, then '+'. */
		return r >= d3 + 2 && *r == '+';
	}
}

/* Raw text of the timestamp at p: ([<[].*?)[]>](--[<[].*?[]>])? */
static size_t
ts_len(const char *p, const char *e)
{
	const char	*q = p + 1, *r;

	while (q < e && *q != ']' && *q != '>')
		q++;
	if (q >= e)
		return (size_t)(e - p);
	q++;
	if (e - q >= 3 && q[0] == '-' && q[1] == '-' && (q[2] == '<' ||
	    q[2] == '[')) {
		for (r = q + 3; r < e && *r != ']' && *r != '>'; r++)
			;
		if (r < e)
			q = r + 1;
	}
	return (size_t)(q - p);
}

/* string-to-number of the digits at [p, e), saturating at INT_MAX. */
static int
ts_num(const char *p, const char *e)
{
	long long	 v = 0;

	for (; p < e; p++)
		if ((v = v * 10 + (*p - '0')) > INT_MAX)
			return INT_MAX;
	return (int)v;
}

/* [012]?[0-9]: at p, backtracking as Emacs does: the colon, or NULL. */
static const char *
ts_hour(const char *p, const char *e)
{
	if (e - p >= 3 && p[0] >= '0' && p[0] <= '2' && isdig(p[1]) &&
	    p[2] == ':')
		return p + 2;
	if (e - p >= 2 && isdig(p[0]) && p[1] == ':')
		return p + 1;
	return NULL;
}

/* [0-5][0-9] at p. */
static int
ts_minute(const char *p, const char *e)
{
	return e - p >= 2 && p[0] >= '0' && p[0] <= '5' && isdig(p[1]);
}

/* org-ts-regexp0's day name: [^]+0-9>\r\n -] */
static int
ts_dayc(char c)
{
	return c != ']' && c != '+' && !isdig(c) && c != '>' && c != '\r' &&
	    c != '\n' && c != ' ' && c != '-';
}

/*
 * org-parse-time-string with NODEFAULT on [s, e): the first match of
 * org-ts-regexp0, \d{4}-\d{2}-\d{2}( +DAYNAME)?( +\d{1,2}:\d{2})?, found
 * anywhere in the text. -1 where org-element signals an error.
 */
static int
ts_date(const char *s, const char *e, int *v)
{
	const char	*p, *q, *r, *c;

	for (p = s; e - p >= 10; p++) {
		if (!(isdig(p[0]) && isdig(p[1]) && isdig(p[2]) &&
		    isdig(p[3]) && p[4] == '-' && isdig(p[5]) &&
		    isdig(p[6]) && p[7] == '-' && isdig(p[8]) && isdig(p[9])))
			continue;
		v[0] = ts_num(p, p + 4);
		v[1] = ts_num(p + 5, p + 7);
		v[2] = ts_num(p + 8, p + 10);
		v[3] = v[4] = -1;
		q = p + 10;
		/* The day name cannot hold a space or digit, so giving
		 * any of it back never lets the time match. */
		for (r = q; r < e && *r == ' '; r++)
			;
		if (r > q && r < e && ts_dayc(*r)) {
			while (r < e && ts_dayc(*r))
				r++;
			q = r;
		}
		for (r = q; r < e && *r == ' '; r++)
			;
		if (r == q || r >= e || !isdig(*r))
			return 0;
		/* \d{1,2}: two digits first, then one. */
		if (e - r >= 3 && isdig(r[1]) && r[2] == ':')
			c = r + 2;
		else if (e - r >= 2 && r[1] == ':')
			c = r + 1;
		else
			return 0;
		if (e - c >= 3 && isdig(c[1]) && isdig(c[2])) {
			v[3] = ts_num(r, c);
			v[4] = ts_num(c + 1, c + 3);
		}
		return 0;
	}
	return -1;
}

/*
 * org-element-timestamp-parser on the text at [p, e) (one line). Returns
 * 0 with *ts filled and *n the length of the raw text; -1 when there is no
 * timestamp at p; -2, with *n set, when org-element would signal an error
 * on the text (org-parse-time-string finds no date in it).
 */
static int
ts_parse(const char *p, const char *e, org_timestamp *ts, size_t *n)
{
	const char	*fe, *re, *q, *c;
	int		 d[5], range = 0, he = -1, me = -1, i;

	memset(ts, 0, sizeof(*ts));
	if (!ts_start(p, e))
		return -1;
	*n = ts_len(p, e);
	re = p + *n;
	/* The first timestamp ends at the first ] or > (fe), a date range
	 * follows as --[<[]...[]>]. */
	for (fe = p + 1; fe < e && *fe != ']' && *fe != '>'; fe++)
		;
	ts->raw.s = p;
	ts->raw.len = *n;
	if (p[1] == '%' && p[2] == '%') {
		ts->type = ORG_TS_DIARY;
		ts->hour_start = ts->minute_start = -1;
		ts->hour_end = ts->minute_end = -1;
		return 0;
	}
	/* The time range is looked for anywhere in the first timestamp. */
	for (q = p; q < fe && !range; q++) {
		const char *h2, *c2;

		if ((c = ts_hour(q, fe)) == NULL || !ts_minute(c + 1, fe) ||
		    fe - c < 4 || c[3] != '-')
			continue;
		h2 = c + 4;
		if ((c2 = ts_hour(h2, fe)) == NULL || !ts_minute(c2 + 1, fe))
			continue;
		he = ts_num(h2, c2);
		me = ts_num(c2 + 1, c2 + 3);
		range = 1;
	}
	if (ts_date(p, fe, d) < 0)
		return -2;
	ts->year_start = ts->year_end = d[0];
	ts->month_start = ts->month_end = d[1];
	ts->day_start = ts->day_end = d[2];
	ts->hour_start = ts->hour_end = d[3];
	ts->minute_start = ts->minute_end = d[4];
	if (range) {
		ts->hour_end = he;
		ts->minute_end = me;
	}
	if (re > fe + 1) {
		/* The second timestamp, brackets and all. Its missing time
		 * falls back on the time range, then on the start. */
		if (ts_date(fe + 3, re, d) < 0)
			return -2;
		ts->year_end = d[0];
		ts->month_end = d[1];
		ts->day_end = d[2];
		if (d[3] >= 0) {
			ts->hour_end = d[3];
			ts->minute_end = d[4];
		}
		range = 1;
	}
	if (*p == '<')
		ts->type = range ? ORG_TS_ACTIVE_RANGE : ORG_TS_ACTIVE;
	else
		ts->type = range ? ORG_TS_INACTIVE_RANGE : ORG_TS_INACTIVE;
	/* Repeater and warning: the first [.+]?\+\d+[hdwmy] and
	 * -?-\d+[hdwmy] anywhere in the raw text, the range's end too. */
	for (q = p; q < re && ts->repeater_type == ORG_REP_NONE; q++) {
		for (i = 0; i < 2; i++) {
			const char *dg = q + 2 - i, *u;

			if (i == 0 ? !(re - q >= 2 && (q[0] == '.' ||
			    q[0] == '+') && q[1] == '+') : q[0] != '+')
				continue;
			for (u = dg; u < re && isdig(*u); u++)
				;
			if (u == dg || u >= re || !ts_unit(*u, 1))
				continue;
			ts->repeater_type = i == 1 ? ORG_REP_CUMULATE :
			    q[0] == '+' ? ORG_REP_CATCH_UP : ORG_REP_RESTART;
			ts->repeater_value = ts_num(dg, u);
			ts->repeater_unit = *u;
			break;
		}
	}
	for (q = p; q < re && ts->warning_type == ORG_WARN_NONE; q++) {
		for (i = 0; i < 2; i++) {
			const char *dg = q + 2 - i, *u;

			if (q[0] != '-' || (i == 0 && !(re - q >= 2 &&
			    q[1] == '-')))
				continue;
			for (u = dg; u < re && isdig(*u); u++)
				;
			if (u == dg || u >= re || !ts_unit(*u, 1))
				continue;
			ts->warning_type = i == 0 ? ORG_WARN_FIRST :
			    ORG_WARN_ALL;
			ts->warning_value = ts_num(dg, u);
			ts->warning_unit = *u;
			break;
		}
	}
	return 0;
}

int
org_timestamp_parse(const char *s, size_t len, org_timestamp *ts)
{
	size_t	 n;

	/* ts_parse() reads one line, and no timestamp spans two. */
	if (s == NULL || memchr(s, '\n', len) != NULL ||
	    ts_parse(s, s + len, ts, &n) != 0 || n != len) {
		memset(ts, 0, sizeof(*ts));
		return -1;
	}
	return 0;
}

/* [ \t]*(CLOSED:|DEADLINE:|SCHEDULED:), case-insensitive. */
static int
is_planning(struct parser *P, size_t l)
{
	const char	*p = FB(P, l), *e = LE(P, l);

	return ieq(p, e, "CLOSED:") || ieq(p, e, "DEADLINE:") ||
	    ieq(p, e, "SCHEDULED:");
}

static int
wordc(const char *s, const char *p, const char *e)
{
	size_t	 n;

	(void)s;
	return (cclass(p, e, &n) & C_WORD) != 0;
}

/* Is there a word character just before p (at or after s)? */
static int
word_before(const char *s, const char *p, const char *e)
{
	const char	*q;
	size_t		 n;

	if (p == s)
		return 0;
	/* Step back to a character boundary the way the decoder reads. */
	for (q = p - 1; q > s && p - q < 5 && ((unsigned char)*q & 0xC0) ==
	    0x80; q--)
		;
	if (u8char((const unsigned char *)q, (const unsigned char *)e,
	    &(long){0}) != (size_t)(p - q))
		q = p - 1;
	(void)n;
	return wordc(s, q, e);
}

static void
emit_planning(struct parser *P, size_t l)
{
	static const char *const kw[] = { "SCHEDULED:", "DEADLINE:",
	    "CLOSED:" };
	const char	*s = LB(P, l), *e = LE(P, l), *p = s, *q;
	org_planning	*pl;
	org_str		*slot;
	org_timestamp	*ts;
	int		 i, rc;
	size_t		 n, tslen;

	if ((pl = PUSH(P, plans, nplans, cplans)) == NULL)
		return;
	memset(pl, 0, sizeof(*pl));
	pl->line = l + 1;
	pl->heading = P->cur_heading;
	while (p < e) {
		/* \<(SCHEDULED:|DEADLINE:|CLOSED:) *[[<]([^]>]+)[]>] */
		for (i = 0; i < 3; i++) {
			n = strlen(kw[i]);
			if ((size_t)(e - p) >= n && memcmp(p, kw[i], n) == 0 &&
			    !word_before(s, p, e))
				break;
		}
		if (i == 3) {
			p++;
			continue;
		}
		q = p + n;
		while (q < e && *q == ' ')
			q++;
		if (q >= e || (*q != '[' && *q != '<') || q + 1 >= e ||
		    q[1] == ']' || q[1] == '>') {
			p++;
			continue;
		}
		{
			const char *r = q + 1;

			while (r < e && *r != ']' && *r != '>')
				r++;
			if (r >= e) {
				p++;
				continue;
			}
		}
		slot = i == 0 ? &pl->scheduled : i == 1 ? &pl->deadline :
		    &pl->closed;
		ts = i == 0 ? &pl->scheduled_ts : i == 1 ? &pl->deadline_ts :
		    &pl->closed_ts;
		p += n;
		p = skip_blanks(p, e);
		/* A later keyword overwrites an earlier one, with nothing
		 * when no timestamp follows it, as org-element does. */
		if ((rc = ts_parse(p, e, ts, &tslen)) == -1) {
			slot->s = NULL;
			slot->len = 0;
		} else {
			*slot = mkstr(P, p, tslen);
			if (rc == 0)
				ts->raw = *slot;
			else
				memset(ts, 0, sizeof(*ts));
		}
	}
	emit(P, ORG_PLANNING, l, P->nplans - 1);
	if (P->cur_heading >= 0)
		P->heads[P->cur_heading].planning = (long)P->nplans - 1;
}

/* ---------------------------------------------------------------- */
/* Lists */

struct item {
	size_t	 line, ind, end;
};

struct lstruct {
	struct item	*v;
	size_t		 n, cap;
	size_t		 hint;	/* last item found */
};

static int
st_push(struct parser *P, struct lstruct *s, size_t line, size_t ind)
{
	struct item	*it;

	if ((s->v = grow(s->v, &s->cap, s->n, sizeof(*s->v), &P->oom)) ==
	    NULL)
		return -1;
	it = &s->v[s->n++];
	it->line = line;
	it->ind = ind;
	it->end = 0;
	return 0;
}

/* org-element--list-struct. Items are recorded in order of their lines,
 * open ones on a stack of indices. */
static int
list_struct(struct parser *P, size_t l, size_t limit, struct lstruct *st)
{
	size_t		*stack = NULL, sn = 0, scap = 0, ind, end, k;
	const char	*nb, *ne;
	int		 rc = 0;

	for (;;) {
		if (l >= limit) {
			end = back_blank(P, limit);
			while (sn)
				st->v[stack[--sn]].end = end;
			break;
		}
		if ((P->nl[l] & (F_RX | F_NL)) == (F_RX | F_NL) &&
		    l + 1 < P->nlines &&
		    (P->nl[l + 1] & (F_RX | F_NL)) == (F_RX | F_NL)) {
			while (sn)
				st->v[stack[--sn]].end = l;
			break;
		}
		if (is_item(P, l, NULL)) {
			ind = indent_col(P, l, NULL);
			while (sn && ind <= st->v[stack[sn - 1]].ind)
				st->v[stack[--sn]].end = l;
			if (st_push(P, st, l, ind) < 0)
				goto fail;
			stack = grow(stack, &scap, sn, sizeof(*stack), &P->oom);
			if (stack == NULL)
				goto fail;
			stack[sn++] = st->n - 1;
			l++;
			continue;
		}
		if (rxblank(P, l)) {
			l++;
			continue;
		}
		ind = indent_col(P, l, NULL);
		end = back_blank(P, l);
		while (sn && ind <= st->v[stack[sn - 1]].ind)
			st->v[stack[--sn]].end = end;
		if (sn == 0)
			break;
		if (is_block_begin(P, l, &nb, &ne)) {
			k = find_end(P, K_BLOCK, nb, (size_t)(ne - nb), l,
			    limit);
			if (k < limit)
				l = k;
		} else {
			const char *p = FB(P, l);

			if (ieq(p, LE(P, l), "#+BEGIN:")) {
				k = find_end(P, K_DYN, "", 0, l, limit);
				if (k < limit)
					l = k;
			} else if (is_drawer(P, l, NULL, NULL)) {
				k = find_end(P, K_DRAWER, "", 0, l, limit);
				if (k < limit)
					l = k;
			}
		}
		l++;
	}
done:
	free(stack);
	return rc;
fail:
	rc = -1;
	goto done;
}

static struct item *
st_find(struct lstruct *st, size_t line)
{
	size_t	 lo = 0, hi = st->n, mid;

	/* Items are mostly asked for in order. */
	if (st->hint < st->n && st->v[st->hint].line == line)
		return &st->v[st->hint];
	if (st->hint + 1 < st->n && st->v[st->hint + 1].line == line)
		return &st->v[++st->hint];
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (st->v[mid].line < line)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < st->n && st->v[lo].line == line) {
		st->hint = lo;
		return &st->v[lo];
	}
	return NULL;
}

/* ---------------------------------------------------------------- */
/* Elements */

enum mode { M_NONE, M_PLANNING, M_PROPDRAWER, M_TOPCOMMENT, M_ITEM,
	M_NODEPROP };

enum etype { E_OTHER, E_COMMENT, E_PLANNING, E_PROPDRAWER };

static void	parse_elements(struct parser *, size_t, size_t, enum mode,
		    struct lstruct *, int, int);

/* Depth guard: nesting is bounded by lines, but a stack is not. */
#define MAXDEPTH 2000

/* The end of a paragraph starting at line l, as org-element-paragraph-
 * parser finds it: the first line after l that separates paragraphs
 * for sure. */
static size_t
paragraph_end(struct parser *P, size_t l, size_t limit)
{
	const char	*p, *e, *nb, *ne;
	size_t		 k;

	for (k = l + 1; k < limit; k++) {
		const char *s = LB(P, k);

		e = LE(P, k);
		if (s == e)
			return k;
		/* Most lines start with a letter that begins nothing. */
		switch (*s) {
		case ' ': case '\t': case '*': case '[': case '%': case '|':
		case '+': case '#': case ':': case '-': case '\\': case 'C':
		case 'c': case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			break;
		default:
			continue;
		}
		if (*s == '*') {
			if (is_heading(P, k))
				return k;
		}
		if (is_fndef(P, k, NULL))
			return k;
		if (e - s >= 3 && s[0] == '%' && s[1] == '%' && s[2] == '(')
			return k;
		p = FB(P, k);
		if (p == e)
			return k;
		switch (*p) {
		case '|':
			return k;
		case '+':
			if (is_tel_rule(P, k))
				return k;
			break;
		case '#':
			if (p + 1 == e || p[1] == ' ')
				return k;
			if (p[1] != '+')
				break;
			if (is_block_begin(P, k, &nb, &ne)) {
				if (find_end(P, K_BLOCK, nb, (size_t)(ne - nb),
				    k, limit) < limit)
					return k;
				continue;
			}
			{
				/* #\+\S-+(\[.*\])?:[ \t]* : some colon in
				 * the token. */
				const char *t = skip_nonws(p + 2, e), *c;
				const char *lb = NULL;

				for (c = p + 3; c < t && *c != ':'; c++)
					;
				if (c >= t)
					break;
				/* Dual keyword check: #\+(\S-+)\[.*\]: */
				for (c = t - 1; c > p + 2; c--) {
					if (*c != '[')
						continue;
					{
						const char *r;

						for (r = e - 1; r > c + 1; r--)
							if (r[-1] == ']' &&
							    *r == ':')
								break;
						if (r > c + 1) {
							lb = c;
							break;
						}
					}
				}
				if (lb == NULL)
					return k;
				if ((lb - (p + 2) == 7 &&
				    (strncasecmp(p + 2, "CAPTION", 7) == 0 ||
				    strncasecmp(p + 2, "RESULTS", 7) == 0)))
					return k;
				continue;
			}
		case ':':
			if (p + 1 == e || p[1] == ' ')
				return k;
			if (is_drawer(P, k, NULL, NULL)) {
				if (find_end(P, K_DRAWER, "", 0, k, limit) <
				    limit)
					return k;
				continue;
			}
			break;
		case '-':
			if (is_hrule(P, k))
				return k;
			break;
		case '\\':
			if (is_latex_begin(P, k, &nb, &ne)) {
				if (find_latex_end(P, nb, (size_t)(ne - nb), k,
				    limit) < limit)
					return k;
				continue;
			}
			break;
		case 'C':
		case 'c':
			if (ieq(p, e, "CLOCK:"))
				return k;
			break;
		default:
			break;
		}
		/* Lists: [ \t]*([-+*]|[0-9]+[.)])([ \t]|$) */
		{
			const char *q = p;

			if (*q == '-' || *q == '+' || *q == '*')
				q++;
			else if (isdig(*q)) {
				while (q < e && isdig(*q))
					q++;
				if (q < e && (*q == '.' || *q == ')'))
					q++;
				else
					continue;
			} else
				continue;
			if (q == e || isblank_c(*q))
				return k;
		}
	}
	return limit;
}

static size_t
paragraph(struct parser *P, size_t l, size_t limit)
{
	return skip_blank(P, paragraph_end(P, l, limit), limit);
}

/* The table starting at l (org-element-table-parser); 0 if none. */
static size_t
table_end(struct parser *P, size_t l, size_t limit, int tel)
{
	size_t	 k;

	for (k = l; k < limit; k++) {
		const char *p = FB(P, k), *e = LE(P, k);

		if (p == e || (*p != '|' && !(tel && *p == '+')))
			break;
	}
	/* #+TBLFM: +(.*) lines belong to the table. */
	for (; k < P->nlines; k++) {
		const char *p = FB(P, k), *e = LE(P, k);

		if (!ieq(p, e, "#+TBLFM:") || p + 8 >= e || p[8] != ' ')
			break;
	}
	return k;
}

static int
is_tel_table(struct parser *P, size_t l, size_t limit)
{
	size_t	 k;

	if (!is_tel_rule(P, l) || l + 1 >= limit)
		return 0;
	for (k = l + 1; k < limit; k++)
		if (is_nontel(P, k))
			break;
	if (k >= limit)
		return is_tel_rule(P, limit - 1);
	if (k == l + 1)
		return 0;
	return is_tel_rule(P, k - 1);
}

/* Footnote definition end (org-element-footnote-definition-parser). */
static size_t
fndef_end(struct parser *P, size_t l, size_t limit)
{
	size_t	 k, q;

	for (k = l + 1; k < limit; k++) {
		if (is_heading(P, k))
			return k;
		if (is_fndef(P, k, NULL)) {
			q = k - 1;
			while (q > l && is_affiliated(P, q))
				q--;
			return q + 1;
		}
		if ((P->nl[k] & (F_RX | F_NL)) == (F_RX | F_NL) &&
		    k + 1 < P->nlines && k + 1 < limit &&
		    (P->nl[k + 1] & (F_RX | F_NL)) == (F_RX | F_NL)) {
			/* ^([ \t]*\n){2,} */
			return skip_blank(P, k, limit);
		}
	}
	return limit;
}

static void
emit_props(struct parser *P, size_t l, size_t endl)
{
	size_t	 k;
	org_prop *pr;
	org_str	 key, val;

	if (P->cur_heading >= 0) {
		P->heads[P->cur_heading].props = P->nprops;
		P->heads[P->cur_heading].has_propdrawer = 1;
	}
	for (k = l + 1; k < endl; k++) {
		if (!is_property(P, k, &key, &val, 1))
			continue;
		if ((pr = PUSH(P, props, nprops, cprops)) == NULL)
			return;
		pr->line = k + 1;
		pr->heading = P->cur_heading;
		pr->append = key.len > 0 && key.s[key.len - 1] == '+';
		if (pr->append)
			((char *)key.s)[--key.len] = '\0';
		pr->key = key;
		pr->value = val;
		emit(P, ORG_PROPERTY, k, P->nprops - 1);
		if (P->cur_heading >= 0)
			P->heads[P->cur_heading].nprops++;
	}
}

/* Can a line whose first non-blank byte is c begin anything but a
 * paragraph? Each test in element() wants one of these first, and most
 * lines of text start with a letter that begins nothing. */
static int
may_begin(char c)
{
	switch (c) {
	case '#': case ':': case '\\': case '[': case '-': case '%': case '|':
	case '+': case '*': case 'C': case 'c': case 'D': case 'd': case 'S':
	case 's': case '0': case '1': case '2': case '3': case '4': case '5':
	case '6': case '7': case '8': case '9':
		return 1;
	default:
		return 0;
	}
}

/* Parse the element at line l (mid-line when midline: an item's or a
 * footnote's first line). Returns the line after it and its blanks. */
static size_t
element(struct parser *P, size_t l, size_t limit, enum mode mode,
    struct lstruct *st, int midline, int depth, enum etype *type)
{
	const char	*s = LB(P, l), *e = LE(P, l), *p, *nb, *ne;
	size_t		 k, a;
	char		 fc;

	*type = E_OTHER;
	if (mode == M_ITEM && st != NULL) {
		struct item	*it = st_find(st, l);
		const char	*body;
		size_t		 end, cb, ce;
		int		 mid = 0;

		if (it == NULL || !is_item(P, l, &body))
			return paragraph(P, l, limit);
		end = it->end > l ? it->end : l + 1;
		/* Counter, checkbox and, in unordered lists, the tag. */
		p = body;
		if (e - p >= 4 && p[0] == '[' && p[1] == '@') {
			const char *q = p + 2;

			if (ieq(q, e, "start:"))
				q += 6;
			if (q < e && isdig(*q)) {
				while (q < e && isdig(*q))
					q++;
			} else if (q < e && ((*q >= 'a' && *q <= 'z') ||
			    (*q >= 'A' && *q <= 'Z')))
				q++;
			else
				q = NULL;
			if (q != NULL && q < e && *q == ']')
				p = skip_blanks(q + 1, e);
		}
		if (e - p >= 3 && p[0] == '[' && (p[1] == ' ' || p[1] == 'X' ||
		    p[1] == '-') && p[2] == ']' && (p + 3 == e ||
		    isblank_c(p[3])))
			p = skip_blanks(p + 3, e);
		{
			const char *b = FB(P, l);

			if (*b == '-' || *b == '+' || *b == '*') {
				/* (.*)[ \t]+::([ \t]+|$), greedy: the last
				 * "::" in (p, e) that fits, colon by colon. */
				const char *c, *lim = e - 1;

				while (lim > p + 1 && (c = memrchr(p + 1, ':',
				    (size_t)(lim - (p + 1)))) != NULL) {
					if (c[1] == ':' && isblank_c(c[-1]) &&
					    (c + 2 == e || isblank_c(c[2]))) {
						p = skip_blanks(c + 2, e);
						break;
					}
					lim = c;
				}
			}
		}
		while (p < e && (isblank_c(*p) || *p == '\r'))
			p++;
		if (p < e) {
			cb = l;
			mid = 1;
		} else {
			cb = skip_blank(P, l + 1, end);
			if (cb >= end)
				return end;
		}
		ce = back_blank(P, end);
		if (ce <= cb)
			ce = cb + 1;
		parse_elements(P, cb, ce, M_NONE, st, mid, depth + 1);
		return end;
	}
	if (mode == M_NODEPROP)
		return l + 1;
	if (midline)
		return paragraph(P, l, limit);
	p = FB(P, l);
	if (p < e && !may_begin(*p))
		return paragraph(P, l, limit);
	/* Each test below wants its first byte fc: check it before the call. */
	fc = p < e ? *p : '\0';
	/* Comment. */
	if (fc == '#' && is_comment(P, l)) {
		*type = E_COMMENT;
		for (k = l + 1; k < limit && is_comment(P, k); k++)
			;
		return skip_blank(P, k, limit);
	}
	/* Planning, right under a heading. */
	if (mode == M_PLANNING && ((fc | 0x20) == 'c' || (fc | 0x20) == 'd' ||
	    (fc | 0x20) == 's') && l > 0 && P->ls[l - 1] < P->len &&
	    *LB(P, l - 1) == '*' && is_planning(P, l)) {
		*type = E_PLANNING;
		emit_planning(P, l);
		return skip_blank(P, l + 1, limit);
	}
	/* Property drawer. */
	if (fc == ':' && (mode == M_PLANNING || mode == M_PROPDRAWER ||
	    mode == M_TOPCOMMENT)) {
		int ok;

		if (mode == M_PLANNING)
			ok = l > 0 && LB(P, l - 1) < LE(P, l - 1) &&
			    *LB(P, l - 1) == '*';
		else {
			size_t pl = l > 0 ? l - 1 : 0;
			const char *q = LB(P, pl), *qe = LE(P, pl);
			size_t n;

			/* [[:blank:]]*$ */
			for (;;) {
				if (q < qe && isblank_c(*q))
					q++;
				else if (q < qe && (uint8_t)*q >= 0x80 &&
				    (cclass(q, qe, &n) & C_WS))
					q += n;
				else
					break;
			}
			ok = q != qe;
		}
		if (ok && is_propdrawer(P, l, &k)) {
			*type = E_PROPDRAWER;
			emit_props(P, l, k);
			return skip_blank(P, k + 1, limit);
		}
	}
	/* Clock. */
	if ((fc | 0x20) == 'c' && ieq(p, e, "CLOCK:"))
		return skip_blank(P, l + 1, limit);
	/* Affiliated keywords. */
	a = l;
	if (fc == '#')
		while (a < limit && is_affiliated(P, a))
			a++;
	if (a > l) {
		if (a >= limit)
			a = l;	/* the first one is a plain keyword */
		else if (rxblank(P, a))
			a = l;	/* orphaned: parsed as keywords */
		if (a >= P->nlines)
			a = l;
	}
	if (a != l) {
		l = a;
		s = LB(P, l);
		e = LE(P, l);
		p = FB(P, l);
		fc = p < e ? *p : '\0';
	}
	/* LaTeX environment. */
	if (fc == '\\' && is_latex_begin(P, l, &nb, &ne)) {
		k = find_latex_end(P, nb, (size_t)(ne - nb), l, limit);
		if (k >= limit)
			return paragraph(P, l, limit);
		return skip_blank(P, k + 1, limit);
	}
	/* Drawer. */
	if (fc == ':' && is_drawer(P, l, &nb, &ne)) {
		k = find_end(P, K_DRAWER, "", 0, l + 1, limit);
		if (k >= limit)
			return paragraph(P, l, limit);
		emit_drawer(P, l, nb, ne);
		if (k > l + 1)
			parse_elements(P, l + 1, k, M_NONE, NULL, 0, depth + 1);
		return skip_blank(P, k + 1, limit);
	}
	/* Fixed width. */
	if (fc == ':' && is_fixed(P, l)) {
		for (k = l + 1; k < limit && is_fixed(P, k); k++)
			;
		return skip_blank(P, k, limit);
	}
	if (ieq(p, e, "#+")) {
		const char *q = p + 2;

		if (is_block_begin(P, l, &nb, &ne)) {
			size_t n = (size_t)(ne - nb);

			k = find_end(P, K_BLOCK, nb, n, l, limit);
			if (k >= limit)
				return paragraph(P, l, limit);
			emit_block(P, l, k, nb, ne);
			/* Greater blocks hold elements. */
			if (!((n == 3 && strncasecmp(nb, "SRC", 3) == 0) ||
			    (n == 7 && strncasecmp(nb, "EXAMPLE", 7) == 0) ||
			    (n == 6 && strncasecmp(nb, "EXPORT", 6) == 0) ||
			    (n == 7 && strncasecmp(nb, "COMMENT", 7) == 0) ||
			    (n == 5 && strncasecmp(nb, "VERSE", 5) == 0)) &&
			    k > l + 1)
				parse_elements(P, l + 1, k, M_NONE, NULL, 0,
				    depth + 1);
			return skip_blank(P, k + 1, limit);
		}
		if (ieq(q, e, "CALL:"))
			return skip_blank(P, l + 1, limit);
		if (ieq(q, e, "BEGIN ") || ieq(q, e, "BEGIN: ")) {
			k = find_end(P, K_DYN, "", 0, l, limit);
			if (k >= limit)
				return paragraph(P, l, limit);
			if (k > l + 1)
				parse_elements(P, l + 1, k, M_NONE, NULL, 0,
				    depth + 1);
			return skip_blank(P, k + 1, limit);
		}
		{
			const char *t = skip_nonws(q, e), *c;

			for (c = q + 1; c < t && *c != ':'; c++)
				;
			if (c < t) {
				emit_keyword(P, l);
				return skip_blank(P, l + 1, limit);
			}
		}
		return paragraph(P, l, limit);
	}
	/* Footnote definition. */
	if (s < e && *s == '[' && is_fndef(P, l, &nb)) {
		size_t end = fndef_end(P, l, limit), cb, ce;
		int mid = 0;

		p = nb;
		while (p < e && (isblank_c(*p) || *p == '\r'))
			p++;
		if (p < e) {
			cb = l;
			mid = 1;
		} else
			cb = skip_blank(P, l + 1, end);
		if (cb < end) {
			ce = back_blank(P, end);
			if (ce <= cb)
				ce = cb + 1;
			parse_elements(P, cb, ce, M_NONE, NULL, mid, depth + 1);
		}
		return end;
	}
	/* Horizontal rule, diary sexp. */
	if ((fc == '-' && is_hrule(P, l)) || (e - s >= 3 && s[0] == '%' &&
	    s[1] == '%' && s[2] == '('))
		return skip_blank(P, l + 1, limit);
	/* Table. */
	if (fc == '|')
		return skip_blank(P, table_end(P, l, limit, 0), limit);
	if (fc == '+' && is_tel_table(P, l, limit))
		return skip_blank(P, table_end(P, l, limit, 1), limit);
	/* Plain list. */
	if ((fc == '-' || fc == '+' || fc == '*' || isdig(fc)) &&
	    is_item(P, l, NULL)) {
		struct lstruct	 own = { NULL, 0, 0, 0 }, *use = st;
		struct item	*it;
		size_t		 ce, ind;

		if (use == NULL || st_find(use, l) == NULL) {
			if (list_struct(P, l, limit, &own) < 0) {
				free(own.v);
				return limit;
			}
			use = &own;
		}
		it = st_find(use, l);
		if (it == NULL) {
			free(own.v);
			return paragraph(P, l, limit);
		}
		ind = it->ind;
		ce = it->end;
		while ((it = st_find(use, ce)) != NULL && it->ind == ind &&
		    it->end > ce)
			ce = it->end;
		if (ce <= l)
			ce = l + 1;
		parse_elements(P, l, ce, M_ITEM, use, 0, depth + 1);
		free(own.v);
		return skip_blank(P, ce, limit);
	}
	return paragraph(P, l, limit);
}

static enum mode
next_mode(enum mode mode, enum etype t)
{
	switch (mode) {
	case M_ITEM:
		return M_ITEM;
	case M_NODEPROP:
		return M_NODEPROP;
	case M_PLANNING:
		return t == E_PLANNING ? M_PROPDRAWER : M_NONE;
	case M_TOPCOMMENT:
		return t == E_COMMENT ? M_PROPDRAWER : M_NONE;
	default:
		return M_NONE;
	}
}

static void
parse_elements(struct parser *P, size_t beg, size_t end, enum mode mode,
    struct lstruct *st, int midline, int depth)
{
	size_t		 l = beg, n;
	enum etype	 t;

	if (depth > MAXDEPTH)
		return;
	while (l < end && !P->oom) {
		n = element(P, l, end, mode, st, midline && l == beg, depth, &t);
		if (n <= l)
			n = l + 1;
		mode = next_mode(mode, t);
		l = n;
	}
}

/* ---------------------------------------------------------------- */
/* Headings */

struct tword {
	const char	*w;
	size_t		 n;
};

struct todoset {
	struct tword	*v;
	size_t		 cnt, cap;
	int		 any;
};

static int
todo_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return an < bn ? -1 : 1;
	return memcmp(a, b, an);
}

static int
tword_cmp(const void *x, const void *y)
{
	const struct tword *a = x, *b = y;

	return todo_cmp(a->w, a->n, b->w, b->n);
}

static int
todo_add(struct parser *P, struct todoset *ts, const char *w, size_t n)
{
	/* TODO keyword keys: NAME(x...) keeps NAME. */
	if (n >= 2 && w[n - 1] == ')') {
		const char *o = memchr(w, '(', n - 1);

		if (o != NULL)
			n = (size_t)(o - w);
	}
	if ((ts->v = grow(ts->v, &ts->cap, ts->cnt, sizeof(*ts->v),
	    &P->oom)) == NULL)
		return -1;
	ts->v[ts->cnt].w = w;
	ts->v[ts->cnt++].n = n;
	return 0;
}

/* Sorted by length then bytes, so a heading's first word is found by
 * binary search however many #+TODO: lines the file has. */
static int
todo_find(const struct todoset *ts, const char *w, size_t n)
{
	size_t	 lo = 0, hi = ts->cnt, mid;
	int	 c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = todo_cmp(ts->v[mid].w, ts->v[mid].n, w, n);
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* split-string's default separators, [ \f\t\n\r\v]+ */
static int
issep(char c)
{
	return c == ' ' || c == '\f' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v';
}

/* Add the words of a #+TODO: value: split-string, dropping "|". */
static void
todo_words(struct parser *P, struct todoset *ts, const char *p,
    const char *e)
{
	const char	*q;

	while (p < e) {
		while (p < e && issep(*p))
			p++;
		for (q = p; q < e && !issep(*q); q++)
			;
		if (q > p && !(q - p == 1 && *p == '|'))
			todo_add(P, ts, p, (size_t)(q - p));
		p = q;
	}
}

static int
is_todo_key(const char *k, size_t n)
{
	return (n == 4 && strncasecmp(k, "TODO", 4) == 0) ||
	    (n == 8 && (strncasecmp(k, "SEQ_TODO", 8) == 0 ||
	    strncasecmp(k, "TYP_TODO", 8) == 0));
}

/* The keywords org-mode would use: from #+TODO:-family keyword elements,
 * or TODO and DONE when there is none. */
static void
collect_todo(struct parser *P, struct todoset *ts)
{
	size_t	 i;

	for (i = 0; i < P->nkws; i++) {
		const org_keyword *k = &P->kws[i];

		if (!is_todo_key(k->key.s, k->key.len))
			continue;
		ts->any = 1;
		todo_words(P, ts, k->value.s, k->value.s + k->value.len);
	}
	if (!ts->any) {
		todo_add(P, ts, "TODO", 4);
		todo_add(P, ts, "DONE", 4);
	}
	if (ts->cnt > 1)
		qsort(ts->v, ts->cnt, sizeof(*ts->v), tword_cmp);
}

/* Every word a #+TODO:-like line could contribute, whatever element it
 * turns out to be, and TODO and DONE: a superset of collect_todo()'s,
 * known before the main pass. */
static void
candidate_todo(struct parser *P, struct todoset *ts)
{
	size_t	 i;

	for (i = 0; i < P->ntodolines; i++) {
		size_t l = P->todolines[i];
		const char *p = FB(P, l) + 2;
		const char *e = LE(P, l), *t, *c;

		/* As emit_keyword: the key ends at the token's last colon. */
		t = skip_nonws(p, e);
		for (c = t; c > p && c[-1] != ':'; c--)
			;
		if (c == p || !is_todo_key(p, (size_t)(c - 1 - p)))
			continue;
		todo_words(P, ts, c, e);
	}
	todo_add(P, ts, "TODO", 4);
	todo_add(P, ts, "DONE", 4);
	if (ts->cnt > 1)
		qsort(ts->v, ts->cnt, sizeof(*ts->v), tword_cmp);
}

static int
tagc(const char *p, const char *e, size_t *n)
{
	if ((unsigned char)*p < 0x80) {
		*n = 1;
		return (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '@' ||
		    *p == '#' || *p == '%' || *p == ':';
	}
	return (cclass(p, e, n) & C_ALNUM) != 0;
}

static void
heading_fields(struct parser *P, org_heading *h, size_t l,
    struct todoset *ts, struct tagref *tr)
{
	const char	*s = LB(P, l), *e = LE(P, l), *p, *ts0, *te, *q;
	size_t		 n;
	int		 any = 0;

	p = s;
	while (p < e && *p == '*')
		p++;
	p = skip_blanks(p, e);
	/* TODO keyword: a known word followed by a space. */
	q = memchr(p, ' ', (size_t)(e - p));
	if (q != NULL && todo_find(ts, p, (size_t)(q - p))) {
		h->todo = mkstr(P, p, (size_t)(q - p));
		p = skip_blanks(q + 1, e);
		any = 1;
	}
	/* Priority: \[#.\][ \t]* */
	if (e - p >= 4 && p[0] == '[' && p[1] == '#') {
		long cp;

		n = u8char((const unsigned char *)p + 2,
		    (const unsigned char *)e, &cp);
		if (p[2] != '\n' && p + 2 + n < e && p[2 + n] == ']') {
			h->priority = mkstr(P, p + 2, n);
			p = skip_blanks(p + 3 + n, e);
			any = 1;
		}
	}
	if (e - p >= 7 && memcmp(p, "COMMENT", 7) == 0) {
		h->commented = 1;
		p += 7;
		any = 1;
	}
	if (!any)
		while (p > s && isblank_c(p[-1]))
			p--;
	ts0 = p;
	/* Tags: [ \t]+(:[[:alnum:]_@#%:]+:)[ \t]*$ */
	te = e;
	{
		const char *t = e, *r;

		while (t > ts0 && isblank_c(t[-1]))
			t--;
		/* Walk back over tag characters, if tags may end the line. */
		r = t;
		while (r > ts0 && t[-1] == ':') {
			const char *c = r - 1;

			while (c > ts0 && r - c < 5 &&
			    ((unsigned char)*c & 0xC0) == 0x80)
				c--;
			if (!tagc(c, r, &n) || c + n != r) {
				c = r - 1;
				if (!tagc(c, r, &n))
					break;
			}
			r = c;
		}
		if (t - r >= 3 && *r == ':' && t[-1] == ':' && r > ts0 &&
		    isblank_c(r[-1])) {
			const char *w = r;

			while (w > ts0 && isblank_c(w[-1]))
				w--;
			te = w;
			tr->first = P->ntags;
			for (q = r + 1; q < t;) {
				const char *c = memchr(q, ':', (size_t)(t - q));
				org_str *tg;

				if ((tg = PUSH(P, tags, ntags, ctags)) == NULL)
					return;
				*tg = mkstr(P, q, (size_t)(c - q));
				tr->n++;
				q = c + 1;
			}
		}
	}
	/* org-trim */
	while (ts0 < te && (isblank_c(*ts0) || *ts0 == '\r'))
		ts0++;
	while (te > ts0 && (isblank_c(te[-1]) || te[-1] == '\r'))
		te--;
	h->title = mkstr(P, ts0, (size_t)(te - ts0));
}

/* ---------------------------------------------------------------- */
/* Document */

static void
parse_doc(struct parser *P)
{
	size_t		 l, f, next, sec, *stack = NULL, sn = 0, scap = 0;
	org_heading	*h;
	int		 lvl;

	/* Heading lines. */
	P->cur_heading = -1;
	f = skip_blank(P, 0, P->nlines);
	for (next = f; next < P->nlines && !is_heading(P, next); next++)
		;
	if (f < next)
		parse_elements(P, f, back_blank(P, next), M_TOPCOMMENT, NULL,
		    0, 0);
	for (l = next; l < P->nlines && !P->oom; l = next) {
		const char *p = LB(P, l);

		for (lvl = 0; p < LE(P, l) && *p == '*'; p++)
			lvl++;
		if ((h = PUSH(P, heads, nheads, cheads)) == NULL)
			break;
		memset(h, 0, sizeof(*h));
		h->line = l + 1;
		h->level = lvl;
		h->planning = -1;
		h->props = P->nprops;
		while (sn && P->heads[stack[sn - 1]].level >= lvl)
			sn--;
		h->parent = sn ? (long)stack[sn - 1] : -1;
		stack = grow(stack, &scap, sn, sizeof(*stack), &P->oom);
		if (stack == NULL)
			break;
		stack[sn++] = P->nheads - 1;
		P->cur_heading = (long)P->nheads - 1;
		emit(P, ORG_HEADING, l, P->nheads - 1);
		{
			struct tagref *tr = PUSH(P, tagrefs, ntagrefs,
			    ctagrefs);

			if (tr == NULL)
				break;
			tr->first = tr->n = 0;
			/* While the line is in cache. */
			heading_fields(P, h, l, P->dflt, tr);
		}
		for (next = l + 1; next < P->nlines && !is_heading(P, next);
		    next++)
			;
		sec = skip_blank(P, l + 1, next);
		if (sec < next)
			parse_elements(P, sec, back_blank(P, next), M_PLANNING,
			    NULL, 0, 0);
	}
	free(stack);
}

/* #+STARTUP: odd / oddeven, the last one wins. */
static int
startup_odd(struct parser *P)
{
	size_t	 i;
	int	 odd = 0;

	for (i = 0; i < P->nkws; i++) {
		const char *p = P->kws[i].value.s, *e = p + P->kws[i].value.len;
		const char *q;

		if (strcmp(P->kws[i].key.s, "STARTUP") != 0)
			continue;
		while (p < e) {
			while (p < e && issep(*p))
				p++;
			for (q = p; q < e && !issep(*q); q++)
				;
			if (q - p == 3 && strncasecmp(p, "odd", 3) == 0)
				odd = 1;
			else if (q - p == 7 && strncasecmp(p, "oddeven", 7) == 0)
				odd = 0;
			p = q;
		}
	}
	return odd;
}

static void
finish_headings(struct parser *P)
{
	struct todoset	 ts = { NULL, 0, 0, 0 };
	size_t		 i;
	int		 odd;

	odd = startup_odd(P);
	for (i = 0; i < P->nheads; i++) {
		org_heading *h = &P->heads[i];

		/* org-reduced-level */
		h->olevel = odd ? 1 + h->level / 2 : h->level;
	}
	if (!P->maybe_todo)
		return;
	/* Headings were read with candidate keywords: redo the few whose
	 * keyword is not one after all (one inside a block, say). */
	collect_todo(P, &ts);
	for (i = 0; i < P->nheads && !P->oom; i++) {
		org_heading *h = &P->heads[i];

		if (h->todo.s == NULL || todo_find(&ts, h->todo.s,
		    h->todo.len))
			continue;
		memset(&h->todo, 0, sizeof(h->todo));
		memset(&h->priority, 0, sizeof(h->priority));
		h->commented = 0;
		P->tagrefs[i].first = P->tagrefs[i].n = 0;
		heading_fields(P, h, h->line - 1, &ts, &P->tagrefs[i]);
	}
	free(ts.v);
}

static void
arena_free(struct arena *a)
{
	struct chunk	*c, *n;

	for (c = a->head; c; c = n) {
		n = c->next;
		free(c);
	}
}

static void
parser_free(struct parser *P)
{
	arena_free(&P->arena);
	free(P->elems);
	free(P->heads);
	free(P->plans);
	free(P->props);
	free(P->kws);
	free(P->drws);
	free(P->blks);
	free(P->tags);
	free(P->tagrefs);
	free(P->ls);
	free(P->ind);
	free(P->nl);
	free(P->todolines);
	free(P->bends);
	free(P->dends);
	free(P->lends);
}

org_doc *
org_parse(const char *buf, size_t len)
{
	static struct tword dw[] = { { "DONE", 4 }, { "TODO", 4 } };
	struct todoset	 dflt = { dw, 2, 2, 0 }, cand = { NULL, 0, 0, 0 };
	struct parser	 P;
	org_doc		*d = NULL;
	struct priv	*pv = NULL;
	size_t		 i;

	memset(&P, 0, sizeof(P));
	P.buf = buf != NULL ? buf : "";
	P.len = buf != NULL ? len : 0;
	if (index_lines(&P) < 0)
		goto fail;
	P.dflt = &dflt;
	if (P.maybe_todo) {
		candidate_todo(&P, &cand);
		P.dflt = &cand;
	}
	parse_doc(&P);
	if (!P.oom)
		finish_headings(&P);
	if (P.oom)
		goto fail;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (pv = calloc(1, sizeof(*pv))) == NULL)
		goto fail;
	for (i = 0; i < P.nheads; i++) {
		P.heads[i].tags = P.tagrefs[i].n ? &P.tags[P.tagrefs[i].first] :
		    NULL;
		P.heads[i].ntags = P.tagrefs[i].n;
	}
	d->elems = P.elems;
	d->nelems = P.nelems;
	d->headings = P.heads;
	d->nheadings = P.nheads;
	d->plannings = P.plans;
	d->nplannings = P.nplans;
	d->props = P.props;
	d->nprops = P.nprops;
	d->keywords = P.kws;
	d->nkeywords = P.nkws;
	d->drawers = P.drws;
	d->ndrawers = P.ndrws;
	d->blocks = P.blks;
	d->nblocks = P.nblks;
	d->nlines = P.nlines;
	pv->arena = P.arena;
	pv->ls = P.ls;
	pv->ind = P.ind;
	pv->nl = P.nl;
	pv->tags = P.tags;
	free(P.tagrefs);
	free(P.todolines);
	free(P.bends);
	free(P.dends);
	free(P.lends);
	free(cand.v);
	d->priv = pv;
	return d;
fail:
	free(d);
	free(pv);
	free(cand.v);
	parser_free(&P);
	return NULL;
}

void
org_free(org_doc *d)
{
	struct priv	*pv;

	if (d == NULL)
		return;
	pv = d->priv;
	if (pv != NULL) {
		arena_free(&pv->arena);
		free(pv->ls);
		free(pv->ind);
		free(pv->nl);
		free(pv->tags);
		free(pv);
	}
	free((void *)d->elems);
	free((void *)d->headings);
	free((void *)d->plannings);
	free((void *)d->props);
	free((void *)d->keywords);
	free((void *)d->drawers);
	free((void *)d->blocks);
	free(d);
}

/* ---------------------------------------------------------------- */
/* Look-ups */

static int
keyeq(const org_str *k, const char *key, size_t n)
{
	return k->len == n && strncasecmp(k->s, key, n) == 0;
}

/* Append src to *acc with a space ("KEY+" semantics). */
static int
acc_add(char **acc, size_t *alen, const char *s, size_t n, int append)
{
	char	*nb;
	size_t	 need;

	if (!append || *acc == NULL) {
		free(*acc);
		if ((*acc = malloc(n + 1)) == NULL)
			return -1;
		memcpy(*acc, s, n);
		(*acc)[n] = '\0';
		*alen = n;
		return 0;
	}
	need = *alen + 1 + n + 1;
	if ((nb = realloc(*acc, need)) == NULL)
		return -1;
	nb[*alen] = ' ';
	memcpy(nb + *alen + 1, s, n);
	nb[*alen + 1 + n] = '\0';
	*acc = nb;
	*alen += 1 + n;
	return 0;
}

/* #+PROPERTY: KEY VALUE lines, in order; *found set when any. */
static char *
file_property(const org_doc *d, const char *key, size_t kn, size_t *line,
    int *found)
{
	char	*acc = NULL;
	size_t	 alen = 0, i;

	*found = 0;
	for (i = 0; i < d->nkeywords; i++) {
		const org_keyword *k = &d->keywords[i];
		const char *p = k->value.s, *e = p + k->value.len, *w;
		int plus;

		if (strcmp(k->key.s, "PROPERTY") != 0)
			continue;
		for (w = p; w < e && *w != ' ' && *w != '\t'; w++)
			;
		plus = w > p && w[-1] == '+';
		if ((size_t)(w - p) != kn + (size_t)plus ||
		    strncasecmp(p, key, kn) != 0)
			continue;
		w = skip_blanks(w, e);
		if (acc_add(&acc, &alen, w, (size_t)(e - w), plus) < 0)
			return NULL;
		*found = 1;
		if (line)
			*line = k->line;
	}
	return acc;
}

/* Prepend s (n bytes) to *acc with a space between. */
static int
acc_prepend(char **acc, size_t *alen, const char *s, size_t n)
{
	char	*nb;
	size_t	 tot = n + (*acc ? 1 + *alen : 0);

	if ((nb = malloc(tot + 1)) == NULL)
		return -1;
	memcpy(nb, s, n);
	if (*acc) {
		nb[n] = ' ';
		memcpy(nb + n + 1, *acc, *alen);
	}
	nb[tot] = '\0';
	free(*acc);
	*acc = nb;
	*alen = tot;
	return 0;
}

/*
 * org--property-local-values over props [first, first + n): the first
 * :KEY: line is the base (none when its value is "nil"), :KEY+: lines add
 * to it in order. Returns the joined value (malloc'd) or NULL when there
 * is none; *hasbase tells whether a base was found.
 */
static int
local_value(const org_doc *d, size_t first, size_t n, const char *key,
    size_t kn, char **out, size_t *olen, int *hasbase, size_t *line)
{
	size_t	 i;
	int	 seen_base = 0;

	*out = NULL;
	*olen = 0;
	*hasbase = 0;
	for (i = first; i < first + n; i++) {
		const org_prop *pr = &d->props[i];

		if (!keyeq(&pr->key, key, kn))
			continue;
		if (!pr->append) {
			if (seen_base)
				continue;
			seen_base = 1;
			if (pr->value.len == 3 && memcmp(pr->value.s, "nil", 3) ==
			    0)
				continue;
			*hasbase = 1;
		}
		if (acc_add(out, olen, pr->value.s, pr->value.len,
		    *out != NULL) < 0)
			return -1;
		*line = pr->line;
	}
	return 0;
}

char *
org_property(const org_doc *d, long h, const char *key, int inherit,
    size_t *line)
{
	size_t	 kn, ln = 0, ntop = 0, llen, alen = 0;
	char	*acc = NULL, *loc, *glob;
	int	 base = 0, found;

	if (d == NULL || key == NULL)
		return NULL;
	kn = strlen(key);
	while (ntop < d->nprops && d->props[ntop].heading < 0)
		ntop++;
	/* Up the headings, then the file's own property drawer (h == -1),
	 * stopping at the first base value (org-entry-get-with-inheritance).
	 */
	for (;;) {
		size_t first = 0, n = ntop;

		if (h >= 0 && (size_t)h < d->nheadings) {
			first = d->headings[h].props;
			n = d->headings[h].nprops;
		}
		if (local_value(d, first, n, key, kn, &loc, &llen, &base,
		    &ln) < 0)
			goto fail;
		if (loc != NULL) {
			if (acc_prepend(&acc, &alen, loc, llen) < 0) {
				free(loc);
				goto fail;
			}
			free(loc);
		}
		if (base || (!inherit && h >= 0) || h < 0)
			break;
		h = h < (long)d->nheadings ? d->headings[h].parent : -1;
	}
	if (!base && (inherit || h < 0)) {
		glob = file_property(d, key, kn, &ln, &found);
		if (glob != NULL) {
			if (acc_prepend(&acc, &alen, glob, strlen(glob)) < 0) {
				free(glob);
				goto fail;
			}
			free(glob);
		}
	}
	if (acc != NULL && line)
		*line = ln;
	return acc;
fail:
	free(acc);
	return NULL;
}

const org_keyword *
org_keyword_get(const org_doc *d, const char *key)
{
	size_t	 i;

	if (d == NULL || key == NULL)
		return NULL;
	for (i = d->nkeywords; i-- > 0;)
		if (strcasecmp(d->keywords[i].key.s, key) == 0)
			return &d->keywords[i];
	return NULL;
}

long
org_heading_at_line(const org_doc *d, size_t line)
{
	size_t	 lo = 0, hi;

	if (d == NULL)
		return -1;
	hi = d->nheadings;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (d->headings[mid].line <= line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}
