package bencode

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestAppendRoundTrip(t *testing.T) {
	var b []byte
	b = AppendDict(b)
	b = AppendKeyInt(b, "complete", 3)
	b = AppendKeyUint(b, "downloaded", 1<<40)
	b = AppendKeyInt(b, "neg", -7)
	b = AppendKeyBytes(b, "peers", []byte{127, 0, 0, 1, 0x1a, 0xe1})
	b = AppendString(b, "x")
	b = AppendList(b)
	b = AppendInt(b, 0)
	b = AppendString(b, "")
	b = AppendDict(b)
	b = AppendKeyString(b, "ip", "::1")
	b = AppendEnd(b)
	b = AppendEnd(b)
	b = AppendEnd(b)
	want := "d8:completei3e10:downloadedi1099511627776e3:negi-7e5:peers6:\x7f\x00\x00\x01\x1a\xe11:xli0e0:d2:ip3:::1eee"
	if string(b) != want {
		t.Fatalf("encoded %q, want %q", b, want)
	}
	v, err := DecodeDict(b)
	if err != nil {
		t.Fatal(err)
	}
	exp := map[string]any{
		"complete":   int64(3),
		"downloaded": int64(1 << 40),
		"neg":        int64(-7),
		"peers":      "\x7f\x00\x00\x01\x1a\xe1",
		"x":          []any{int64(0), "", map[string]any{"ip": "::1"}},
	}
	if !reflect.DeepEqual(v, exp) {
		t.Fatalf("decoded %#v, want %#v", v, exp)
	}
}

func TestFailure(t *testing.T) {
	got := string(AppendFailure(nil, "missing info_hash"))
	if got != "d14:failure reason17:missing info_hashe" {
		t.Fatal(got)
	}
}

func TestDecodeRejects(t *testing.T) {
	bad := []string{
		"", "i", "ie", "i-0e", "i01e", "i-e", "iabce", "i1", "3:ab", "03:abc", "-1:a",
		"d1:a", "d1:bi1e1:ai2ee", "d1:ai1e1:ai2ee", "di1ei2ee", "l", "li1e", "x",
		"i1ei2e", "4:abc", "99999999999:a",
		strings.Repeat("l", 100) + strings.Repeat("e", 100),
	}
	for _, s := range bad {
		if v, err := Decode([]byte(s)); err == nil {
			t.Errorf("Decode(%q) = %#v, want error", s, v)
		}
	}
	if _, err := DecodeDict([]byte("le")); err == nil {
		t.Error("DecodeDict accepted a list")
	}
}

func TestDecodeAccepts(t *testing.T) {
	good := map[string]any{
		"i0e":      int64(0),
		"i-12e":    int64(-12),
		"0:":       "",
		"le":       []any{},
		"de":       map[string]any{},
		"d0:i1ee":  map[string]any{"": int64(1)},
		"l1:a1:ae": []any{"a", "a"},
	}
	for s, want := range good {
		v, err := Decode([]byte(s))
		if err != nil || !reflect.DeepEqual(v, want) {
			t.Errorf("Decode(%q) = %#v, %v; want %#v", s, v, err, want)
		}
	}
}

func TestAppendZeroAlloc(t *testing.T) {
	buf := make([]byte, 0, 256)
	peers := make([]byte, 60)
	allocs := testing.AllocsPerRun(1000, func() {
		b := AppendDict(buf[:0])
		b = AppendKeyInt(b, "complete", 12345)
		b = AppendKeyUint(b, "downloaded", 99)
		b = AppendKeyBytes(b, "peers", peers)
		b = AppendKeyString(b, "x", "y")
		_ = AppendEnd(b)
	})
	if allocs != 0 {
		t.Fatalf("append allocated %v times per run", allocs)
	}
}

// FuzzDecode: whatever Decode accepts is canonical bencode, so encoding the
// value again with this package's encoder gives back the same bytes; and
// nothing panics. The seeds include near misses of every strictness rule,
// which a lenient decoder would accept and then fail to round-trip.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"d1:ai1e1:bl0:ee", "i-42e", "le", "de", "4:spam", "d4:peers6:abcdefe",
		"d1:bi1e1:ai2ee", "d1:ai1e1:ai2ee", "i-0e", "i03e", "03:abc", "i1ei2e", "l" + strings.Repeat("l", 70),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			return
		}
		if again := appendValue(nil, v); !bytes.Equal(again, data) {
			t.Fatalf("Decode(%q) = %#v, which encodes as %q", data, v, again)
		}
	})
}

// appendValue encodes a decoded value with the package's encoder.
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case int64:
		return AppendInt(b, v)
	case string:
		return AppendString(b, v)
	case []any:
		b = AppendList(b)
		for _, e := range v {
			b = appendValue(b, e)
		}
		return AppendEnd(b)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = AppendDict(b)
		for _, k := range keys {
			b = appendValue(AppendString(b, k), v[k])
		}
		return AppendEnd(b)
	}
	panic(fmt.Sprintf("Decode returned a %T", v))
}
