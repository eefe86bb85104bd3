package main

import (
	"fmt"
	"strings"

	"github.com/refcmp/refcmp/diffing/weights"
	"github.com/refcmp/refcmp/tensorfile"
	"github.com/spf13/cobra"
)

const weightsDoc = `Compare the weights a port loads (LOADED) with the reference checkpoint
(EXPECTED), from headers alone: no tensor data is read.

EXPECTED and LOADED may each be:
  - a safetensors file, a sharded index (model.safetensors.index.json) or a
    directory holding either;
  - any other checkpoint refcmp reads (PyTorch .pt/.pth/.bin, .npz);
  - a manifest of what the port loaded: a text file with one weight per
    line ("name", optionally a shape and a dtype in the common spellings,
    e.g. the output of
      for n, p in model.named_parameters(): print(n, p.shape, p.dtype)
    ) or JSON (a list of names, or an object name -> shape or
    name -> {"shape": [...], "dtype": "..."}).

refcmp reports weights that are missing (expected, not loaded), unexpected
(loaded, not expected), of another shape, or of another dtype (unless the
manifest gives no dtype, or --ignore-dtype). Beside the rows it explains,
it hints at the cause: a transposed shape, a renamed prefix (with the --map
that fixes it), a fused tensor (qkv_proj covering q/k/v_proj), a tied
output head, or the closest name.

Name rules apply to LOADED names before pairing:
  --map 'REGEX=REPLACEMENT'  Go regexp, $1 for groups; repeatable, in order
  --ignore GLOB              leave matching names out on both sides
  --tied NAME=TARGET         NAME may be absent when TARGET is loaded
  --config FILE              the same settings as JSON:
      {"map": ["^transformer\\.=model."], "ignore": ["*.inv_freq"],
       "tied": {"lm_head.weight": "model.embed_tokens.weight"},
       "ignore_dtype": false}

Text output folds repeated layer indices (model.layers.{0..31}.x); the JSON
report (--format json) lists every name and is the stable contract
documented in docs/json.md.
--format junit writes JUnit XML for CI (one testcase per weight), and
--issues-log FILE appends, on failure, an [OPEN] entry to a Markdown log.

` + exitCodesHelp

const weightsExample = `  # Does the port load every weight of the reference, with the right shapes?
  refcmp weights model.safetensors loaded.txt

  # Sharded reference; the port prefixes names with "transformer."
  refcmp weights model.safetensors.index.json loaded.json --map '^transformer\.=model.'

  # Rotary buffers are not weights; the output head is tied to the embedding
  refcmp weights ref/ loaded.txt --ignore '*.rotary_emb.inv_freq' \
      --tied lm_head.weight=model.embed_tokens.weight

  # Two checkpoints, header against header, as JSON
  refcmp weights --format json a.safetensors b.safetensors

  # For a pull-request comment or a CI step summary
  refcmp weights --format markdown --config refcmp.json ref.safetensors loaded.txt`

// weightsOptions holds what the weights command was asked to do.
type weightsOptions struct {
	expected, loaded string

	configPath  string
	maps        []string
	ignores     []string
	tied        []string // NAME=TARGET
	ignoreDType bool
	// ignoreDTypeSet is true when --ignore-dtype was given, so that it
	// overrides the config file either way.
	ignoreDTypeSet bool
	preset         string

	out outputFlags
}

