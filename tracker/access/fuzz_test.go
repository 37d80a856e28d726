package access

import (
	"bytes"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var listErr = regexp.MustCompile(`^list\.txt:[0-9]+: `)

// FuzzParse: any list file is either refused with its file and line named,
// or read into sorted, unique hashes that each appear in the file.
func FuzzParse(f *testing.F) {
	f.Add(hashA + "\n" + hashB + " name\n# comment\n\n")
	f.Add(hashA + "89abcdef0123456789abcdef\r\n")
	f.Add("g" + hashA[1:] + "\n")
	f.Add(strings.ToUpper(hashB) + "\t" + hashA)
	f.Fuzz(func(t *testing.T, src string) {
		hs, err := Parse(strings.NewReader(src), "list.txt")
		if err != nil {
			if !listErr.MatchString(err.Error()) {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		if !slices.IsSortedFunc(hs, compareHash) || len(slices.Compact(slices.Clone(hs))) != len(hs) {
			t.Fatalf("not sorted and unique: %x", hs)
		}
		low := strings.ToLower(src)
		for _, h := range hs {
			if !strings.Contains(low, hex.EncodeToString(h[:])) {
				t.Fatalf("%x is not in the file", h)
			}
		}
		if len(hs) > bytes.Count([]byte(src), []byte("\n"))+1 {
			t.Fatalf("%d hashes from %d lines", len(hs), bytes.Count([]byte(src), []byte("\n"))+1)
		}
	})
}
