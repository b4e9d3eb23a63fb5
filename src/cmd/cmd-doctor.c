/*
 * cmd-doctor: `keeper doctor`, a deployment check that says what is wrong in
 * plain words (keeper(1) DOCTOR). It only reads and probes: it parses the
 * crew and everything it names, opens the tenant repository, tries a
 * file in the data directory, tries to bind the HTTP address and, when an
 * LLM endpoint is configured, asks it for anything at all.
 *
 * Each check prints one line, "ok: ...", "note: ..." or "problem: ...";
 * the exit status is 0 when there is no problem, 1 otherwise, 64 for a
 * usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include <curl/curl.h>
#include <git2.h>

#include "cmd.h"
#include "settings.h"
#include "crew.h"
#include "def.h"
#include "diag.h"
#include "fs.h"
#include "http.h"
#include "lcspec.h"
#include "preflight.h"
#include "store.h"
#include "util.h"
#include "walk.h"

struct doctor {
	FILE	*out;
	const struct settings *set;
	int	 problems;
	int	 notes;
	int	 need_llm;	/* some def has an llm step nothing guards */
	int	 guarded_llm;	/* ... one that :if-env guards */
	int	 need_bash;
};

static void
say(struct doctor *dr, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(struct doctor *dr, const char *kind, const char *fmt, ...)
{
	va_list ap;

	if (strcmp(kind, "problem") == 0)
		dr->problems++;
	else if (strcmp(kind, "note") == 0)
		dr->notes++;
	fprintf(dr->out, "%s: ", kind);
	va_start(ap, fmt);
	vfprintf(dr->out, fmt, ap);
	va_end(ap);
	fputc('\n', dr->out);
}

/* Every diag item as a problem (errors) or a note (warnings). */
static void
say_diag(struct doctor *dr, const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = diag_format(&d->items[i]);

		say(dr, d->items[i].level == DIAG_ERROR ? "problem" : "note",
		    "%s", s);
		free(s);
	}
}

/* A def file: it exists, parses, has steps, and each step's language
 * can run here. */
static void
check_def(struct doctor *dr, const char *who, const char *path)
{
	struct agent_def *def = NULL;
	struct diag d = { 0 };

	if (access(path, R_OK) == -1) {
		say(dr, "problem", "%s: def '%s' cannot be read: %s", who,
		    path, strerror(errno));
		return;
	}
	if (def_load(path, &def, &d) == -1 || def == NULL) {
		say(dr, "problem", "%s: def '%s' does not parse", who, path);
		say_diag(dr, &d);
		diag_release(&d);
		return;
	}
	say_diag(dr, &d);
	diag_release(&d);
	if (def->nsteps == 0)
		say(dr, "problem", "%s: def '%s' has no src block to run",
		    who, path);
	for (size_t i = 0; i < def->nsteps; i++) {
		/* A step :if-env guards is skipped while its variable is
		 * unset: it needs an endpoint only once that is set. */
		if (def->steps[i].lang == DEF_LLM) {
			if (def_arg(&def->steps[i], "if-env") != NULL)
				dr->guarded_llm = 1;
			else
				dr->need_llm = 1;
		}
		if (def->steps[i].lang == DEF_BASH)
			dr->need_bash = 1;
	}
	if (def->nsteps > 0)
		say(dr, "ok", "%s: def '%s' parses (%zu step%s)", who, path,
		    def->nsteps, def->nsteps == 1 ? "" : "s");
	def_free(def);
}

static void	check_ref(const struct walk_ref *, void *);

static void
check_lifecycle(struct doctor *dr, const char *who, const char *path)
{
	struct lc_spec *lc = NULL;
	struct diag d = { 0 };

	if (access(path, R_OK) == -1) {
		say(dr, "problem", "%s: lifecycle '%s' cannot be read: %s",
		    who, path, strerror(errno));
		return;
	}
	if (lc_spec_load(path, &lc, &d) == -1 || lc == NULL) {
		say(dr, "problem", "%s: lifecycle '%s' does not parse", who,
		    path);
		say_diag(dr, &d);
		diag_release(&d);
		return;
	}
	say_diag(dr, &d);
	diag_release(&d);
	say(dr, "ok", "%s: lifecycle '%s' parses (%zu state%s)", who, path,
	    lc->nstates, lc->nstates == 1 ? "" : "s");
	walk_lifecycle(lc, who, check_ref, dr);
	lc_spec_free(lc);
}

