package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"github.com/refcmp/refcmp/internal/fileio"
)

// config is the file given with --config: the settings a CI line would
// otherwise spell out as flags, so that the line stays short. One file
// serves every command; a command uses the keys that concern it. Keys
// mirror the long flag names with '-' written as '_'. Unknown keys are an
// error, so a typo cannot silently turn a check off.
//
//	{
//	  "map":    ["^transformer\\.=model.", "\\.attn\\.=.self_attn."],
//	  "ignore": ["*.rotary_emb.inv_freq"],
//	  "tied":   {"lm_head.weight": "model.embed_tokens.weight"},
//	  "ignore_dtype": true
//	}
//
// Command-line flags add to the file: --map and --ignore entries run after
// the file's, a --tied entry replaces the file's entry for the same name,
// and a boolean flag given on the command line wins.
type config struct {
	// Map holds name rules 'REGEX=REPLACEMENT' (Go regexp syntax), applied
	// in order to the loaded (port) names before pairing.
	Map []string `json:"map"`
	// Ignore holds globs; matching names on either side are left out.
	Ignore []string `json:"ignore"`
	// Tied maps an expected name to the expected name it shares storage
	// with (e.g. lm_head.weight -> model.embed_tokens.weight): the first may
	// be absent from the loaded side when the second is there.
	Tied map[string]string `json:"tied"`
	// IgnoreDType skips dtype comparison.
	IgnoreDType *bool `json:"ignore_dtype"`

	// Tolerance settings of `refcmp tensors`, as its flags --atol, --rtol,
	// --check, --threshold, --exact, --equal-nan and --tol (per-tensor
	// rules 'GLOB=ATOL:RTOL', applied before the command line's).
	Atol      *float64 `json:"atol"`
	Rtol      *float64 `json:"rtol"`
	Check     string   `json:"check"`
	Threshold *float64 `json:"threshold"`
	Exact     *bool    `json:"exact"`
	EqualNaN  *bool    `json:"equal_nan"`
	Tol       []string `json:"tol"`
}

// maxConfigFile bounds a --config file.
const maxConfigFile = 16 << 20

// loadConfig reads a config file strictly: unknown keys, trailing data and
// wrong types are errors that name the file and, for syntax errors, the
// line and column.
func loadConfig(path string) (*config, error) {
	data, err := fileio.ReadFile(path, maxConfigFile, "a --config file")
	if err != nil {
		return nil, err // *PathError names the file
	}
	return parseConfig(path, data)
}

// parseConfig is loadConfig on data read from path.
func parseConfig(path string, data []byte) (*config, error) {
	var c config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, configError(path, data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: unexpected data after the JSON object", path)
	}
	return &c, nil
}

// configError puts the place of a JSON decoding error into its message.
func configError(path string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, the offending one included.
		line, col := lineCol(data, max(syn.Offset-1, 0))
		return fmt.Errorf("%s:%d:%d: %v", path, line, col, err)
	case errors.As(err, &typ):
		line, _ := lineCol(data, typ.Offset)
		field := typ.Field
		if field == "" {
			field = "top level"
		}
		return fmt.Errorf("%s:%d: %s: got JSON %s, want %s", path, line, field, typ.Value, jsonTypeName(typ.Type))
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%s: empty file, want a JSON object", path)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: unexpected end of file", path)
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("%s: unknown key %s (known keys: %s)", path, msg, strings.Join(configKeys(), ", "))
	}
	return fmt.Errorf("%s: %w", path, err)
}

// configKeys lists the keys config accepts, sorted.
func configKeys() []string {
	t := reflect.TypeFor[config]()
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	sort.Strings(keys)
	return keys
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// tiedList gives the "tied" object as NAME=TARGET strings, sorted by NAME.
func (c *config) tiedList() []string {
	names := make([]string, 0, len(c.Tied))
	for n := range c.Tied {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + "=" + c.Tied[n]
	}
	return out
}

// jsonTypeName says in JSON terms what a Go type decodes from.
func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int64:
		return "a number"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(jsonTypeName(t.Elem()), "a "), "an ") + "s"
	case reflect.Map:
		return "an object of " + strings.TrimPrefix(strings.TrimPrefix(jsonTypeName(t.Elem()), "a "), "an ") + "s"
	case reflect.Struct:
		return "an object"
	}
	return t.String()
}
