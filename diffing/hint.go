package diffing

// TensorHint is one diagnosis of a failing pair of tensors.
type TensorHint struct {
	Kind     string `json:"kind"`     // stable identifier, e.g. "scaled", "transposed"
	Summary  string `json:"summary"`  // one line for people, e.g. "ours ≈ 0.125 × ref (1/sqrt(64))"
	Evidence string `json:"evidence"` // the numbers behind it
}

// HistBin counts the finite pairs whose |ours - ref| lies in [Lo, Hi).
// The first bin may be [0, 0] (exact matches).
type HistBin struct {
	Lo    Float `json:"lo"`
	Hi    Float `json:"hi"`
	Count int64 `json:"count"`
}

func shapeHints(ref, ours Tensor, res *Result) []TensorHint { return nil }

func diagnose(ref, ours Tensor, res *Result, workers int) error { return nil }
