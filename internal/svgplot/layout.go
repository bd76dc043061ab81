package svgplot

import (
	"fmt"
	"math"
	"unicode/utf8"
)

// Sizes of the drawing, in pixels.
const (
	fontSize      = 12.0 // tick labels, legend, axis labels
	titleSize     = 15.0
	smallSize     = 10.0 // point labels, exponents
	charWidth     = 0.6  // estimated advance of one character, in font sizes
	tickLen       = 5.0
	minorTickLen  = 3.0
	margin        = 10.0 // around the picture
	legendRow     = 20.0 // height of one legend entry
	legendSwatch  = 26.0 // width of the line-and-marker sample in the legend
	legendGap     = 16.0 // between the plot and the legend, and between entries below
	markerRadius  = 4.5
	minPlotPixels = 40.0 // smallest plot area side that is still drawn
)

// axis maps data values of one axis to pixels.
type axis struct {
	log    bool
	lo, hi float64 // domain in data units: the padded data range
	p0, p1 float64 // pixel positions of lo and hi
	ticks  []tick
}

// pix returns the pixel position of the data value v.
func (a *axis) pix(v float64) float64 {
	t, l, h := v, a.lo, a.hi
	if a.log {
		t, l, h = math.Log10(t), math.Log10(l), math.Log10(h)
	}
	return a.p0 + (t-l)/(h-l)*(a.p1-a.p0)
}

// legendEntry is the place of one series in the legend: the left end of its
// sample and the middle of its row.
type legendEntry struct {
	x, y float64
}

// layout is where everything goes.
type layout struct {
	width, height            float64
	left, right, top, bottom float64 // edges of the plot area
	x, y                     axis
	legend                   []legendEntry // one per series
}

// layout checks the chart and places the plot area, the axes and the legend.
func (c *Chart) layout() (*layout, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	l := &layout{width: DefaultWidth, height: DefaultHeight}
	if c.Width > 0 {
		l.width = float64(c.Width)
	}
	if c.Height > 0 {
		l.height = float64(c.Height)
	}

	// Data ranges.
	xlo, xhi := math.Inf(1), math.Inf(-1)
	ylo, yhi := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			xlo, xhi = math.Min(xlo, p.X), math.Max(xhi, p.X)
			ylo, yhi = math.Min(ylo, p.Y), math.Max(yhi, p.Y)
			if p.hasErrorBar() {
				ylo, yhi = math.Min(ylo, p.YLow), math.Max(yhi, p.YHigh)
			}
		}
	}
	for _, h := range c.HLines {
		ylo, yhi = math.Min(ylo, h), math.Max(yhi, h)
	}
	var err error
	if l.x.lo, l.x.hi, err = padRange(xlo, xhi, c.LogX); err != nil {
		return nil, fmt.Errorf("%w: x values: %w", ErrInvalid, err)
	}
	if l.y.lo, l.y.hi, err = padRange(ylo, yhi, false); err != nil {
		return nil, fmt.Errorf("%w: y values: %w", ErrInvalid, err)
	}
	l.x.log = c.LogX
	if c.LogX {
		l.x.ticks = logTicks(l.x.lo, l.x.hi)
	} else {
		l.x.ticks = linearTicks(l.x.lo, l.x.hi)
	}
	l.y.ticks = linearTicks(l.y.lo, l.y.hi)

	// Margins: left holds the y tick labels and the y label, bottom the x tick
	// labels and the x label, top the title.
	yLabelWidth := 0.0
	for _, t := range l.y.ticks {
		yLabelWidth = math.Max(yLabelWidth, labelWidth(t))
	}
	l.left = margin + yLabelWidth + tickLen + 4
	if c.YLabel != "" {
		l.left += fontSize + 8
	}
	l.top = margin + 6
	if c.Title != "" {
		l.top = margin + titleSize + 14
	}
	bottomMargin := tickLen + 6 + fontSize + margin
	if c.XLabel != "" {
		bottomMargin += fontSize + 10
	}
	l.right = l.width - margin

	// Legend: to the right of the plot when it is narrow enough and fits in
	// height, otherwise in rows below the x label.
	widths := make([]float64, len(c.Series))
	widest := 0.0
	for i, s := range c.Series {
		widths[i] = legendSwatch + 6 + textWidth(s.Name, fontSize)
		widest = math.Max(widest, widths[i])
	}
	l.legend = make([]legendEntry, len(c.Series))
	rightWidth := legendGap + widest
	if rightWidth <= 0.3*l.width && float64(len(c.Series))*legendRow <= l.height-l.top-bottomMargin {
		l.right = l.width - margin - rightWidth
		for i := range c.Series {
			l.legend[i] = legendEntry{x: l.right + legendGap, y: l.top + legendRow/2 + float64(i)*legendRow}
		}
	} else if len(c.Series) > 0 {
		// Flow the entries left to right, wrapping at the picture's width.
		avail := l.width - 2*margin
		x, row := 0.0, 0
		for i, w := range widths {
			if x > 0 && x+w > avail {
				x, row = 0, row+1
			}
			l.legend[i] = legendEntry{x: margin + x, y: float64(row)*legendRow + legendRow/2}
			x += w + legendGap
		}
		rows := float64(row + 1)
		legendTop := l.height - margin - rows*legendRow
		for i := range l.legend {
			l.legend[i].y += legendTop
		}
		bottomMargin += rows*legendRow + 4
	}
	l.bottom = l.height - bottomMargin

	if l.right-l.left < minPlotPixels || l.bottom-l.top < minPlotPixels {
		return nil, fmt.Errorf("%w: %gx%g pixels leave no room for the plot (%.0fx%.0f); make the chart larger",
			ErrInvalid, l.width, l.height, math.Max(0, l.right-l.left), math.Max(0, l.bottom-l.top))
	}
	l.x.p0, l.x.p1 = l.left, l.right
	l.y.p0, l.y.p1 = l.bottom, l.top
	return l, nil
}

// padRange widens [lo, hi] by 5% of its span on each side (in log10 units
// when log is set), or by a fixed amount when lo == hi.
func padRange(lo, hi float64, log bool) (float64, float64, error) {
	if log {
		lo, hi = math.Log10(lo), math.Log10(hi)
	}
	span := hi - lo
	var pad float64
	switch {
	case !finite(span):
		return 0, 0, fmt.Errorf("range [%g, %g] is too wide to draw", lo, hi)
	case span > 0:
		pad = 0.05 * span
	case log:
		pad = 0.5 // half a decade
	case lo == 0:
		pad = 1
	default:
		pad = 0.1 * math.Abs(lo)
	}
	lo, hi = lo-pad, hi+pad
	if log {
		lo, hi = math.Pow(10, lo), math.Pow(10, hi)
	}
	if !finite(lo) || !finite(hi) || !(lo < hi) {
		return 0, 0, fmt.Errorf("range [%g, %g] cannot be drawn", lo, hi)
	}
	return lo, hi, nil
}

// textWidth estimates the width in pixels of s in a font of the given size.
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * size * charWidth
}

// labelWidth estimates the width in pixels of a tick label.
func labelWidth(t tick) float64 {
	return textWidth(t.label, fontSize) + textWidth(t.sup, smallSize)
}
