package http

import (
	"strings"
	"testing"
)

func TestUnescape(t *testing.T) {
	cases := []struct {
		in, out string
		ok      bool
	}{
		{"abc", "abc", true},
		{"%41%62%63", "Abc", true},
		{"%ff%FF%00", "\xff\xff\x00", true},
		{"a+b", "a+b", true}, // '+' stays, as in opentracker
		{"%zz", "", false},
		{"%4", "", false},
		{"%", "", false},
		{"ab%", "ab", false},
		{"\xc3\xa9\"[]", "\xc3\xa9\"[]", true}, // lenient: raw bytes pass
	}
	for _, c := range cases {
		b := []byte(c.in)
		out, ok := unescape(b)
		if ok != c.ok || (ok && string(out) != c.out) {
			t.Errorf("unescape(%q) = %q, %v; want %q, %v", c.in, out, ok, c.out, c.ok)
		}
	}
}

func TestQueryIter(t *testing.T) {
	q := []byte("a=1&&b=%32&flag&info_hash=%zz&=x&c=")
	it := queryIter{rest: q}
	type kv struct {
		k, v string
		bad  bool
	}
	var got []kv
	for {
		k, v, ok, bad := it.next()
		if !ok {
			break
		}
		got = append(got, kv{string(k), string(v), bad})
	}
	want := []kv{{"a", "1", false}, {"b", "2", false}, {"flag", "", false}, {"info_hash", "", true}, {"", "x", false}, {"c", "", false}}
	if len(got) != len(want) {
		t.Fatalf("got %v want %v", got, want)
	}
	for i := range want {
		if got[i].k != want[i].k || got[i].bad != want[i].bad || (!want[i].bad && got[i].v != want[i].v) {
			t.Errorf("param %d: got %+v want %+v", i, got[i], want[i])
		}
	}
}

func TestParseInt(t *testing.T) {
	cases := []struct {
		in string
		n  int64
		ok bool
	}{
		{"0", 0, true}, {"65535", 65535, true}, {"-5", -5, true}, {"+7", 7, true},
		{"", 0, false}, {"-", 0, false}, {"abc", 0, false}, {"1x", 0, false},
		{strings.Repeat("9", 40), 1 << 62, true},
	}
	for _, c := range cases {
		n, ok := parseInt([]byte(c.in))
		if n != c.n || ok != c.ok {
			t.Errorf("parseInt(%q) = %d, %v; want %d, %v", c.in, n, ok, c.n, c.ok)
		}
	}
}

func TestHeaderEnd(t *testing.T) {
	cases := map[string]int{
		"GET / HTTP/1.1\r\n\r\n":            18,
		"GET /x\n\n":                        8,
		"GET / HTTP/1.1\r\nA: b\r\n\r\nGET": 24,
		"GET / HTTP/1.1\r\nA: b\r\n":        -1,
		"GET / HTTP/1.1\r\n\n":              17,
		"":                                  -1,
	}
	for in, want := range cases {
		if got := headerEnd([]byte(in)); got != want {
			t.Errorf("headerEnd(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestParseRequest(t *testing.T) {
	var r request
	head := "GET /ann%6Funce?info_hash=x HTTP/1.0\r\nconnection: Keep-Alive\r\nAccept-Encoding: deflate, GZIP\r\nX-Forwarded-For:  10.0.0.1 , 10.0.0.2\r\nX-Forwarded-For: 10.9.9.9\r\n\r\n"
	if !parseRequest([]byte(head), &r) {
		t.Fatal("parse failed")
	}
	if string(r.method) != "GET" || string(r.path) != "/announce" || string(r.query) != "info_hash=x" ||
		r.proto != 10 || !r.keepAlive || !r.gzip || !r.xff || r.hasBody {
		t.Fatalf("parsed %+v", r)
	}
	if !parseRequest([]byte("GET /x HTTP/1.1\r\nConnection: close\r\n\r\n"), &r) || r.keepAlive {
		t.Fatalf("HTTP/1.1 with Connection: close: %+v", r)
	}
	if !parseRequest([]byte("GET /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n"), &r) || r.keepAlive || !r.hasBody {
		t.Fatalf("HTTP/1.1 with body: %+v", r)
	}
	if !parseRequest([]byte("GET /x\n\n"), &r) || r.proto != 9 || r.keepAlive {
		t.Fatalf("HTTP/0.9 style: %+v", r)
	}
	for _, bad := range []string{"GET\r\n\r\n", " / HTTP/1.1\r\n\r\n", "GET x HTTP/1.1\r\n\r\n", "GET / SPDY/3\r\n\r\n", "GET /%zz HTTP/1.1\r\n\r\n"} {
		if parseRequest([]byte(bad), &r) {
			t.Errorf("parseRequest(%q) accepted", bad)
		}
	}
}
