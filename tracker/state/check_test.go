package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	uid, gid := os.Getuid()+1000, os.Getgid()+1000 // someone else
	owner, ownerGid := os.Getuid(), os.Getgid()
	cases := []struct {
		path     string
		uid, gid int
		want     string // "" for no error
	}{
		{filepath.Join(dir, "state"), owner, ownerGid, ""},
		{filepath.Join(dir, "missing", "state"), owner, ownerGid, "does not exist"},
		{filepath.Join(dir, "state"), uid, gid, "not writable by uid"},
		{filepath.Join(dir, "state"), 0, 0, ""},
	}
	if owner == 0 {
		cases[0].uid, cases[0].gid = 0, 0
	}
	for _, c := range cases {
		err := CheckDir(c.path, c.uid, c.gid, nil)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s as %d:%d: %v, want %q", c.path, c.uid, c.gid, err, c.want)
		}
	}
	// Group-writable for a member of the group.
	os.Chmod(dir, 0o775)
	if err := CheckDir(filepath.Join(dir, "state"), uid, gid, []int{ownerGid}); err != nil {
		t.Errorf("group member: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
	if err := CheckDir(filepath.Join(dir, "file", "state"), owner, ownerGid, nil); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as directory: %v", err)
	}
}
