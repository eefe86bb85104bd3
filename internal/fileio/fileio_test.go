//go:build unix

package fileio

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOpenRefusesFIFOWithoutBlocking(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadFile(p, 1<<20, "a test file"); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), p+": a named pipe (FIFO), not a regular file") {
			t.Errorf("err %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
}

func TestReadFileRefusesDevicesAndLimits(t *testing.T) {
	for _, dev := range []string{"/dev/zero", "/dev/urandom", "/dev/null"} {
		if _, err := os.Stat(dev); err != nil {
			continue
		}
		if _, err := ReadFile(dev, 1<<20, "a test file"); err == nil || !strings.Contains(err.Error(), "a character device, not a regular file") {
			t.Errorf("%s: err %v", dev, err)
		}
	}
	dir := t.TempDir()
	if _, err := ReadFile(dir, 1, "x"); err == nil || !strings.Contains(err.Error(), "a directory") {
		t.Errorf("dir: %v", err)
	}
	p := filepath.Join(dir, "big")
	os.WriteFile(p, make([]byte, 2049), 0o644)
	if _, err := ReadFile(p, 2048, "a manifest"); err == nil || err.Error() != p+": over the 2 KiB limit for a manifest" {
		t.Errorf("over: %v", err)
	}
	if b, err := ReadFile(p, 2049, "a manifest"); err != nil || len(b) != 2049 {
		t.Errorf("at the limit: %d %v", len(b), err)
	}
	// A sparse file far over the limit is refused after reading limit+1 bytes.
	sp := filepath.Join(dir, "sparse")
	f, _ := os.Create(sp)
	f.Truncate(20 << 30)
	f.Close()
	start := time.Now()
	if _, err := ReadFile(sp, 1<<20, "an index"); err == nil || !strings.Contains(err.Error(), "over the 1 MiB limit for an index") {
		t.Errorf("sparse: %v", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("sparse: %v", d)
	}
}
