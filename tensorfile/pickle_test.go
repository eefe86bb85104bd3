package tensorfile

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestScanPickle(t *testing.T) {
	ok := []string{
		"\x80\x02K\x05.", // PROTO 2, BININT1 5, STOP
		"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01K\x02.", // a frame
		"L119547037146038801333356L\n.",                           // protocol-1 long
		"X\x03\x00\x00\x00abc.",                                   // BINUNICODE
		"cmod\nname\n.",                                           // GLOBAL
	}
	for _, p := range ok {
		b, err := scanPickle(bufio.NewReader(strings.NewReader(p+"trailing")), int64(len(p)+8))
		if err != nil || string(b) != p {
			t.Errorf("%q: %q %v", p, b, err)
		}
	}
	bad := map[string]string{
		"":                                      "empty pickle",
		"\x80\x02K":                             "truncated",
		"\x80\x02K\x05":                         "without STOP",
		"\xff.":                                 "opcode 0xff",
		"X\xff\xff\xff\x7f.":                    "runs past the end",
		"\x8e\xff\xff\xff\xff\xff\xff\xff\xff.": "not plausible",
		"\x8d\x00\x00\x00\x00\x00\x01\x00\x00.": "runs past the end",
		"\x95\x00\x10\x00\x00\x00\x00\x00\x00.": "runs past the end",
		"T\xff\xff\xff\xff.":                    "negative",
		"L" + strings.Repeat("9", 2000) + "\n.": "line over 1024 bytes",
		"cmod":                                  "truncated",
	}
	for p, want := range bad {
		_, err := scanPickle(bufio.NewReader(strings.NewReader(p)), int64(len(p)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", p, err, want)
		}
	}
}

func TestUnpickleInert(t *testing.T) {
	// os.system("echo hi") via REDUCE: resolved to an inert stand-in that
	// records its arguments; nothing runs.
	p := "cos\nsystem\n(S'echo hi'\ntR."
	b, err := scanPickle(bufio.NewReader(strings.NewReader(p)), int64(len(p)))
	if err != nil {
		t.Fatal(err)
	}
	tr := newTorchReader("x", false)
	v, err := unpickle(b, tr.find, tr.persistent)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := v.(*ptObject)
	if !ok || o.class.module != "os" || o.class.name != "system" || len(o.args) != 1 {
		t.Errorf("got %#v", v)
	}
	// Malformed input inside gopickle becomes an error, not a panic.
	for _, p := range []string{"(K\x01u.", "a.", "}(C\x01ak\x01u."} {
		b, err := scanPickle(bufio.NewReader(bytes.NewReader([]byte(p))), int64(len(p)))
		if err != nil {
			continue
		}
		if _, err := unpickle(b, tr.find, tr.persistent); err == nil {
			t.Errorf("%q: no error", p)
		}
	}
}
