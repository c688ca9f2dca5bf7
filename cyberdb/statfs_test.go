package cyberdb_test

import "golang.org/x/sys/unix"

// statfs is the file system status of a directory.
type statfs struct{ unix.Statfs_t }

func statFS(dir string, st *statfs) error { return unix.Statfs(dir, &st.Statfs_t) }

// avail returns the bytes available to this user.
func (s *statfs) avail() int64 { return int64(s.Bavail) * int64(s.Bsize) }
