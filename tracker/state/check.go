package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// CheckDir reports whether a process running as uid and gid (with the
// supplementary groups) can save the dump at path: Save creates a
// temporary file in its directory and renames it over path, so the
// directory must exist and be writable and searchable for that user. Root
// may write anywhere. It reads mode bits only (no ACLs), which is what
// routers and the daemon's own directories use.
func CheckDir(path string, uid, gid int, groups []int) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("directory %s does not exist", dir)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	if uid == 0 {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	perm := fi.Mode().Perm()
	var bits os.FileMode
	switch {
	case int(st.Uid) == uid:
		bits = perm >> 6
	case int(st.Gid) == gid || contains(groups, int(st.Gid)):
		bits = perm >> 3
	default:
		bits = perm
	}
	if bits&3 != 3 {
		return fmt.Errorf("directory %s (mode %v, owner %d:%d) is not writable by uid %d gid %d", dir, perm, st.Uid, st.Gid, uid, gid)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	return nil
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
