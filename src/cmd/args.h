/*
 * args: what the daemon-facing subcommands (run, run-once, status,
 * history, pause, resume) share: their flags, parsed with getopt_long the
 * same way for each, the data directory they name, and how they print a
 * time.
 */
#ifndef KEEPER_ARGS_H
#define KEEPER_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "daemon.h"

struct crew;
struct settings;

struct args {
	struct daemon_opts	 o;
	int			 json, verbose, limit;
	const char		*name;
	int64_t			 for_ms;	/* pause --for, 0 none */
	int			 for_set;
	const char		*why;		/* pause --why */
	const char		*run;		/* history --run ID */
	double			 hours;		/* agenda --hours, default 24 */
	const char		*lease;		/* run --lease URL[,URL...] */
};

/* The long options a command takes, as a string of these letters. */
#define ARG_CREW	"a"
#define ARG_DEF		"b"
#define ARG_LIFECYCLE	"c"
#define ARG_INTERVAL	"d"
#define ARG_TIMEOUT	"e"
#define ARG_REPO	"f"
#define ARG_DATA	"g"
#define ARG_LISTEN	"h"
#define ARG_JSON	"i"
#define ARG_LIMIT	"j"
#define ARG_BOOT_GRACE	"l"
#define ARG_FOR		"m"
#define ARG_WHY		"n"
#define ARG_RUN		"o"
#define ARG_HOURS	"p"
#define ARG_LEASE	"q"

/* 0 ok, 1 --help shown, -1 usage error (hint printed). allowed is the set
 * of long options this command takes (ARG_* letters). optind is left
 * after the last option. */
int	 args_parse(int argc, char **argv, const char *usage,
	    const char *allowed, struct args *);
/* The data dir the flags name; the crew is loaded only to learn its title
 * for the default (*crewp gets it, or NULL). NULL with a message printed
 * when the crew is broken or nothing names a data directory. */
char	*args_data_dir(const struct args *, const struct settings *,
	    struct crew **crewp);
/* ms as local "YYYY-MM-DD HH:MM:SS", or "n/a" for 0. */
void	 args_when(char *buf, size_t len, int64_t ms);

#endif
