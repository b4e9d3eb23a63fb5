/*
 * exitcode: the exit statuses keeper's commands share with the processes
 * they start (SPEC §9; sysexits(3) names).
 */
#ifndef KEEPER_EXITCODE_H
#define KEEPER_EXITCODE_H

#define EXIT_USAGE	64	/* EX_USAGE: bad command line */
#define EXIT_CONFIG	65	/* EX_DATAERR: config problems, nothing ran */
#define EXIT_LOCKED	75	/* EX_TEMPFAIL: another keeper holds DATA, or
				   the agent is mid-tick */

#endif