static struct crew *
check_crew(struct doctor *dr, const char *path)
{
	struct crew *crew = NULL;
	struct diag d = { 0 };

	if (access(path, R_OK) == -1) {
		say(dr, "problem", "crew '%s' cannot be read: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (crew_load(path, &crew, &d) == -1 || crew == NULL) {
		say(dr, "problem", "crew '%s' does not parse", path);
		say_diag(dr, &d);
		diag_release(&d);
		return NULL;
	}
	say_diag(dr, &d);
	diag_release(&d);
	if (crew->nmembers == 0)
		say(dr, "note", "crew '%s' has no runnable member: keeper "
		    "will idle until one is added", path);
	else
		say(dr, "ok", "crew '%s' parses (%zu member%s)", path,
		    crew->nmembers, crew->nmembers == 1 ? "" : "s");
	walk_crew(crew, check_ref, dr);
	return crew;
}

/* Every file the crew names, through walk.h. */
static void
check_ref(const struct walk_ref *r, void *arg)
{
	if (r->kind == WALK_DEF)
		check_def(arg, r->who, r->path);
	else
		check_lifecycle(arg, r->who, r->path);
}

static void
check_interpreters(struct doctor *dr)
{
	char bash[PATH_MAX];

	if (access("/bin/sh", X_OK) == -1)
		say(dr, "problem", "/bin/sh is not executable: sh steps "
		    "cannot run");
	/* The same look-up that starts a bash step. */
	if (dr->need_bash && fs_which("bash", dr->set->path, bash,
	    sizeof(bash)) != 0)
		say(dr, "problem", "a def has bash steps but bash is not in "
		    "PATH");
	if (dr->need_llm && dr->set->llm_url == NULL)
		say(dr, "problem", "a def has llm steps but KEEPER_LLM_URL "
		    "is not set");
	else if (dr->guarded_llm && dr->set->llm_url == NULL)
		say(dr, "note", "a def has llm steps guarded by :if-env and "
		    "KEEPER_LLM_URL is not set: they are skipped until it is");
}

/* The repository: opens, not bare, HEAD on a branch. Returns the opened
 * repository (caller frees) for the data-dir check, or NULL. */
static git_repository *
check_repo(struct doctor *dr, const char *path, int detached_ok)
{
	git_repository *repo = NULL;
	git_reference *head = NULL;
	const git_error *ge;
	int rc;

	if (git_repository_open_ext(&repo, path,
	    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) != 0) {
		ge = git_error_last();
		say(dr, "problem", "tenant repo '%s' is not a git repository"
		    "%s%s", path, ge ? ": " : "", ge ? ge->message : "");
		return NULL;
	}
	if (git_repository_is_bare(repo)) {
		say(dr, "problem", "tenant repo '%s' is bare: agents need a "
		    "work tree", path);
		git_repository_free(repo);
		return NULL;
	}
	if (git_repository_head_detached(repo) == 1) {
		if (detached_ok)
			say(dr, "note", "tenant repo '%s' has a detached HEAD: "
			    "keeper commits on it (#+DETACHED: commit), and "
			    "those commits are on no branch", path);
		else
			say(dr, "problem", "tenant repo '%s' has a detached "
			    "HEAD: keeper commits nothing (the work goes on "
			    "partial refs) until a branch is checked out",
			    path);
		return repo;
	}
	rc = git_repository_head(&head, repo);
	if (rc == GIT_EUNBORNBRANCH || rc == GIT_ENOTFOUND) {
		say(dr, "note", "tenant repo '%s' has no commit yet: the "
		    "first agent commit will start the branch", path);
		return repo;
	}
	if (rc != 0) {
		ge = git_error_last();
		say(dr, "problem", "tenant repo '%s': HEAD cannot be read: %s",
		    path, ge ? ge->message : "unknown error");
		return repo;
	}
	say(dr, "ok", "tenant repo '%s' is on branch '%s'", path,
	    git_reference_shorthand(head));
	git_reference_free(head);
	return repo;
}

/* The history: sound (PRAGMA quick_check), and what earlier damaged ones
 * were moved aside to. */
static void
check_history(struct doctor *dr, const char *data)
{
	char *db = xasprintf("%s/keeper.db", data), why[512];
	DIR *dir;
	struct dirent *e;

	if (access(db, F_OK) == 0) {
		switch (store_check(db, why, sizeof(why))) {
		case 0:
			say(dr, "ok", "history '%s' is sound", db);
			break;
		case 1:
			say(dr, "problem", "history '%s' is corrupt (%s): keeper "
			    "run will move it aside to keeper.db.corrupt-TIME "
			    "and start a new one; the old runs stay in that "
			    "file", db, why);
			break;
		default:
			say(dr, "problem", "history '%s' cannot be opened: %s",
			    db, why);
			break;
		}
	}
	if ((dir = opendir(data)) != NULL) {
		while ((e = readdir(dir)) != NULL)
			if (strncmp(e->d_name, "keeper.db.corrupt-", 18) == 0 &&
			    strchr(e->d_name + 18, '-') == NULL)
				say(dr, "note", "an earlier damaged history was "
				    "moved aside to '%s/%s'", data, e->d_name);
		closedir(dir);
	}
	free(db);
}

static void
check_data(struct doctor *dr, const char *data, const char *repo)
{
	struct stat st;
	char *probe, *rel = NULL;
	int fd;

	if (stat(data, &st) == -1) {
		/* keeper creates it; say whether it could. */
		if (fs_mkdir_p(data) == -1) {
			say(dr, "problem", "data dir '%s' does not exist and "
			    "cannot be created: %s", data, strerror(errno));
			return;
		}
		say(dr, "note", "data dir '%s' did not exist; created it",
		    data);
	} else if (!S_ISDIR(st.st_mode)) {
		say(dr, "problem", "data dir '%s' is not a directory", data);
		return;
	}
	probe = xasprintf("%s/.keeper-doctor-XXXXXX", data);
	if ((fd = mkstemp(probe)) == -1) {
		say(dr, "problem", "data dir '%s' is not writable: %s", data,
		    strerror(errno));
		free(probe);
		return;
	}
	close(fd);
	unlink(probe);
	free(probe);
	say(dr, "ok", "data dir '%s' is writable", data);
	check_history(dr, data);

	if (repo == NULL)
		return;
	switch (preflight_data_in_tree(repo, data, NULL, &rel)) {
	case PF_OUTSIDE:
		break;
	case PF_IS_TREE:
		say(dr, "problem", "data dir '%s' is the tenant work tree "
		    "itself: keeper's state would be committed", data);
		break;
	case PF_IGNORED:
		say(dr, "ok", "data dir '%s' is inside the work tree but "
		    "ignored by git", data);
		break;
	case PF_NOT_IGNORED:
		say(dr, "problem", "data dir '%s' is inside the tenant work "
		    "tree and not ignored: add '%s/' to .gitignore or move "
		    "it", data, rel);
		break;
	}
	free(rel);
}

/* The --listen address: it parses as the daemon parses it, and can be
 * bound now (or is bound by the keeper on this data directory). */
static void
check_listen(struct doctor *dr, const char *addr, const char *data)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char why[512], *mine = NULL, *f;
	int fd, rc, one = 1, err;
	size_t len;

	if (http_parse_listen(addr, &ss, &sl, why, sizeof(why)) == -1) {
		say(dr, "problem", "%s", why);
		return;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		say(dr, "problem", "listen address '%s': %s", addr,
		    strerror(errno));
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	rc = bind(fd, (struct sockaddr *)&ss, sl);
	err = errno;
	close(fd);
	if (rc == 0) {
		say(dr, "ok", "listen address '%s' is free", addr);
		return;
	}
	/* Taken by the keeper that runs on this data dir is fine. */
	if (data != NULL) {
		f = xasprintf("%s/http.addr", data);
		mine = util_read_file(f, &len);
		free(f);
		if (mine != NULL) {
			mine[strcspn(mine, "\r\n")] = '\0';
			if (strcmp(mine, addr) == 0) {
				say(dr, "ok", "listen address '%s' is held "
				    "by the keeper running on '%s'", addr,
				    data);
				free(mine);
				return;
			}
			free(mine);
		}
	}
	if (err == EADDRINUSE)
		say(dr, "problem", "listen address '%s' is already in use by "
		    "another program", addr);
	else
		say(dr, "problem", "listen address '%s' cannot be bound: %s",
		    addr, strerror(err));
}

static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

static void
check_llm(struct doctor *dr)
{
	const char *url = dr->set->llm_url, *key;
	CURL *c;
	CURLcode rc;
	long code = 0;
	struct curl_slist *h = NULL;
	char *auth = NULL;

	if (url == NULL || *url == '\0')
		return;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((c = curl_easy_init()) == NULL) {
		say(dr, "problem", "cannot start an HTTP client to reach "
		    "KEEPER_LLM_URL");
		return;
	}
	if ((key = dr->set->llm_key) != NULL) {
		auth = xasprintf("Authorization: Bearer %s", key);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		/* The URL is not echoed: it may carry credentials. */
		say(dr, "problem", "LLM endpoint (KEEPER_LLM_URL) is not "
		    "reachable: %s", curl_easy_strerror(rc));
	else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code == 401 || code == 403)
			say(dr, "problem", "LLM endpoint (KEEPER_LLM_URL) "
			    "answers HTTP %ld: check KEEPER_LLM_KEY", code);
		else if (code >= 500)
			say(dr, "problem", "LLM endpoint (KEEPER_LLM_URL) "
			    "answers HTTP %ld: the server is failing", code);
		else
			say(dr, "ok", "LLM endpoint (KEEPER_LLM_URL) is "
			    "reachable (HTTP %ld)", code);
	}
	curl_slist_free_all(h);
	free(auth);
	curl_easy_cleanup(c);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: keeper doctor [--crew FILE] [--data DIR] "
	    "[--repo DIR] [--listen ADDR:PORT]\n");
}

