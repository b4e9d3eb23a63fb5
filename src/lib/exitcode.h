/*
 * exitcode: keeper's process exit statuses (SPEC §9), for every layer
 * that ends a process: the subcommands, the def interpreter, the daemon.
 * 0 is success and 1 a failure with nothing more to say; the others come
 * from sysexits(3), so scripts and systemd read them alike.
 */
#ifndef KEEPER_EXITCODE_H
#define KEEPER_EXITCODE_H

#define EXIT_USAGE	64	/* EX_USAGE: a bad command line */
#define EXIT_CONFIG	65	/* EX_DATAERR: a config file has problems */
#define EXIT_LOCKED	75	/* EX_TEMPFAIL: another daemon holds DATA */

#endif
