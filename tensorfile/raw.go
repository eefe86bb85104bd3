package tensorfile

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/refcmp/refcmp/internal/fileio"
	"github.com/refcmp/refcmp/tensor"
)

// maxSidecar bounds the size of a sidecar JSON file.
const maxSidecar = 1 << 20

// sidecar is the JSON description beside a raw tensor file:
//
//	{"dtype": "bf16", "shape": [4096, 32000]}
//
// with optional "order" ("C", the default, or "F") and "byteorder"
// ("little", the default, or "big").
type sidecar struct {
	DType     string   `json:"dtype"`
	Shape     *[]int64 `json:"shape"`
	Order     string   `json:"order"`
	ByteOrder string   `json:"byteorder"`
}

// findSidecar returns the sidecar of a raw file: for x.bin, x.bin.json
// or else x.json.
func findSidecar(path string) (string, bool, error) {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return "", false, nil
	}
	cands := []string{path + ".json"}
	if ext := filepath.Ext(path); ext != "" {
		cands = append(cands, strings.TrimSuffix(path, ext)+".json")
	}
	for _, c := range cands {
		fi, err := os.Stat(c)
		if err == nil && fi.Mode().IsRegular() {
			return c, true, nil
		}
		if err != nil && !os.IsNotExist(err) {
			return "", false, err
		}
	}
	return "", false, nil
}

func readSidecar(path string) (sidecar, error) {
	var sc sidecar
	f, err := fileio.Open(path)
	if err != nil {
		return sc, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSidecar+1))
	if err != nil {
		return sc, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxSidecar {
		return sc, fmt.Errorf("%s: sidecar is over %d bytes", path, maxSidecar)
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		return sc, fmt.Errorf("%s: sidecar is not {\"dtype\": ..., \"shape\": [...]}: %v", path, err)
	}
	return sc, nil
}

// openRaw opens a raw little-endian C-order tensor file described by opts
// and its sidecar. Options win over the sidecar; the defaults are F32 and
// a 1-D shape covering the file.
func openRaw(path string, size int64, cfg config) (*Container, error) {
	var sc sidecar
	scPath, ok, err := findSidecar(path)
	if err != nil {
		return nil, err
	}
	if ok {
		if sc, err = readSidecar(scPath); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	where := path
	if ok {
		where = fmt.Sprintf("%s (described by %s)", path, scPath)
	}
	var dump *dumpLayout
	if !ok && cfg.DType == tensor.Unknown && cfg.Shape == nil {
		if dump, err = findDump(path, size); err != nil {
			return nil, err
		}
		if dump != nil {
			where = fmt.Sprintf("%s (described by %s)", path, dump.txt)
		}
	}
	dt := cfg.DType
	if dt == tensor.Unknown && sc.DType != "" {
		if dt, err = tensor.ParseDType(sc.DType); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, scPath, err)
		}
	}
	if dt == tensor.Unknown {
		dt = tensor.F32
	}
	es := int64(dt.Size())
	if es == 0 {
		return nil, fmt.Errorf("%s: dtype %s has no element size", where, dt)
	}
	shape := cfg.Shape
	if shape == nil && sc.Shape != nil {
		shape = *sc.Shape
	}
	if shape == nil {
		if size%es != 0 {
			return nil, fmt.Errorf("%s: file has %d bytes, not a multiple of the %s element size %d (give --dtype)", where, size, dt, es)
		}
		shape = []int64{size / es}
	}
	shape = append([]int64{}, shape...)
	_, nbytes, err := byteSize(shape, dt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if nbytes != size {
		return nil, fmt.Errorf("%s: shape %v %s needs %d bytes, file has %d", where, shape, dt, nbytes, size)
	}
	var strides []int64
	switch strings.ToUpper(sc.Order) {
	case "", "C":
	case "F":
		strides = fortranStrides(shape)
	default:
		return nil, fmt.Errorf("%s: %s: order %q is not \"C\" or \"F\"", path, scPath, sc.Order)
	}
	big := false
	switch strings.ToLower(sc.ByteOrder) {
	case "", "little", "<":
	case "big", ">":
		big = true
	default:
		return nil, fmt.Errorf("%s: %s: byteorder %q is not \"little\" or \"big\"", path, scPath, sc.ByteOrder)
	}
	return openWith(path, func(f *os.File, _ int64) (*Container, error) {
		data, err := cfg.tensorData(f, size, dt, big, shape, strides, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		c := &Container{
			Source:  path,
			Format:  FormatRaw,
			Tensors: []tensor.Tensor{{Name: filepath.Base(path), DType: dt, Shape: shape, Data: data}},
			Single:  true,
		}
		if dump != nil {
			c.Notes = append(c.Notes, dump.note)
		}
		return c, nil
	})
}
