package svgplot

import (
	"math"
	"strconv"
	"strings"
)

// tick is one tick mark on an axis.
type tick struct {
	v     float64 // position in data units
	label string  // text under or beside the tick; "" for a minor (unlabelled) tick
	sup   string  // superscript written after label (the exponent of 10^k), or ""
}

// major reports whether the tick carries a label.
func (t tick) major() bool { return t.label != "" }

// tickSlack is the relative tolerance that lets a tick sitting on a range end
// (up to rounding) still count as inside the range.
const tickSlack = 1e-9

// linearTicks returns the ticks of a linear axis over [lo, hi]: every multiple
// of a step m·10^k (m in 1, 2, 5) that lies in the range, with the step chosen
// so that the range holds about five steps. Labels have as many decimals as
// the step needs. lo < hi is required.
func linearTicks(lo, hi float64) []tick {
	m, k := niceStep((hi - lo) / 5)
	step := scale10(float64(m), k)
	i0 := math.Ceil(lo/step - tickSlack)
	i1 := math.Floor(hi/step + tickSlack)
	if !(i1-i0 < 100) || i0+1 == i0 {
		// The range is too narrow for its magnitude to count in steps (or the
		// input is not a range at all): label its ends.
		return []tick{
			{v: lo, label: minusSign(strconv.FormatFloat(lo, 'g', 6, 64))},
			{v: hi, label: minusSign(strconv.FormatFloat(hi, 'g', 6, 64))},
		}
	}
	decimals := max(0, -k)
	large := math.Max(math.Abs(lo), math.Abs(hi)) >= 1e7
	var ticks []tick
	for i := i0; i <= i1; i++ {
		// i·m is an exact integer, so v is the correctly rounded decimal i·m·10^k
		// rather than an accumulation of rounding errors.
		v := scale10(i*float64(m), k)
		var s string
		switch {
		case v == 0:
			s = "0"
		case large || decimals > 8:
			s = strconv.FormatFloat(v, 'g', -1, 64)
		default:
			s = strconv.FormatFloat(v, 'f', decimals, 64)
		}
		ticks = append(ticks, tick{v: v, label: minusSign(s)})
	}
	return ticks
}

// niceStep returns m and k such that m·10^k (m in 1, 2, 5) is the "nice"
// number closest to raw on a roughly logarithmic scale.
func niceStep(raw float64) (m, k int) {
	k = int(math.Floor(math.Log10(raw)))
	f := raw / math.Pow10(k)
	switch {
	case f < 1.5:
		m = 1
	case f < 3:
		m = 2
	case f < 7:
		m = 5
	default:
		m, k = 1, k+1
	}
	return m, k
}

// scale10 returns x·10^k, dividing by 10^-k for negative k so that a decimal
// such as 3·10^-1 comes out as the float64 nearest 0.3.
func scale10(x float64, k int) float64 {
	if k < 0 {
		return x / math.Pow10(-k)
	}
	return x * math.Pow10(k)
}

// logTicks returns the ticks of a logarithmic axis over [lo, hi], 0 < lo < hi.
// Every power of ten in the range is labelled 10^k (every n-th one when there
// are more than eight), with unlabelled minor ticks at 2..9·10^k when every
// decade is labelled. A range holding fewer than two powers of ten is labelled
// at 1, 2 and 5·10^k instead, then at every j·10^k, and finally falls back to
// linear ticks.
func logTicks(lo, hi float64) []tick {
	l0, l1 := math.Log10(lo), math.Log10(hi)
	e0 := int(math.Ceil(l0 - tickSlack))
	e1 := int(math.Floor(l1 + tickSlack))
	in := func(v float64) bool {
		return v >= lo*(1-tickSlack) && v <= hi*(1+tickSlack)
	}
	if n := e1 - e0 + 1; n >= 2 {
		every := (n + 7) / 8
		var ticks []tick
		for d := int(math.Floor(l0)); d <= e1; d++ {
			v := math.Pow10(d)
			if d >= e0 && (d-e0)%every == 0 {
				ticks = append(ticks, tick{v: v, label: "10", sup: minusSign(strconv.Itoa(d))})
			}
			if every > 1 {
				continue
			}
			for j := 2; j <= 9; j++ {
				if w := scale10(float64(j), d); in(w) {
					ticks = append(ticks, tick{v: w})
				}
			}
		}
		return ticks
	}
	for _, ms := range [][]int{{1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}} {
		var ticks []tick
		for d := int(math.Floor(l0)); d <= int(math.Floor(l1)); d++ {
			for _, m := range ms {
				if v := scale10(float64(m), d); in(v) {
					ticks = append(ticks, tick{v: v, label: minusSign(strconv.FormatFloat(v, 'g', -1, 64))})
				}
			}
		}
		if len(ticks) >= 3 || (len(ticks) == 2 && len(ms) > 3) {
			return ticks
		}
	}
	return linearTicks(lo, hi)
}

// minusSign replaces an ASCII hyphen used as a minus sign with U+2212, which
// has the width of a digit.
func minusSign(s string) string {
	return strings.ReplaceAll(s, "-", "\u2212")
}