int
cmd_doctor(int argc, char **argv, const struct settings *settings)
{
	struct doctor dr = { .out = stdout, .set = settings };
	const char *crewf = NULL, *data = NULL, *repo = NULL, *listen = NULL;
	struct crew *crew = NULL;
	git_repository *gr = NULL;
	char *datadef = NULL, *cwd = NULL;
	int i;

	for (i = 1; i < argc; i++) {
		const char **slot = NULL;

		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--crew") == 0)
			slot = &crewf;
		else if (strcmp(argv[i], "--data") == 0)
			slot = &data;
		else if (strcmp(argv[i], "--repo") == 0)
			slot = &repo;
		else if (strcmp(argv[i], "--listen") == 0)
			slot = &listen;
		if (slot == NULL || i + 1 >= argc) {
			fprintf(stderr, "keeper doctor: %s '%s'\n", slot ?
			    "missing value for" : "unknown option", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
		*slot = argv[++i];
	}

	if (crewf != NULL)
		crew = check_crew(&dr, crewf);
	else
		say(&dr, "note", "no --crew given: crew checks skipped");
	check_interpreters(&dr);

	git_libgit2_init();
	if (repo == NULL && crew != NULL && crew->repo != NULL)
		repo = crew->repo;
	if (repo == NULL)
		repo = cwd = getcwd(NULL, 0);
	if (repo != NULL)
		gr = check_repo(&dr, repo, crew != NULL &&
		    crew->detached_commit);

	data = datadef = preflight_data_dir(data, crew && crew->title ?
	    crew->title : "keeper", settings);
	if (data != NULL)
		check_data(&dr, data, gr != NULL ? repo : NULL);
	else
		say(&dr, "problem", "no data dir: give --data or set "
		    "KEEPER_DATA (HOME is not set)");

	check_listen(&dr, listen ? listen : HTTP_DEFAULT_LISTEN, data);
	check_llm(&dr);

	if (dr.problems == 0)
		fprintf(stdout, "all good%s\n", dr.notes ? " (see notes)" :
		    "");
	else
		fprintf(stdout, "%d problem%s found\n", dr.problems,
		    dr.problems == 1 ? "" : "s");
	git_repository_free(gr);
	git_libgit2_shutdown();
	crew_free(crew);
	free(datadef);
	free(cwd);
	return dr.problems == 0 ? 0 : 1;
}
