package state

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/swarm"
)

var dumpProblem = regexp.MustCompile(`^dump(:[0-9]+)?: `)

// FuzzRead: any state file is read without panicking; every problem names
// the file (and line); and what was restored saves to a dump that reads back
// whole, with the same torrents.
func FuzzRead(f *testing.F) {
	f.Add("0123456789ABCDEF0123456789ABCDEF01234567:29000000:5\n")
	f.Add("# comment\n\nFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0:0\r\nshort:1:2\n")
	f.Add("0123456789ABCDEF0123456789ABCDEF01234567:-1:4294967296\n0123456789abcdef0123456789abcdef01234567:1:1")
	f.Add(strings.Repeat("x", 5000) + "\n0000000000000000000000000000000000000001:29000000:1\n")
	now := time.Unix(29000000*60, 0)
	f.Fuzz(func(t *testing.T, src string) {
		a, err := swarm.New(swarm.Config{MemoryBudget: 256 << 10})
		if err != nil {
			t.Fatal(err)
		}
		n, problems, err := Read(strings.NewReader(src), "dump", a, nil, 0, now)
		if err != nil {
			t.Fatalf("reading from memory failed: %v", err)
		}
		for _, p := range problems {
			if !dumpProblem.MatchString(p.Error()) {
				t.Fatalf("problem without the file name: %v", p)
			}
		}
		if lines := strings.Count(src, "\n") + 1; n > lines {
			t.Fatalf("%d torrents restored from %d lines", n, lines)
		}
		dump := AppendDump(nil, a, now)
		b, _ := swarm.New(swarm.Config{MemoryBudget: 256 << 10})
		m, problems, err := Read(bytes.NewReader(dump), "dump", b, nil, 0, now)
		if err != nil || len(problems) > 0 || m != a.Stats().Torrents {
			t.Fatalf("the dump of what was restored reads back %d of %d: %v %v\n%s", m, a.Stats().Torrents, err, problems, dump)
		}
		// The same lines; their order follows each store's hash seed.
		if again := AppendDump(nil, b, now); !slices.Equal(sortedLines(again), sortedLines(dump)) {
			t.Fatalf("dump changed in a round trip:\n%s\n%s", dump, again)
		}
	})
}

func sortedLines(b []byte) []string {
	l := strings.Split(string(b), "\n")
	slices.Sort(l)
	return l
}
