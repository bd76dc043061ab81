// Package svgplot draws scatter and line charts as standalone SVG documents,
// with nothing but the standard library.
//
// It is made for figures such as Figures 1 and 3 of Houlsby et al. 2019: the
// number of trained parameters per task on a logarithmic x axis, the score
// difference from full fine-tuning on a linear y axis, one series per method,
// optional error bars and a dashed reference line at y = 0.
//
// The output depends only on the Chart: the same chart always gives the same
// bytes. Coordinates are written with at most two decimals.
package svgplot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
)

// Default size of a chart in pixels, used when Chart.Width or Chart.Height is 0.
const (
	DefaultWidth  = 720
	DefaultHeight = 480
)

// Errors returned by WriteSVG, wrapped with the place of the problem.
var (
	// ErrNoPoints means that the chart has no series with points.
	ErrNoPoints = errors.New("svgplot: chart has no points")
	// ErrInvalid means that a value of the chart cannot be drawn: a NaN or
	// infinite coordinate, a non-positive x on a log axis, an unknown marker,
	// a negative size.
	ErrInvalid = errors.New("svgplot: invalid chart")
)

// Markers lists the marker names a Series may ask for, in the order in which
// series that leave Marker empty get them. Do not modify it.
var Markers = []string{"circle", "square", "triangle", "diamond"}

// palette is the colour-blind-safe palette of Okabe and Ito (2008), with its
// yellow moved last because it is hard to see on white.
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"}

// Point is one data point.
type Point struct {
	// X and Y are the position in data units.
	X, Y float64
	// YLow and YHigh are the ends of a vertical error bar in data units (for
	// example the minimum and maximum over seeds), not offsets from Y. No bar is
	// drawn when both are 0 or either is NaN.
	YLow, YHigh float64
	// Label is an optional short text drawn beside the point.
	Label string
}

// hasErrorBar reports whether p asks for an error bar.
func (p Point) hasErrorBar() bool {
	if math.IsNaN(p.YLow) || math.IsNaN(p.YHigh) {
		return false
	}
	return p.YLow != 0 || p.YHigh != 0
}

// Series is a named set of points drawn with one colour and one marker.
type Series struct {
	// Name is shown in the legend.
	Name string
	// Points are drawn in this order; an empty series only shows in the legend.
	Points []Point
	// Line joins the points with straight segments in increasing X order.
	Line bool
	// Marker is one of Markers. "" picks one by the series' index: Markers[i%4]
	// for the first eight series, then shifted by one for every eight more, so
	// that no two of the first 32 series look the same.
	Marker string
}

// Chart is a scatter or line chart. The zero value of every field but Series
// is usable.
type Chart struct {
	// Title is drawn above the plot; XLabel and YLabel name the axes. Each may
	// be empty.
	Title, XLabel, YLabel string
	// LogX makes the x axis logarithmic; every X must then be positive.
	LogX bool
	// Width and Height are the size of the picture in pixels; 0 means
	// DefaultWidth and DefaultHeight.
	Width, Height int
	// HLines are y values at which dashed horizontal reference lines are drawn
	// across the plot; the y range always includes them.
	HLines []float64
	// Series are drawn in order, so later series lie on top. The i-th series
	// gets the i-th colour of a fixed palette of eight.
	Series []Series
}

// WriteSVG checks the chart and writes it to w as a standalone SVG document.
// Nothing is written when the chart is invalid.
func (c *Chart) WriteSVG(w io.Writer) error {
	if c == nil {
		return fmt.Errorf("%w: nil chart", ErrNoPoints)
	}
	lay, err := c.layout()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	c.render(&buf, lay)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("svgplot: writing SVG: %w", err)
	}
	return nil
}

// validate checks every value WriteSVG needs to be finite and drawable.
func (c *Chart) validate() error {
	if c.Width < 0 || c.Height < 0 {
		return fmt.Errorf("%w: size %dx%d is negative", ErrInvalid, c.Width, c.Height)
	}
	n := 0
	for si, s := range c.Series {
		if _, err := c.marker(si); err != nil {
			return err
		}
		for pi, p := range s.Points {
			n++
			where := func() string { return fmt.Sprintf("series %d (%q) point %d", si, s.Name, pi) }
			switch {
			case !finite(p.X):
				return fmt.Errorf("%w: %s: x is %v", ErrInvalid, where(), p.X)
			case !finite(p.Y):
				return fmt.Errorf("%w: %s: y is %v", ErrInvalid, where(), p.Y)
			case c.LogX && p.X <= 0:
				return fmt.Errorf("%w: %s: x is %v, but a log x axis needs x > 0", ErrInvalid, where(), p.X)
			case math.IsInf(p.YLow, 0) || math.IsInf(p.YHigh, 0):
				return fmt.Errorf("%w: %s: error bar [%v, %v] is infinite", ErrInvalid, where(), p.YLow, p.YHigh)
			case p.hasErrorBar() && p.YLow > p.YHigh:
				return fmt.Errorf("%w: %s: error bar low %v is above high %v", ErrInvalid, where(), p.YLow, p.YHigh)
			}
		}
	}
	for i, h := range c.HLines {
		if !finite(h) {
			return fmt.Errorf("%w: HLines[%d] is %v", ErrInvalid, i, h)
		}
	}
	if n == 0 {
		return fmt.Errorf("%w (%d series)", ErrNoPoints, len(c.Series))
	}
	return nil
}

// marker returns the marker name of the i-th series.
func (c *Chart) marker(i int) (string, error) {
	m := c.Series[i].Marker
	if m == "" {
		// Shift by one marker after each round of the palette, so that the
		// first len(palette)*len(Markers) series differ in colour or marker.
		return Markers[(i+i/len(palette))%len(Markers)], nil
	}
	for _, k := range Markers {
		if m == k {
			return m, nil
		}
	}
	return "", fmt.Errorf("%w: series %d (%q): unknown marker %q (want one of %q)", ErrInvalid, i, c.Series[i].Name, m, Markers)
}

// colour returns the colour of the i-th series.
func colour(i int) string { return palette[i%len(palette)] }

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
