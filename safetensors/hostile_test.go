package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// manyTensors builds a valid safetensors file of n empty-free U8 tensors of
// one byte each, header padded to a multiple of 8.
func manyTensors(n int) []byte {
	var h bytes.Buffer
	h.WriteString("{")
	for i := range n {
		if i > 0 {
			h.WriteByte(',')
		}
		fmt.Fprintf(&h, `"model.layers.%d.weight":{"dtype":"U8","shape":[1],"data_offsets":[%d,%d]}`, i, i, i+1)
	}
	h.WriteString("}")
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(h.Len()))
	out = append(out, h.Bytes()...)
	return append(out, make([]byte, n)...)
}

// TestReadHeaderTruncatedMeanwhile truncates and restores a file while
// its header is read again and again. Reading through a mapping of the
// file died of SIGBUS here; each read must now succeed or return an
// error naming the file.
func TestReadHeaderTruncatedMeanwhile(t *testing.T) {
	full := manyTensors(20_000)
	p := filepath.Join(t.TempDir(), "x.safetensors")
	if err := os.WriteFile(p, full, 0o644); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		for !stop.Load() {
			w.Truncate(100)
			runtime.Gosched()
			w.WriteAt(full, 0)
			time.Sleep(time.Millisecond)
		}
	}()
	deadline := time.Now().Add(3 * time.Second)
	var ok, failed int
	for time.Now().Before(deadline) {
		_, err := ReadHeader(p)
		if err == nil {
			ok++
			continue
		}
		failed++
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error without the file: %v", err)
		}
	}
	stop.Store(true)
	<-done
	t.Logf("%d reads succeeded, %d failed cleanly", ok, failed)
}
