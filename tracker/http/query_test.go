package http

import (
	"fmt"
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

func TestEachParam(t *testing.T) {
	type kv struct{ k, v string }
	walk := func(q string, stopAt string) ([]kv, bool) {
		var got []kv
		ok := eachParam([]byte(q), func(k, v []byte) bool {
			got = append(got, kv{string(k), string(v)})
			return string(k) != stopAt
		})
		return got, ok
	}
	got, ok := walk("a=1&&b=%32&flag&=x&c=&d=%41%42", "none")
	want := []kv{{"a", "1"}, {"b", "2"}, {"flag", ""}, {"", "x"}, {"c", ""}, {"d", "AB"}}
	if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, %v; want %v, true", got, ok, want)
	}
	// A malformed escape ends the walk before its parameter, as malformed.
	got, ok = walk("a=1&info_hash=%zz&c=3", "none")
	if ok || fmt.Sprint(got) != fmt.Sprint([]kv{{"a", "1"}}) {
		t.Fatalf("malformed: got %v, %v", got, ok)
	}
	// fn stops the walk: well formed, and later parameters are not seen.
	got, ok = walk("a=1&b=2&c=%zz", "b")
	if !ok || len(got) != 2 {
		t.Fatalf("stopped: got %v, %v", got, ok)
	}
}

func TestPathIs(t *testing.T) {
	for _, c := range []struct {
		path, want string
		prefix, is bool
	}{
		{"/stats", "/stats", false, true},
		{"/%73tats", "/stats", false, true},
		{"/stats2", "/stats", false, false},
		{"/stats2", "/stats", true, true},
		{"/stat", "/stats", true, false},
		{"/%61nnounce", "/a", true, true},
		{"/%2Fa", "/a", true, false},
		{"/", "/", false, true},
		{"/%2F", "/", false, false},
		{"", "/", true, false},
	} {
		if got := pathIs([]byte(c.path), c.want, c.prefix); got != c.is {
			t.Errorf("pathIs(%q, %q, %v) = %v", c.path, c.want, c.prefix, got)
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
	if string(r.method) != "GET" || string(r.path) != "/ann%6Funce" || !pathIs(r.path, "/announce", false) || string(r.query) != "info_hash=x" ||
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
