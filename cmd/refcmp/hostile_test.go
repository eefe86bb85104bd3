package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/refcmp/refcmp/tensor"
)

// TestHostileInputs runs the CLI on inputs built to crash, block or
// exhaust refcmp, and checks each is exit 2 with the file named, in
// bounded time, and never a panic (exit 3) or a hang.
func TestHostileInputs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	good := filepath.Join(dir, "good.safetensors")
	f, err := os.Create(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeSafetensors(f, []tensorSpec{{"w", tensor.F32, []int64{2}}}, nil, "index"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs:", err)
	}
	// A legacy .pt whose protocol version is a list containing itself
	// (a stack overflow when formatted).
	selfref := filepath.Join(dir, "selfref.pt")
	os.WriteFile(selfref, []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02]q\x00h\x00a."), 0o644)
	sparse := filepath.Join(dir, "model.safetensors.index.json")
	sf, _ := os.Create(sparse)
	sf.WriteString(`{"weight_map": {`)
	sf.Truncate(20 << 30)
	sf.Close()
	orderSparse := filepath.Join(dir, "order.txt")
	of, _ := os.Create(orderSparse)
	of.Truncate(20 << 30)
	of.Close()

	badOrder := filepath.Join(dir, "badorder.safetensors")
	bf, _ := os.Create(badOrder)
	writeSafetensors(bf, []tensorSpec{{"w", tensor.F32, []int64{2}}}, map[string]string{"refcmp.order": "[oops"}, "index")
	bf.Close()
	idx := filepath.Join(dir, "outer.safetensors.index.json")
	os.WriteFile(idx, []byte(`{"weight_map": {"w": "inner.safetensors"}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "inner.safetensors"), []byte(`{"weight_map": {"w": "good.safetensors"}}`), 0o644)

	var doubling []string
	for range 20 {
		doubling = append(doubling, "--map", "(.)=$1$1")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append([]string{"weights", good, good}, doubling...), good + `: --map "(.)=$1$1" makes a name of 131072 bytes from "wwww`},
		{append([]string{"tensors", good, good}, doubling...), `OURS ` + good + `: --map "(.)=$1$1" makes a name of 131072 bytes from "w`},
		{[]string{"weights", idx, good}, "inner.safetensors: a JSON file, not a safetensors file"},
		{[]string{"inspect", badOrder}, badOrder + `: __metadata__ "refcmp.order": not a JSON list of names`},
		{[]string{"tensors", badOrder, good}, badOrder + `: __metadata__ "refcmp.order": not a JSON list of names`},
		{[]string{"tensors", "/dev/zero", "/dev/urandom"}, "/dev/zero: a character device, not a regular file"},
		{[]string{"tensors", good, "/dev/zero"}, "/dev/zero: a character device"},
		{[]string{"inspect", "/dev/urandom"}, "/dev/urandom: a character device"},
		{[]string{"weights", "/dev/zero", good}, "/dev/zero: a character device"},
		{[]string{"weights", good, "/dev/zero"}, "/dev/zero: a character device"},
		{[]string{"tensors", fifo, good}, fifo + ": a named pipe (FIFO), not a regular file"},
		{[]string{"weights", good, fifo}, fifo + ": a named pipe (FIFO)"},
		{[]string{"tensors", "--config", fifo, good, good}, fifo + ": a named pipe (FIFO)"},
		{[]string{"tensors", "--order", fifo, good, good}, fifo + ": a named pipe (FIFO)"},
		{[]string{"tensors", "--order", orderSparse, good, good}, orderSparse + ": over the 64 MiB limit for an --order file"},
		{[]string{"tensors", "--config", orderSparse, good, good}, orderSparse + ": over the 16 MiB limit for a --config file"},
		{[]string{"golden", "check", good, orderSparse}, orderSparse + ": over the 1 GiB limit for a golden file"},
		{[]string{"weights", sparse, good}, sparse + ": over the 256 MiB limit for a sharded index"},
		{[]string{"inspect", selfref}, selfref + ": legacy PyTorch file: protocol version a value of type *types.List"},
	} {
		done := make(chan struct{})
		var stderr string
		var code int
		go func() {
			defer close(done)
			_, stderr, code = runCLI(t, nil, tc.args...)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("refcmp %s: still running after 20s", strings.Join(tc.args, " "))
		}
		if code != exitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("refcmp %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
}

// TestManifestBesideJSON: loaded.txt beside loaded.json is a manifest,
// not a raw F32 tensor described by a sidecar.
func TestManifestBesideJSON(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	f, _ := os.Create(good)
	writeSafetensors(f, []tensorSpec{{"w", tensor.F32, []int64{2}}}, nil, "index")
	f.Close()
	txt := filepath.Join(dir, "loaded.txt")
	os.WriteFile(txt, []byte("w [2] F32\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "loaded.json"), []byte(`["w"]`), 0o644)
	out, stderr, code := runCLI(t, nil, "weights", good, txt)
	if code != exitOK {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

func TestSafeText(t *testing.T) {
	for in, want := range map[string]string{
		"plain name\n":                "plain name\n",
		"a\x1b[2Jb\rc\x07\td":         `a\x1b[2Jb\rc\x07` + "\td",
		ansiRed + "FAIL:" + ansiReset: ansiRed + "FAIL:" + ansiReset,
		"x\u009b2Jy é ü":              `x\u009b2Jy é ü`,
		"\x1b]0;title\x07":            `\x1b]0;title\x07`,
	} {
		var b strings.Builder
		n, err := safeText{&b}.Write([]byte(in))
		if err != nil || n != len(in) || b.String() != want {
			t.Errorf("%q: wrote %q (%d, %v), want %q", in, b.String(), n, err, want)
		}
	}
	// End to end: a tensor named with a screen-clearing escape.
	dir := t.TempDir()
	p := filepath.Join(dir, "esc.safetensors")
	f, _ := os.Create(p)
	writeSafetensors(f, []tensorSpec{{"evil\x1b[2J\rname", tensor.F32, []int64{2}}}, nil, "index")
	f.Close()
	out, _, code := runCLI(t, nil, "inspect", p)
	if code != exitOK || strings.Contains(out, "\x1b") || strings.Contains(out, "\r") || !strings.Contains(out, `evil\x1b[2J\rname`) {
		t.Errorf("exit %d, text output %q", code, out)
	}
	js, _, _ := runCLI(t, nil, "inspect", "--format", "json", p)
	if !strings.Contains(js, `"evil\u001b[2J\rname"`) {
		t.Errorf("json output %q", js)
	}
}
