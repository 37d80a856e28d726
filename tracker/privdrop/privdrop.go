// Package privdrop changes root and drops root's privileges once the daemon
// has bound its sockets, as opentracker does, but also clears the
// supplementary groups, which the reference keeps.
package privdrop

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
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
		var err error
		if uid, gid, err = lookup(passwdFile, userName); err != nil {
			return "", err
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

// passwdFile is where users are looked up; tests point it elsewhere.
var passwdFile = "/etc/passwd"

// lookup reads a user's uid and gid from a passwd file. It stands in for
// os/user, which costs 65 KB of router flash for the same answer.
func lookup(path, name string) (uid, gid int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("user %q: %v", name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 4 || fields[0] != name {
			continue
		}
		uid, err1 := strconv.Atoi(fields[2])
		gid, err2 := strconv.Atoi(fields[3])
		if err1 != nil || err2 != nil || uid < 0 || gid < 0 {
			return 0, 0, fmt.Errorf("user %q: bad ids in %s", name, path)
		}
		return uid, gid, nil
	}
	return 0, 0, fmt.Errorf("user %q: not in %s", name, path)
}

// Lookup returns the uid and gid of a user from /etc/passwd, as Drop will
// switch to them (for checks before dropping, such as -t).
func Lookup(name string) (uid, gid int, err error) { return lookup(passwdFile, name) }
