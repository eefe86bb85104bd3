package tensorfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/refcmp/refcmp/tensor"
)

// dumpExt reports whether a file name has the extension of a tensor file
// a directory walk picks up.
func dumpExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".npy", ".npz", ".pt", ".pth", ".bin", ".ckpt", ".safetensors", ".raw":
		return true
	}
	return false
}

// openDir opens a directory: a safetensors checkpoint directory through
// package safetensors, or else every tensor file under it, in lexical
// order of relative path. Tensors are named by relative path
// ("sub/x.npy"), plus "/member" for containers ("sub/acts.npz/layer0").
func openDir(dir string, cfg config) (*Container, error) {
	st, err := isSafetensorsDir(dir)
	if err != nil {
		return nil, err
	}
	if st {
		return openSafetensors(dir, cfg)
	}
	if ix, ok := torchIndexIn(dir); ok {
		c, err := openTorchIndex(ix, cfg)
		if c != nil {
			c.Source = dir
		}
		return c, err
	}
	c := &Container{Source: dir, Format: FormatDir}
	var skipped, sidecars, irregular []string // relative paths not read
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !dumpExt(d.Name()) {
			if isSidecar(p) {
				sidecars = append(sidecars, rel)
			} else {
				skipped = append(skipped, rel)
			}
			return nil
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			irregular = append(irregular, rel)
			return nil
		}
		kind, err := sniffFile(p, fi.Size())
		if err != nil {
			return err
		}
		if kind == "" {
			return fmt.Errorf("%s: not a recognised tensor file", p)
		}
		sub, err := openKind(p, kind, fi.Size(), cfg)
		if err != nil {
			return err
		}
		c.closers = append(c.closers, sub)
		for _, t := range sub.Tensors {
			if sub.Single {
				t.Name = rel
			} else {
				t.Name = rel + "/" + t.Name
			}
			c.Tensors = append(c.Tensors, t)
		}
		for _, n := range sub.Notes {
			c.Notes = append(c.Notes, rel+": "+n)
		}
		return nil
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	if len(c.Tensors) == 0 && len(c.closers) == 0 {
		return nil, fmt.Errorf("%s: no tensor files (.safetensors, .npy, .npz, .pt, .pth, .bin) in this directory", dir)
	}
	c.Notes = append(c.Notes, notRead(skipped, "not a tensor file (.safetensors, .npy, .npz, .pt, .pth, .bin, .ckpt, .raw)")...)
	c.Notes = append(c.Notes, notRead(sidecars, "the dtype and shape sidecar of a raw file")...)
	c.Notes = append(c.Notes, notRead(irregular, "not a regular file")...)
	return c, nil
}

// isSidecar reports a NAME.json beside a raw NAME.bin or NAME.raw.
func isSidecar(p string) bool {
	if !strings.EqualFold(filepath.Ext(p), ".json") {
		return false
	}
	base := strings.TrimSuffix(p, filepath.Ext(p))
	for _, ext := range []string{".bin", ".raw"} {
		if _, err := os.Stat(base + ext); err == nil {
			return true
		}
	}
	return false
}

// notRead is the directory note on files it did not read, and why: the
// first 5 names.
func notRead(files []string, why string) []string {
	if len(files) == 0 {
		return nil
	}
	show := files
	more := ""
	if len(show) > 5 {
		show, more = show[:5], fmt.Sprintf(", … %d more", len(files)-5)
	}
	what := "files"
	if len(files) == 1 {
		what = "file"
	}
	return []string{fmt.Sprintf("did not read %d %s (%s): %s%s", len(files), what, why, strings.Join(show, ", "), more)}
}

// listDir lists a directory from headers alone.
func listDir(dir string) (tensor.Listing, error) {
	st, err := isSafetensorsDir(dir)
	if err != nil {
		return tensor.Listing{}, err
	}
	if st {
		return listSafetensors(dir)
	}
	c, err := openDir(dir, config{headerOnly: true})
	if err != nil {
		return tensor.Listing{}, err
	}
	defer c.Close()
	return c.listing(), nil
}
