package tensorfile

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gopickle/types"

	"github.com/refcmp/refcmp/tensor"
)

// PyTorch checkpoints come in two layouts, both read here without running
// any pickled code:
//
//   - zip (torch.save since 1.6): PREFIX/data.pkl pickles the object, with
//     each storage as a persistent id ('storage', StorageClass, key,
//     location, numel) whose bytes are the member PREFIX/data/KEY, in the
//     byte order named by PREFIX/byteorder (little when absent). PREFIX is
//     the archive's stem, not always "archive".
//   - legacy (_use_new_zipfile_serialization=False): a run of pickles
//     (magic number, protocol version, sys_info, the object, the list of
//     storage keys) followed by each storage as an 8-byte element count
//     and its little-endian bytes. Persistent ids carry a sixth field,
//     view metadata (view_key, offset, size) for storage views.
//
// Tensors are calls to torch._utils._rebuild_tensor_v2(storage, offset,
// size, stride, ...); gopickle's class lookup is answered with inert
// descriptors (ptStorageClass, ptRebuild, ptClass) that only record what
// they are called with.

// legacyMagic is the LONG1 encoding of torch's legacy magic number
// 0x1950a86a20f9469cfc6c, and legacyMagicText its protocol-1 form.
const (
	legacyMagic     = "\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
	legacyMagicText = "L119547037146038801333356L\n"
	legacyMagicHex  = "1950a86a20f9469cfc6c"
	legacyProtocol  = 1001
)

// isLegacyTorch reports whether head starts a legacy torch.save stream:
// a pickle PROTO 2..5 (maybe a FRAME) then the magic number, or the
// protocol-1 text form of the magic number.
func isLegacyTorch(head []byte) bool {
	if bytes.HasPrefix(head, []byte(legacyMagicText)) {
		return true
	}
	if len(head) < 2 || head[0] != 0x80 || head[1] < 2 || head[1] > 5 {
		return false
	}
	i := 2
	if len(head) > i && head[i] == 0x95 {
		i += 9
	}
	return len(head) >= i+len(legacyMagic) && string(head[i:i+len(legacyMagic)]) == legacyMagic
}

// ptStorage is a storage named by a persistent id. The format reader
// fills data and size once it knows where the bytes are.
type ptStorage struct {
	key   string
	dtype tensor.DType
	numel int64
	// unsupported names a storage type refcmp cannot compare (complex,
	// quantized); tensors on it are skipped with a note.
	unsupported string
	// root and viewOffset (in elements of root) describe a legacy view.
	root       *ptStorage
	viewOffset int64

	data  io.ReaderAt
	bytes int64
	found bool
}

// ptTensor is a call to _rebuild_tensor(_v2).
type ptTensor struct {
	storage *ptStorage
	offset  int64
	shape   []int64
	stride  []int64
}

// ptUnsupported stands for a tensor of a kind refcmp does not read
// (sparse, quantized, nested, tensor subclasses).
type ptUnsupported struct{ what string }

// ptStorageClass is torch.FloatStorage and friends.
type ptStorageClass struct {
	name        string
	dtype       tensor.DType
	unsupported string
}

// ptRebuild is one of torch._utils' rebuild functions.
type ptRebuild struct {
	r    *torchReader
	name string
}

// ptClass is any other global: calling or instantiating it records the
// arguments and nothing else; BUILD records the state.
type ptClass struct{ module, name string }

type ptObject struct {
	class *ptClass
	args  []any
	state any
}

func (c *ptClass) Call(args ...any) (any, error)  { return &ptObject{class: c, args: args}, nil }
func (c *ptClass) PyNew(args ...any) (any, error) { return &ptObject{class: c, args: args}, nil }
func (o *ptObject) PySetState(state any) error    { o.state = state; return nil }

// torchSize is torch.Size: it returns its tuple.
type torchSize struct{}

func (torchSize) Call(args ...any) (any, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	return types.NewTupleFromSlice(args), nil
}

var _ types.Callable = (*ptRebuild)(nil)

