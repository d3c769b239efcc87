package synclayer

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"strconv"
	"strings"
)

// Money is an exact decimal amount, such as 409.94, kept as the decimal
// text the platform sent and never rounded through float64. The zero value
// is "no amount". Sums and differences are exact and keep the larger number
// of fraction digits, so 409.94 - 409.94 is 0.00. Money has no currency;
// the record that holds it does.
type Money struct{ s string }

// maxExponent bounds the exponent of a number such as 1e3, so a hostile
// 1e999999999 cannot make a gigabyte of zeros.
const maxExponent = 40

// ParseMoney reads a decimal: an optional minus, digits, an optional
// fraction, and an optional exponent (a JSON number literal). A blank
// string is the zero Money. Anything else is an EINVALID error.
func ParseMoney(s string) (Money, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Money{}, nil
	}
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	mant, exp, hasExp := strings.Cut(body, "e")
	if !hasExp {
		mant, exp, hasExp = strings.Cut(body, "E")
	}
	whole, frac, hasDot := strings.Cut(mant, ".")
	if !digits(whole) || (hasDot && !digits(frac)) {
		return Money{}, Errorf(EINVALID, "%q is not a decimal amount: write it like 199.65", clipText(s))
	}
	shift := 0
	if hasExp {
		n, err := strconv.Atoi(strings.TrimPrefix(exp, "+"))
		if err != nil || n > maxExponent || n < -maxExponent || exp == "" || strings.HasPrefix(exp, "+-") {
			return Money{}, Errorf(EINVALID, "%q is not a decimal amount: write it like 199.65", clipText(s))
		}
		shift = n
	}
	// Move the decimal point shift places right (left when negative).
	all := whole + frac
	point := len(whole) + shift
	switch {
	case point <= 0:
		all = strings.Repeat("0", 1-point) + all
		point = 1
	case point > len(all):
		all += strings.Repeat("0", point-len(all))
	}
	whole, frac = strings.TrimLeft(all[:point], "0"), all[point:]
	if whole == "" {
		whole = "0"
	}
	out := whole
	if frac != "" {
		out += "." + frac
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return Money{s: out}, nil
}

// MustMoney is ParseMoney for constants; it panics on a bad literal.
func MustMoney(s string) Money {
	m, err := ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return m
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsZero reports whether m is no amount (not an amount of 0).
func (m Money) IsZero() bool { return m.s == "" }

// String returns the decimal text, or "" for no amount.
func (m Money) String() string { return m.s }

// scale is the number of fraction digits.
func (m Money) scale() int {
	if _, frac, ok := strings.Cut(m.s, "."); ok {
		return len(frac)
	}
	return 0
}

// unscaled returns m times 10^scale as an integer.
func (m Money) unscaled(scale int) *big.Int {
	v := new(big.Int)
	if m.s == "" {
		return v
	}
	digits := strings.Replace(m.s, ".", "", 1) + strings.Repeat("0", scale-m.scale())
	v.SetString(digits, 10)
	return v
}

func fromUnscaled(v *big.Int, scale int) Money {
	neg := v.Sign() < 0
	s := new(big.Int).Abs(v).String()
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return Money{s: s}
}

// Add returns m + o exactly; no amount counts as 0.
func (m Money) Add(o Money) Money {
	sc := max(m.scale(), o.scale())
	return fromUnscaled(new(big.Int).Add(m.unscaled(sc), o.unscaled(sc)), sc)
}

// Sub returns m - o exactly; no amount counts as 0.
func (m Money) Sub(o Money) Money {
	sc := max(m.scale(), o.scale())
	return fromUnscaled(new(big.Int).Sub(m.unscaled(sc), o.unscaled(sc)), sc)
}

// Cmp compares the amounts: -1, 0 or +1. No amount counts as 0, and 9.9
// equals 9.90.
func (m Money) Cmp(o Money) int {
	sc := max(m.scale(), o.scale())
	return m.unscaled(sc).Cmp(o.unscaled(sc))
}

// Sign returns -1, 0 or +1.
func (m Money) Sign() int { return m.Cmp(Money{}) }

// Abs returns |m|.
func (m Money) Abs() Money {
	if m.Sign() < 0 {
		return Money{s: strings.TrimPrefix(m.s, "-")}
	}
	return m
}

// MarshalJSON writes the amount as a JSON number literal, digit for digit
// as held, or null for no amount.
func (m Money) MarshalJSON() ([]byte, error) {
	if m.s == "" {
		return []byte("null"), nil
	}
	return []byte(m.s), nil
}

// UnmarshalJSON reads a JSON number, a decimal string such as "409.94", or
// null.
func (m *Money) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*m = Money{}
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := ParseMoney(s)
	if err != nil {
		return errors.New(ErrorMessage(err))
	}
	*m = v
	return nil
}

func clipText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
