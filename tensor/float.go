package tensor

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
)

// Float is a float64 whose JSON form also covers the values JSON numbers
// cannot hold: NaN, +Inf and -Inf are written as the strings "NaN",
// "Infinity" and "-Infinity" (the spellings Python's json module and
// JavaScript use). Finite values are written as JSON numbers, exactly as
// encoding/json writes a float64.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler. It accepts JSON numbers and
// the strings "NaN", "Infinity", "-Infinity" (also "inf", "+Infinity",
// "-inf"), and numbers written as strings.
func (f *Float) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN", "nan":
			*f = Float(math.NaN())
			return nil
		case "Infinity", "+Infinity", "inf", "+inf", "Inf":
			*f = Float(math.Inf(1))
			return nil
		case "-Infinity", "-inf", "-Inf":
			*f = Float(math.Inf(-1))
			return nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return errors.New("tensor.Float: not a number: " + strconv.Quote(s))
		}
		*f = Float(v)
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}