// storageDTypes maps torch storage class names to dtypes.
func storageClass(name string) (*ptStorageClass, bool) {
	d := map[string]tensor.DType{
		"FloatStorage": tensor.F32, "DoubleStorage": tensor.F64,
		"HalfStorage": tensor.F16, "BFloat16Storage": tensor.BF16,
		"LongStorage": tensor.I64, "IntStorage": tensor.I32,
		"ShortStorage": tensor.I16, "CharStorage": tensor.I8,
		"ByteStorage": tensor.U8, "BoolStorage": tensor.Bool,
		"UInt16Storage": tensor.U16, "UInt32Storage": tensor.U32,
		"UInt64Storage": tensor.U64, "UntypedStorage": tensor.U8,
		"Float8_e4m3fnStorage": tensor.F8E4M3, "Float8_e5m2Storage": tensor.F8E5M2,
	}
	if dt, ok := d[name]; ok {
		return &ptStorageClass{name: name, dtype: dt}, true
	}
	if strings.HasSuffix(name, "Storage") {
		what := "storage type torch." + name
		switch {
		case strings.HasPrefix(name, "Complex"):
			what = "complex " + what
		case strings.HasPrefix(name, "QInt"), strings.HasPrefix(name, "QUInt"):
			what = "quantized " + what
		}
		return &ptStorageClass{name: name, unsupported: what}, true
	}
	return nil, false
}

// torchReader resolves a checkpoint's pickle into tensor descriptors.
type torchReader struct {
	source   string
	legacy   bool
	storages map[string]*ptStorage
	order    []*ptStorage // storages in first-seen order
}

func newTorchReader(source string, legacy bool) *torchReader {
	return &torchReader{source: source, legacy: legacy, storages: map[string]*ptStorage{}}
}

// find answers gopickle's class lookups with inert values.
func (tr *torchReader) find(module, name string) (any, error) {
	switch module {
	case "torch._utils", "torch._tensor", "torch":
		switch name {
		case "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_parameter",
			"_rebuild_parameter_with_state", "_rebuild_from_type_v2",
			"_rebuild_qtensor", "_rebuild_sparse_tensor", "_rebuild_sparse_csr_tensor",
			"_rebuild_wrapper_subclass", "_rebuild_device_tensor_from_numpy",
			"_rebuild_xla_tensor", "_rebuild_mlc_tensor", "_rebuild_meta_tensor_no_storage",
			"_rebuild_nested_tensor", "_rebuild_tensor_v3":
			return &ptRebuild{r: tr, name: name}, nil
		}
	}
	if module == "torch" || module == "torch.storage" {
		if sc, ok := storageClass(name); ok {
			return sc, nil
		}
		if name == "Size" {
			return torchSize{}, nil
		}
	}
	return &ptClass{module: module, name: name}, nil
}

// Call runs a rebuild function on its recorded arguments.
func (rb *ptRebuild) Call(args ...any) (any, error) {
	switch rb.name {
	case "_rebuild_tensor", "_rebuild_tensor_v2":
		return rb.r.rebuildTensor(args)
	case "_rebuild_parameter", "_rebuild_parameter_with_state":
		if len(args) < 1 {
			return nil, fmt.Errorf("%s without arguments", rb.name)
		}
		return args[0], nil
	case "_rebuild_from_type_v2":
		// (func, new_type, args, state): a tensor subclass such as
		// nn.Parameter or a user type; the data is func(*args).
		if len(args) < 3 {
			return nil, fmt.Errorf("%s with %d arguments", rb.name, len(args))
		}
		fn, ok := args[0].(types.Callable)
		if !ok {
			return &ptUnsupported{what: "tensor subclass"}, nil
		}
		inner, ok := args[2].(*types.Tuple)
		if !ok {
			return nil, fmt.Errorf("%s: arguments are not a tuple", rb.name)
		}
		return fn.Call(*inner...)
	}
	what := strings.TrimPrefix(rb.name, "_rebuild_")
	what = strings.ReplaceAll(what, "_", " ")
	return &ptUnsupported{what: what + " (torch._utils." + rb.name + ")"}, nil
}

