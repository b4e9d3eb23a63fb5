/*
 * filesig: a file's identity (device, inode, size, modification time), to
 * notice that a config file changed without parsing it again.
 */
#ifndef KEEPER_FILESIG_H
#define KEEPER_FILESIG_H

#include <stdint.h>
#include <sys/stat.h>

struct file_sig {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	int64_t		 mtime_ns;
	int		 ok;		/* 0: the file could not be stat'ed */
};

void	 file_sig_get(const char *path, struct file_sig *);
int	 file_sig_eq(const struct file_sig *, const struct file_sig *);

#endif
