package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/opentracker-go/opentracker/tracker/config"
	"github.com/opentracker-go/opentracker/tracker/privdrop"
	"github.com/opentracker-go/opentracker/tracker/state"
)

// checkStateDir checks, before anything runs, that the user the daemon
// will run as can save state.file: as it will be after the privilege drop
// (system.user, the path inside system.chroot). -t uses it, so that a
// missing or read-only directory is reported before the first save fails.
func checkStateDir(cfg *config.Config) error {
	f := cfg.State.File
	if f == "" {
		return nil
	}
	uid, gid := os.Geteuid(), os.Getegid()
	groups, _ := os.Getgroups()
	path := f
	if uid == 0 {
		if cfg.System.User != "" {
			var err error
			if uid, gid, err = privdrop.Lookup(cfg.System.User); err != nil {
				return fmt.Errorf("system.user: %v", err)
			}
			groups = []int{gid} // Drop sets exactly these
		}
		if cfg.System.Chroot != "" {
			path = filepath.Join(cfg.System.Chroot, f)
		}
	} else if cfg.System.Chroot != "" && !filepath.IsAbs(f) {
		path = filepath.Join(cfg.System.Chroot, f) // not root: Drop changes directory there
	}
	if err := state.CheckDir(path, uid, gid, groups); err != nil {
		return fmt.Errorf("state.file %s: %v", f, err)
	}
	return nil
}

// checkStateDirNow is the same check at start, after the privilege drop:
// the process is already the user and in the root it saves as.
func checkStateDirNow(f string) error {
	if f == "" {
		return nil
	}
	groups, _ := os.Getgroups()
	if err := state.CheckDir(f, os.Geteuid(), os.Getegid(), groups); err != nil {
		return fmt.Errorf("state.file %s: %v", f, err)
	}
	return nil
}
