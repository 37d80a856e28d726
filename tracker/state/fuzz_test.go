package state

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/swarm"
)

var dumpProblem = regexp.MustCompile(`^dump(:[0-9]+)?: `)

// FuzzRead: any state file (this tracker's format or the reference's
// statedump) is read without panicking; every problem names the file (and
// line); and what was restored writes a dump that reads back whole, with
// the same torrents and peers.
func FuzzRead(f *testing.F) {
	now := time.Unix(29000000*60, 0)
	f.Add("0123456789ABCDEF0123456789ABCDEF01234567:29000000:5\n")
	f.Add("# comment\n\nFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0:0\r\nshort:1:2\n")
	f.Add("0123456789ABCDEF0123456789ABCDEF01234567:-1:4294967296\n0123456789abcdef0123456789abcdef01234567:1:1")
	f.Add(strings.Repeat("x", 5000) + "\n0000000000000000000000000000000000000001:29000000:1\n")
	// A dump in this tracker's own format.
	a, _ := swarm.New(swarm.Config{MemoryBudget: 256 << 10})
	var own bytes.Buffer
	Read(strings.NewReader("0123456789ABCDEF0123456789ABCDEF01234567:29000000:5\n"), "seed", a, nil, now)
	Write(&own, a, now)
	f.Add(own.String())
	f.Fuzz(func(t *testing.T, src string) {
		a, err := swarm.New(swarm.Config{MemoryBudget: 256 << 10})
		if err != nil {
			t.Fatal(err)
		}
		got, problems, err := Read(strings.NewReader(src), "dump", a, nil, now)
		if err != nil && !dumpProblem.MatchString(err.Error()) {
			t.Fatalf("error without the file name: %v", err)
		}
		for _, p := range problems {
			if !dumpProblem.MatchString(p.Error()) {
				t.Fatalf("problem without the file name: %v", p)
			}
		}
		if got.Torrents > a.Stats().Torrents {
			t.Fatalf("%d torrents restored, %d in the store", got.Torrents, a.Stats().Torrents)
		}
		var dump bytes.Buffer
		wrote, err := Write(&dump, a, now)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := swarm.New(swarm.Config{MemoryBudget: 256 << 10})
		back, problems, err := Read(bytes.NewReader(dump.Bytes()), "dump", b, nil, now)
		if err != nil || len(problems) > 0 || back != wrote {
			t.Fatalf("the dump of what was restored reads back %+v of %+v: %v %v", back, wrote, err, problems)
		}
		if sa, sb := a.Stats(), b.Stats(); sa.Torrents != sb.Torrents || sa.Peers4 != sb.Peers4 || sa.Peers6 != sb.Peers6 {
			t.Fatalf("store %+v read back as %+v", sa, sb)
		}
	})
}
