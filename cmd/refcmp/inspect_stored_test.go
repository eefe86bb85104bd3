package main

import (
	"encoding/json"
	"testing"
)

// TestInspectStoredGGUF: a Q8_0 tensor is listed as stored, Q8_0 with
// its blocks' bytes (32 elements in 34 bytes), read as F32.
func TestInspectStoredGGUF(t *testing.T) {
	out := refcmpRun(t, 0, "inspect", "--format", "json", "../../testdata/gguf/model.gguf")
	var rep struct {
		Tensors []struct {
			Name    string `json:"name"`
			DType   string `json:"dtype"`
			Bytes   int64  `json:"bytes"`
			Decoded string `json:"decoded"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, tt := range rep.Tensors {
		switch tt.Name {
		case "blk.0.attn_q.weight":
			seen++
			if tt.DType != "Q8_0" || tt.Bytes != 1024/32*34 || tt.Decoded != "F32" {
				t.Errorf("%s: %+v", tt.Name, tt)
			}
		case "output_norm.weight":
			seen++
			if tt.DType != "F32" || tt.Bytes != 128 || tt.Decoded != "" {
				t.Errorf("%s: %+v", tt.Name, tt)
			}
		}
	}
	if seen != 2 {
		t.Errorf("%d of 2 tensors found", seen)
	}
}