func newWeightsCmd(a *app) *cobra.Command {
	var o weightsOptions
	cmd := &cobra.Command{
		Use:     "weights [flags] EXPECTED LOADED",
		Short:   "Diff the weights a port loads against the reference checkpoint",
		Long:    weightsDoc,
		Example: weightsExample,
		Args:    exactArgs("EXPECTED", "LOADED"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.expected, o.loaded = args[0], args[1]
			o.ignoreDTypeSet = cmd.Flags().Changed("ignore-dtype")
			return runWeights(a, &o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.configPath, "config", "", "read --map, --ignore, --tied and --ignore-dtype settings from this JSON `FILE`")
	fs.StringArrayVar(&o.maps, "map", nil, "rename loaded names: Go regexp `REGEX=REPLACEMENT`, applied in order (repeatable)")
	fs.StringArrayVar(&o.ignores, "ignore", nil, "leave out names matching this `GLOB` on both sides (repeatable)")
	fs.StringArrayVar(&o.tied, "tied", nil, "accept NAME absent from LOADED when TARGET is loaded with its shape: tied weights, `NAME=TARGET` (repeatable)")
	fs.BoolVar(&o.ignoreDType, "ignore-dtype", false, "do not compare dtypes")
	fs.StringVar(&o.preset, "preset", "", presetHelp)
	o.out.register(cmd, formatText, formatJSON, formatMarkdown, formatJUnit)
	return cmd
}

func runWeights(a *app, o *weightsOptions) error {
	opts, err := o.diffOptions()
	if err != nil {
		return err
	}
	expected, err := tensorfile.List(o.expected)
	if err != nil {
		return err
	}
	loaded, err := tensorfile.List(o.loaded)
	if err != nil {
		return err
	}
	if o.preset != "" {
		p, err := loadPreset(o.preset)
		if err != nil {
			return err
		}
		if err := presetListings(p, &expected, &loaded, &opts); err != nil {
			return err
		}
	}
	loadedNames := make([]string, len(loaded.Weights))
	for i, w := range loaded.Weights {
		loadedNames[i] = w.Name
	}
	if err := opts.Rules.CheckMaps(loadedNames); err != nil {
		return fmt.Errorf("%s: %w", o.loaded, err)
	}
	rep := weights.Diff(expected, loaded, opts)
	view := weightsView{Report: rep, Opts: opts, All: o.out.all}
	if o.out.all {
		view.Matched = rep.Matched
	}
	return o.out.render(a, rep, rep.Pass, formatRenderers{
		text:     func(st textStyle) error { return renderWeightsText(safeText{a.stdout}, view, st) },
		markdown: func() error { return renderWeightsMarkdown(a.stdout, view) },
		junit:    func() ciSuite { return weightsSuite(o, expected, view) },
	})
}

// diffOptions merges the config file (if any) with the flags: the file's
// --map and --ignore entries come first, a --tied flag replaces the file's
// entry for the same name, and --ignore-dtype given on the command line
// wins over the file.
func (o *weightsOptions) diffOptions() (weights.Options, error) {
	var maps, ignores, tied []string
	ignoreDType := o.ignoreDType
	if o.configPath != "" {
		c, err := loadConfig(o.configPath)
		if err != nil {
			return weights.Options{}, err
		}
		// Parse the file's settings on their own, so errors name the file.
		if _, err := weights.ParseOptions(c.Map, c.Ignore, c.tiedList(), false); err != nil {
			return weights.Options{}, fmt.Errorf("%s: %w", o.configPath, err)
		}
		maps = append(maps, c.Map...)
		ignores = append(ignores, c.Ignore...)
		flagTied := map[string]bool{}
		for _, t := range o.tied {
			name, _, _ := strings.Cut(t, "=")
			flagTied[strings.TrimSpace(name)] = true
		}
		for _, t := range c.tiedList() {
			name, _, _ := strings.Cut(t, "=")
			if !flagTied[name] {
				tied = append(tied, t)
			}
		}
		if c.IgnoreDType != nil && !o.ignoreDTypeSet {
			ignoreDType = *c.IgnoreDType
		}
	}
	// Flag values are checked on their own too: a bad one is a usage error.
	if _, err := weights.ParseOptions(o.maps, o.ignores, o.tied, false); err != nil {
		return weights.Options{}, &usageError{err}
	}
	maps = append(maps, o.maps...)
	ignores = append(ignores, o.ignores...)
	tied = append(tied, o.tied...)
	return weights.ParseOptions(maps, ignores, tied, ignoreDType)
}