func (tr *torchReader) rebuildTensor(args []any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor with %d arguments", len(args))
	}
	st, ok := args[0].(*ptStorage)
	if !ok {
		if u, ok := args[0].(*ptUnsupported); ok {
			return u, nil
		}
		return nil, errors.New("_rebuild_tensor: first argument is not a storage")
	}
	off, err := pyInt(args[1])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor: storage offset: %w", err)
	}
	shape, err := pyInts(args[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor: size: %w", err)
	}
	stride, err := pyInts(args[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor: stride: %w", err)
	}
	if len(shape) != len(stride) {
		return nil, fmt.Errorf("_rebuild_tensor: size %v and stride %v differ in length", shape, stride)
	}
	return &ptTensor{storage: st, offset: off, shape: shape, stride: stride}, nil
}

// persistent resolves a persistent id to a storage descriptor.
func (tr *torchReader) persistent(pid any) (any, error) {
	t, ok := pid.(*types.Tuple)
	if !ok || t.Len() == 0 {
		return nil, errors.New("persistent id is not a tuple")
	}
	typ, _ := t.Get(0).(string)
	switch typ {
	case "storage":
	case "module":
		// A legacy file persists module classes with their source:
		// ('module', class, source_file, source). The class is inert.
		if t.Len() > 1 {
			if c, ok := t.Get(1).(*ptClass); ok {
				return c, nil
			}
		}
		return &ptClass{module: "<persistent>", name: "module"}, nil
	default:
		return nil, fmt.Errorf("persistent id of unknown type %s", quoteShort(typ))
	}
	want := 5
	if tr.legacy {
		want = 6
	}
	if t.Len() < want {
		return nil, fmt.Errorf("storage persistent id has %d fields, want %d", t.Len(), want)
	}
	sc, ok := t.Get(1).(*ptStorageClass)
	if !ok {
		return nil, errors.New("storage persistent id names no known storage type")
	}
	key, err := pyKey(t.Get(2))
	if err != nil {
		return nil, fmt.Errorf("storage key: %w", err)
	}
	if len(key) > maxStorageKey {
		return nil, fmt.Errorf("storage key of %d bytes is over the %d-byte limit", len(key), maxStorageKey)
	}
	numel, err := pyInt(t.Get(4))
	if err != nil || numel < 0 {
		return nil, fmt.Errorf("storage %q: bad element count", key)
	}
	st := tr.storages[key]
	if st == nil {
		st = &ptStorage{key: key, dtype: sc.dtype, numel: numel, unsupported: sc.unsupported}
		tr.storages[key] = st
		tr.order = append(tr.order, st)
	} else if st.dtype != sc.dtype && st.unsupported == "" && sc.unsupported == "" {
		return nil, fmt.Errorf("storage %q is used as both %s and %s", key, st.dtype, sc.dtype)
	}
	if !tr.legacy || t.Get(5) == nil {
		return st, nil
	}
	vm, ok := t.Get(5).(*types.Tuple)
	if !ok || vm.Len() != 3 {
		return nil, fmt.Errorf("storage %q: bad view metadata", key)
	}
	vkey, err := pyKey(vm.Get(0))
	if err != nil {
		return nil, fmt.Errorf("storage view key: %w", err)
	}
	voff, err1 := pyInt(vm.Get(1))
	vsize, err2 := pyInt(vm.Get(2))
	if err1 != nil || err2 != nil || voff < 0 || vsize < 0 {
		return nil, fmt.Errorf("storage view %q: bad offset or size", vkey)
	}
	if v := tr.storages[vkey]; v != nil {
		return v, nil
	}
	v := &ptStorage{key: vkey, dtype: st.dtype, unsupported: st.unsupported, numel: vsize, root: st, viewOffset: voff}
	tr.storages[vkey] = v
	return v, nil
}

// maxStorageKey bounds a storage key (torch writes "0", "1", ... or, in
// legacy files, an object id).
const maxStorageKey = 1 << 12

// pyInt reads a pickled integer.
func pyInt(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), nil
		}
		return 0, errors.New("integer out of range")
	}
	return 0, fmt.Errorf("not an integer (%T)", v)
}

