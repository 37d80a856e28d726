package privdrop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(path, []byte("root:x:0:0:root:/root:/bin/ash\nnobody:*:65534:65534:nobody:/var:/bin/false\nbroken:x:a:1::/:/bin/false\n"), 0o644)
	uid, gid, err := lookup(path, "nobody")
	if err != nil || uid != 65534 || gid != 65534 {
		t.Fatalf("nobody: %d %d %v", uid, gid, err)
	}
	if _, _, err := lookup(path, "nob"); err == nil || !strings.Contains(err.Error(), "not in") {
		t.Fatalf("prefix of a name matched: %v", err)
	}
	if _, _, err := lookup(path, "broken"); err == nil {
		t.Fatal("bad uid accepted")
	}
}

// TestDropAsRoot changes to nobody in a child process, since the change
// cannot be undone in this one.
func TestDropAsRoot(t *testing.T) {
	if os.Getenv("PRIVDROP_CHILD") == "1" {
		dir := os.Getenv("PRIVDROP_DIR")
		did, err := Drop("nobody", dir)
		if err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 || os.Getegid() == 0 {
			t.Fatalf("still root after %q", did)
		}
		if groups, _ := os.Getgroups(); len(groups) != 1 {
			t.Fatalf("supplementary groups kept: %v", groups)
		}
		if _, err := os.Stat("/marker"); err != nil {
			t.Fatalf("not inside the chroot: %v", err)
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (CI runs as root)")
	}
	if _, _, err := lookup(passwdFile, "nobody"); err != nil {
		t.Skip("no user nobody here")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "marker"), nil, 0o644)
	cmd := execSelf(t, "TestDropAsRoot")
	cmd.Env = append(os.Environ(), "PRIVDROP_CHILD=1", "PRIVDROP_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func execSelf(t *testing.T, test string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exec.Command(exe, "-test.run", "^"+test+"$", "-test.v")
}
