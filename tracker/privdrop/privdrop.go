// Package privdrop changes root and drops root's privileges once the daemon
// has bound its sockets, as opentracker does, but also clears the
// supplementary groups, which the reference keeps.
package privdrop

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// Drop chroots to dir (if not empty) and switches to the named user (if not
// empty). Run as non-root it only changes directory to dir, like the
// reference, and ignores the user. It returns what it did, for the log.
func Drop(userName, dir string) (string, error) {
	if os.Geteuid() != 0 {
		if dir != "" {
			if err := os.Chdir(dir); err != nil {
				return "", err
			}
			return "not root: changed directory to " + dir, nil
		}
		return "", nil
	}
	var uid, gid int
	if userName != "" {
		// Looked up before chroot: the new root has no /etc/passwd.
		u, err := user.Lookup(userName)
		if err != nil {
			return "", fmt.Errorf("user %q: %v", userName, err)
		}
		if uid, err = strconv.Atoi(u.Uid); err != nil {
			return "", fmt.Errorf("user %q: uid %q", userName, u.Uid)
		}
		if gid, err = strconv.Atoi(u.Gid); err != nil {
			return "", fmt.Errorf("user %q: gid %q", userName, u.Gid)
		}
	}
	done := ""
	if dir != "" {
		if err := syscall.Chroot(dir); err != nil {
			return "", fmt.Errorf("chroot %s: %v", dir, err)
		}
		if err := os.Chdir("/"); err != nil {
			return "", err
		}
		done = "chroot " + dir
	}
	if userName == "" {
		return done, nil
	}
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return "", fmt.Errorf("setgroups: %v", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return "", fmt.Errorf("setgid %d: %v", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return "", fmt.Errorf("setuid %d: %v", uid, err)
	}
	if uid != 0 && (os.Geteuid() == 0 || os.Getegid() == 0 && gid != 0) {
		return "", fmt.Errorf("still root after switching to %s", userName)
	}
	if done != "" {
		done += ", "
	}
	return done + fmt.Sprintf("running as %s (uid %d, gid %d)", userName, uid, gid), nil
}