// pyDescribe names a pickled value for a message: small scalars by value,
// anything else by type. It never formats a container with %v: gopickle's
// String methods recurse without bound (a self-containing list overflows
// the stack; a DAG is exponential).
func pyDescribe(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case int, int64, bool, float64:
		return fmt.Sprint(x)
	case *big.Int:
		if x.BitLen() <= 256 {
			return x.String()
		}
		return fmt.Sprintf("an integer of %d bits", x.BitLen())
	case string:
		return quoteShort(x)
	}
	return fmt.Sprintf("a value of type %T", v)
}

// pyInts reads a tuple or list of integers (torch.Size is a tuple).
func pyInts(v any) ([]int64, error) {
	var items []any
	switch x := v.(type) {
	case *types.Tuple:
		items = *x
	case *types.List:
		items = *x
	default:
		return nil, fmt.Errorf("not a tuple (%T)", v)
	}
	if len(items) > maxDims {
		return nil, fmt.Errorf("%d dimensions, over the limit of %d", len(items), maxDims)
	}
	out := make([]int64, len(items))
	for i, it := range items {
		n, err := pyInt(it)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// pyKey renders a dict key or storage key as a name.
func pyKey(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case *big.Int:
		return x.String(), nil
	case bool:
		if x {
			return "True", nil
		}
		return "False", nil
	}
	return "", fmt.Errorf("key of type %T is not a name", v)
}

// ptNamed is one tensor found in the object, with its dotted name.
type ptNamed struct {
	name string
	t    *ptTensor
}

// flattener walks the unpickled object in insertion order and collects
// tensors under dotted names (nested dicts, lists, module state).
type flattener struct {
	tensors []ptNamed
	skipped []string // names of non-tensor values
	unsupp  []string // notes on unsupported tensors
	visits  int
	// seen maps each container walked to its name: a container reached
	// again (a cycle, or a DAG built with the memo) is not expanded again,
	// so the walk is linear in the pickle and cannot loop.
	seen      map[any]string
	shared    int
	sharedEg  string
	nameBytes int
}

const (
	maxFlattenDepth  = 64
	maxFlattenVisits = 1 << 22
	maxNameBytes     = 1 << 28 // all the dotted names built, in bytes
)

func joinName(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func (fl *flattener) walk(prefix string, v any, depth int) error {
	fl.visits++
	if depth > maxFlattenDepth {
		return fmt.Errorf("object nested over %d levels deep at %q", maxFlattenDepth, prefix)
	}
	if fl.visits > maxFlattenVisits {
		return fmt.Errorf("object has over %d parts", maxFlattenVisits)
	}
	if fl.nameBytes += len(prefix); fl.nameBytes > maxNameBytes {
		return fmt.Errorf("object's names add up to over %d bytes", maxNameBytes)
	}
	switch v.(type) {
	case *types.OrderedDict, *types.Dict, *types.List, *types.Tuple, *ptObject:
		if fl.seen == nil {
			fl.seen = map[any]string{}
		}
		if first, ok := fl.seen[v]; ok {
			if fl.shared++; fl.shared == 1 {
				fl.sharedEg = fmt.Sprintf("%q is the same object as %q", prefix, first)
			}
			return nil
		}
		fl.seen[v] = prefix
	}
	switch x := v.(type) {
	case *ptTensor:
		fl.tensors = append(fl.tensors, ptNamed{prefix, x})
	case *ptUnsupported:
		fl.unsupp = append(fl.unsupp, fmt.Sprintf("tensor %q skipped: %s is not supported", prefix, x.what))
	case *types.OrderedDict:
		for e := x.List.Front(); e != nil; e = e.Next() {
			ent, ok := e.Value.(*types.OrderedDictEntry)
			if !ok {
				continue
			}
			if err := fl.item(prefix, ent.Key, ent.Value, depth); err != nil {
				return err
			}
		}
	case *types.Dict:
		// Python keeps the first position and the last value of a key.
		last := map[string]int{}
		var keys []string
		var vals []any
		for _, e := range *x {
			k, err := pyKey(e.Key)
			if err != nil {
				fl.skipped = append(fl.skipped, joinName(prefix, "?"))
				continue
			}
			if i, ok := last[k]; ok {
				vals[i] = e.Value
				continue
			}
			last[k] = len(keys)
			keys = append(keys, k)
			vals = append(vals, e.Value)
		}
		for i, k := range keys {
			if err := fl.walk(joinName(prefix, k), vals[i], depth+1); err != nil {
				return err
			}
		}
	case *types.List:
		for i, it := range *x {
			if err := fl.walk(joinName(prefix, strconv.Itoa(i)), it, depth+1); err != nil {
				return err
			}
		}
	case *types.Tuple:
		for i, it := range *x {
			if err := fl.walk(joinName(prefix, strconv.Itoa(i)), it, depth+1); err != nil {
				return err
			}
		}
	case *ptObject:
		// A pickled object (e.g. a whole nn.Module): its attribute dict,
		// with the module containers _parameters, _buffers and _modules
		// flattened into their parent as in a state_dict.
		return fl.object(prefix, x, depth)
	default:
		if prefix != "" {
			fl.skipped = append(fl.skipped, prefix)
		}
	}
	return nil
}

func (fl *flattener) item(prefix string, key, val any, depth int) error {
	k, err := pyKey(key)
	if err != nil {
		fl.skipped = append(fl.skipped, joinName(prefix, "?"))
		return nil
	}
	return fl.walk(joinName(prefix, k), val, depth+1)
}

func (fl *flattener) object(prefix string, o *ptObject, depth int) error {
	state := o.state
	if t, ok := state.(*types.Tuple); ok && t.Len() == 2 {
		state = t.Get(0) // (dict, slotstate)
	}
	d, ok := state.(*types.Dict)
	if !ok {
		if od, ok := state.(*types.OrderedDict); ok {
			return fl.walk(prefix, od, depth+1)
		}
		if prefix != "" {
			fl.skipped = append(fl.skipped, prefix)
		}
		return nil
	}
	for _, e := range *d {
		k, err := pyKey(e.Key)
		if err != nil {
			continue
		}
		switch {
		case k == "_parameters" || k == "_buffers" || k == "_modules":
			if err := fl.walk(prefix, e.Value, depth+1); err != nil {
				return err
			}
		case strings.HasPrefix(k, "_"):
		default:
			if err := fl.walk(joinName(prefix, k), e.Value, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// buildTorch turns the unpickled object into the container's tensors.
// The storages' data must be located already.
func buildTorch(c *Container, obj any, bigEndian bool, cfg config) error {
	fl := &flattener{}
	if err := fl.walk("", obj, 0); err != nil {
		return fmt.Errorf("%s: %w", c.Source, err)
	}
	c.Notes = append(c.Notes, fl.unsupp...)
	if fl.shared > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%d containers appear more than once in the pickle and are read at their first place only (%s)", fl.shared, fl.sharedEg))
	}
	if n := len(fl.skipped); n > 0 {
		show := fl.skipped
		if n > 5 {
			show = show[:5]
		}
		q := make([]string, len(show))
		for i, s := range show {
			q[i] = strconv.Quote(s)
		}
		more := ""
		if n > 5 {
			more = fmt.Sprintf(" and %d more", n-5)
		}
		c.Notes = append(c.Notes, fmt.Sprintf("%d non-tensor values skipped: %s%s", n, strings.Join(q, ", "), more))
	}
	seen := map[string]bool{}
	for _, nt := range fl.tensors {
		name := nt.name
		if name == "" {
			if len(fl.tensors) != 1 {
				return fmt.Errorf("%s: unnamed tensor among others", c.Source)
			}
			name = filepath.Base(c.Source)
			c.Single = true
		}
		if seen[name] {
			return fmt.Errorf("%s: tensor %q appears twice", c.Source, name)
		}
		seen[name] = true
		if u := nt.t.storage.unsupported; u != "" {
			c.Notes = append(c.Notes, fmt.Sprintf("tensor %q skipped: %s is not supported", name, u))
			continue
		}
		t, err := torchTensor(name, nt.t, bigEndian, cfg)
		if err != nil {
			return fmt.Errorf("%s: tensor %q: %w", c.Source, name, err)
		}
		c.Tensors = append(c.Tensors, t)
	}
	return nil
}

func torchTensor(name string, pt *ptTensor, bigEndian bool, cfg config) (tensor.Tensor, error) {
	st := pt.storage
	base, off := st, pt.offset
	if st.root != nil {
		base = st.root
		if st.viewOffset > base.numel || st.numel > base.numel-st.viewOffset {
			return tensor.Tensor{}, fmt.Errorf("storage view %q (offset %d, %d elements) lies outside storage %q of %d elements", st.key, st.viewOffset, st.numel, base.key, base.numel)
		}
		if off > math.MaxInt64-st.viewOffset {
			return tensor.Tensor{}, errors.New("storage offset overflows")
		}
		off += st.viewOffset
	}
	if !base.found {
		return tensor.Tensor{}, fmt.Errorf("storage %q has no data in the file", base.key)
	}
	data, err := cfg.tensorData(base.data, base.bytes, st.dtype, bigEndian, pt.shape, pt.stride, off)
	if err != nil {
		return tensor.Tensor{}, err
	}
	return tensor.Tensor{Name: name, DType: st.dtype, Shape: pt.shape, Data: data}, nil
}

// readTorchZip reads a zip-format checkpoint whose members start with
// prefix.
func readTorchZip(name string, f io.ReaderAt, fsize int64, zr *zip.Reader, prefix string, cfg config) (*Container, error) {
	members := make(map[string]*zip.File, len(zr.File))
	for _, zf := range zr.File {
		members[zf.Name] = zf
		if strings.HasPrefix(zf.Name, prefix+"code/") || zf.Name == prefix+"constants.pkl" {
			return nil, fmt.Errorf("%s: a TorchScript archive (torch.jit.save), not a torch.save checkpoint: save the state_dict with torch.save", name)
		}
	}
	pkl, err := memberBytes(f, fsize, members[prefix+"data.pkl"], maxPickle)
	if err != nil {
		return nil, fmt.Errorf("%s: %sdata.pkl: %w", name, prefix, err)
	}
	scanned, err := scanPickle(bufio.NewReader(bytes.NewReader(pkl)), int64(len(pkl)))
	if err != nil {
		return nil, fmt.Errorf("%s: %sdata.pkl: %w", name, prefix, err)
	}
	bigEndian := false
	if bo := members[prefix+"byteorder"]; bo != nil {
		b, err := memberBytes(f, fsize, bo, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %sbyteorder: %w", name, prefix, err)
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			bigEndian = true
		default:
			return nil, fmt.Errorf("%s: %sbyteorder says %s, not little or big", name, prefix, quoteShort(string(b)))
		}
	}
	tr := newTorchReader(name, false)
	obj, err := unpickle(scanned, tr.find, tr.persistent)
	if err != nil {
		return nil, fmt.Errorf("%s: %sdata.pkl: %w", name, prefix, err)
	}
	for _, st := range tr.order {
		if st.unsupported != "" {
			continue
		}
		mname := prefix + "data/" + st.key
		zf := members[mname]
		if zf == nil {
			return nil, fmt.Errorf("%s: storage %q: member %s is missing", name, st.key, mname)
		}
		es := int64(st.dtype.Size())
		if st.numel > math.MaxInt64/es {
			return nil, fmt.Errorf("%s: storage %q: %d elements overflow", name, st.key, st.numel)
		}
		need := st.numel * es
		var size int64
		if cfg.headerOnly && zf.Method != zip.Store {
			size = int64(min(zf.UncompressedSize64, 1<<62))
		} else {
			st.data, size, err = zipMember(f, fsize, zf, cfg.maxMem(), cfg.cache)
			if err != nil {
				return nil, fmt.Errorf("%s: storage %q (%s): %w", name, st.key, mname, err)
			}
		}
		if size < need {
			return nil, fmt.Errorf("%s: storage %q: %d %s elements need %d bytes, member %s has %d", name, st.key, st.numel, st.dtype, need, mname, size)
		}
		st.bytes, st.found = need, true
	}
	c := &Container{Source: name, Format: FormatPyTorchZip, Ordered: true}
	if err := buildTorch(c, obj, bigEndian, cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// openPyTorchLegacy reads a legacy (non-zip) torch.save file.
func openPyTorchLegacy(name string, cfg config) (*Container, error) {
	return openWith(name, func(f *os.File, size int64) (*Container, error) {
		return readTorchLegacy(name, f, size, cfg)
	})
}

func readTorchLegacy(name string, f *os.File, size int64, cfg config) (*Container, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 64<<10)
	tr := newTorchReader(name, true)
	pos := int64(0)
	next := func(what string, persistent func(any) (any, error)) (any, error) {
		b, err := scanPickle(br, size-pos)
		if err != nil {
			return nil, fmt.Errorf("%s: legacy PyTorch file: %s: %w", name, what, err)
		}
		pos += int64(len(b))
		v, err := unpickle(b, tr.find, persistent)
		if err != nil {
			return nil, fmt.Errorf("%s: legacy PyTorch file: %s: %w", name, what, err)
		}
		return v, nil
	}
	magic, err := next("magic number", nil)
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(*big.Int); !ok || m.Text(16) != legacyMagicHex {
		return nil, fmt.Errorf("%s: not a PyTorch file: wrong magic number", name)
	}
	proto, err := next("protocol version", nil)
	if err != nil {
		return nil, err
	}
	if p, err := pyInt(proto); err != nil || p != legacyProtocol {
		return nil, fmt.Errorf("%s: legacy PyTorch file: protocol version %s, want %d", name, pyDescribe(proto), legacyProtocol)
	}
	if _, err := next("sys_info", nil); err != nil {
		return nil, err
	}
	obj, err := next("object", tr.persistent)
	if err != nil {
		return nil, err
	}
	rawKeys, err := next("storage keys", nil)
	if err != nil {
		return nil, err
	}
	keyList, ok := rawKeys.(*types.List)
	if !ok {
		return nil, fmt.Errorf("%s: legacy PyTorch file: storage keys are not a list", name)
	}
	for _, k := range *keyList {
		key, err := pyKey(k)
		if err != nil {
			return nil, fmt.Errorf("%s: legacy PyTorch file: storage key: %w", name, err)
		}
		st := tr.storages[key]
		if st == nil || st.root != nil {
			return nil, fmt.Errorf("%s: legacy PyTorch file: storage %q is listed but no tensor uses it", name, key)
		}
		var nb [8]byte
		if n, _ := f.ReadAt(nb[:], pos); n < 8 {
			return nil, fmt.Errorf("%s: storage %q: file ends at byte %d, before its data", name, key, size)
		}
		cnt := int64(binary.LittleEndian.Uint64(nb[:]))
		if st.unsupported != "" {
			return nil, fmt.Errorf("%s: storage %q: %s is not supported", name, key, st.unsupported)
		}
		es := int64(st.dtype.Size())
		if cnt < 0 || cnt > (size-pos-8)/es {
			return nil, fmt.Errorf("%s: storage %q: %d %s elements need %s bytes at offset %d, file has %d", name, key, uint64(cnt), st.dtype, mulText(uint64(cnt), uint64(es)), pos+8, size)
		}
		st.data = io.NewSectionReader(f, pos+8, cnt*es)
		st.bytes, st.found = cnt*es, true
		pos += 8 + cnt*es
	}
	c := &Container{Source: name, Format: FormatPyTorchLegacy, Ordered: true}
	if err := buildTorch(c, obj, false, cfg); err != nil {
		return nil, err
	}
	return c, nil
}
