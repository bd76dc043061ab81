package svgplot

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Colours of the frame, text and guides.
const (
	inkColour   = "#222222"
	gridColour  = "#e6e6e6"
	hlineColour = "#555555"
)

// render writes the SVG document of c, placed by l, to b.
func (c *Chart) render(b *bytes.Buffer, l *layout) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w, h := num(l.width), num(l.height)
	p("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	p(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%s" height="%s" viewBox="0 0 %s %s" font-family="Helvetica, Arial, sans-serif" font-size="%s">`+"\n",
		w, h, w, h, num(fontSize))
	if c.Title != "" {
		p("<title>%s</title>\n", esc(c.Title))
	}
	p(`<rect class="background" x="0" y="0" width="%s" height="%s" fill="#ffffff"/>`+"\n", w, h)
	if c.Title != "" {
		p(`<text class="title" x="%s" y="%s" text-anchor="middle" font-size="%s" font-weight="bold" fill="%s">%s</text>`+"\n",
			num((l.left+l.right)/2), num(margin+titleSize), num(titleSize), inkColour, esc(c.Title))
	}

	// Grid at the labelled ticks, then the reference lines, then the frame.
	p(`<g class="grid" stroke="%s" stroke-width="1">`+"\n", gridColour)
	for _, t := range l.x.ticks {
		if t.major() {
			x := num(l.x.pix(t.v))
			p(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", x, num(l.top), x, num(l.bottom))
		}
	}
	for _, t := range l.y.ticks {
		if t.major() {
			y := num(l.y.pix(t.v))
			p(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(l.left), y, num(l.right), y)
		}
	}
	p("</g>\n")
	if len(c.HLines) > 0 {
		p(`<g class="hlines" stroke="%s" stroke-width="1" stroke-dasharray="6 4">`+"\n", hlineColour)
		for _, v := range c.HLines {
			y := num(l.y.pix(v))
			p(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(l.left), y, num(l.right), y)
		}
		p("</g>\n")
	}
	p(`<rect class="plot-area" x="%s" y="%s" width="%s" height="%s" fill="none" stroke="%s" stroke-width="1"/>`+"\n",
		num(l.left), num(l.top), num(l.right-l.left), num(l.bottom-l.top), inkColour)

	// Axes: tick marks pointing out of the plot, labels, axis names.
	p(`<g class="x-axis" fill="%s">`+"\n", inkColour)
	p(`<g class="ticks" stroke="%s" stroke-width="1">`+"\n", inkColour)
	for _, t := range l.x.ticks {
		x := num(l.x.pix(t.v))
		p(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", x, num(l.bottom), x, num(l.bottom+tickLength(t)))
	}
	p("</g>\n")
	p(`<g class="tick-labels" text-anchor="middle">` + "\n")
	for _, t := range l.x.ticks {
		if t.major() {
			writeTickLabel(b, t, l.x.pix(t.v), l.bottom+tickLen+4+fontSize)
		}
	}
	p("</g>\n")
	if c.XLabel != "" {
		p(`<text class="axis-label" x="%s" y="%s" text-anchor="middle">%s</text>`+"\n",
			num((l.left+l.right)/2), num(l.bottom+tickLen+6+2*fontSize+10), esc(c.XLabel))
	}
	p("</g>\n")

	p(`<g class="y-axis" fill="%s">`+"\n", inkColour)
	p(`<g class="ticks" stroke="%s" stroke-width="1">`+"\n", inkColour)
	for _, t := range l.y.ticks {
		y := num(l.y.pix(t.v))
		p(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(l.left-tickLength(t)), y, num(l.left), y)
	}
	p("</g>\n")
	p(`<g class="tick-labels" text-anchor="end">` + "\n")
	for _, t := range l.y.ticks {
		if t.major() {
			writeTickLabel(b, t, l.left-tickLen-3, l.y.pix(t.v)+0.35*fontSize)
		}
	}
	p("</g>\n")
	if c.YLabel != "" {
		x, y := num(margin+fontSize), num((l.top+l.bottom)/2)
		p(`<text class="axis-label" x="%s" y="%s" text-anchor="middle" transform="rotate(-90 %s %s)">%s</text>`+"\n",
			x, y, x, y, esc(c.YLabel))
	}
	p("</g>\n")

	// Series: line, error bars, markers, point labels.
	for i, s := range c.Series {
		col := colour(i)
		mk, _ := c.marker(i) // checked by validate
		p(`<g class="series s%d">`+"\n", i)
		if s.Name != "" {
			p("<title>%s</title>\n", esc(s.Name))
		}
		if s.Line && len(s.Points) > 1 {
			pts := slices.Clone(s.Points)
			slices.SortStableFunc(pts, func(a, b Point) int {
				switch {
				case a.X < b.X:
					return -1
				case a.X > b.X:
					return 1
				}
				return 0
			})
			coords := make([]string, len(pts))
			for j, pt := range pts {
				coords[j] = num(l.x.pix(pt.X)) + "," + num(l.y.pix(pt.Y))
			}
			p(`<polyline class="line" fill="none" stroke="%s" stroke-width="1.5" stroke-linejoin="round" points="%s"/>`+"\n",
				col, strings.Join(coords, " "))
		}
		if slices.ContainsFunc(s.Points, Point.hasErrorBar) {
			p(`<g class="error-bars" stroke="%s" stroke-width="1.2">`+"\n", col)
			for _, pt := range s.Points {
				if !pt.hasErrorBar() {
					continue
				}
				x := l.x.pix(pt.X)
				y0, y1 := num(l.y.pix(pt.YLow)), num(l.y.pix(pt.YHigh))
				xa, xb := num(x-3), num(x+3)
				p(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x), y0, num(x), y1)
				p(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, xa, y0, xb, y0)
				p(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", xa, y1, xb, y1)
			}
			p("</g>\n")
		}
		p(`<g class="markers" fill="%s" stroke="#ffffff" stroke-width="0.75">`+"\n", col)
		for _, pt := range s.Points {
			writeMarker(b, mk, "marker", l.x.pix(pt.X), l.y.pix(pt.Y))
		}
		p("</g>\n")
		if slices.ContainsFunc(s.Points, func(pt Point) bool { return pt.Label != "" }) {
			p(`<g class="point-labels" font-size="%s" fill="%s">`+"\n", num(smallSize), inkColour)
			for _, pt := range s.Points {
				if pt.Label != "" {
					p(`<text x="%s" y="%s">%s</text>`+"\n",
						num(l.x.pix(pt.X)+markerRadius+2), num(l.y.pix(pt.Y)-markerRadius-1), esc(pt.Label))
				}
			}
			p("</g>\n")
		}
		p("</g>\n")
	}

	// Legend.
	if len(c.Series) > 0 {
		p(`<g class="legend" fill="%s">`+"\n", inkColour)
		for i, s := range c.Series {
			e := l.legend[i]
			col := colour(i)
			mk, _ := c.marker(i)
			p(`<g class="legend-entry s%d">`, i)
			if s.Line {
				p(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5"/>`,
					num(e.x), num(e.y), num(e.x+legendSwatch), num(e.y), col)
			}
			p(`<g fill="%s" stroke="#ffffff" stroke-width="0.75">`, col)
			writeMarker(b, mk, "", e.x+legendSwatch/2, e.y)
			p(`</g><text x="%s" y="%s">%s</text></g>`+"\n", num(e.x+legendSwatch+6), num(e.y+0.35*fontSize), esc(s.Name))
		}
		p("</g>\n")
	}
	p("</svg>\n")
}

// tickLength returns the length of the tick mark of t.
func tickLength(t tick) float64 {
	if t.major() {
		return tickLen
	}
	return minorTickLen
}

// writeTickLabel writes the label of t with its baseline at (x, y), the
// exponent (if any) raised and smaller.
func writeTickLabel(b *bytes.Buffer, t tick, x, y float64) {
	fmt.Fprintf(b, `<text x="%s" y="%s">%s`, num(x), num(y), esc(t.label))
	if t.sup != "" {
		fmt.Fprintf(b, `<tspan dy="-5" font-size="%s">%s</tspan>`, num(smallSize), esc(t.sup))
	}
	b.WriteString("</text>\n")
}

// writeMarker writes a marker of the given kind centred on (cx, cy), with the
// given class attribute unless it is empty. Every shape is centred on (cx, cy):
// the centre of the circle and the square, the mean of the polygon's vertices.
func writeMarker(b *bytes.Buffer, kind, class string, cx, cy float64) {
	cl := ""
	if class != "" {
		cl = ` class="` + class + `"`
	}
	switch kind {
	case "circle":
		fmt.Fprintf(b, `<circle%s cx="%s" cy="%s" r="%s"/>`, cl, num(cx), num(cy), num(markerRadius))
	case "square":
		r := 0.9 * markerRadius // a square of the circle's area looks larger
		fmt.Fprintf(b, `<rect%s x="%s" y="%s" width="%s" height="%s"/>`, cl, num(cx-r), num(cy-r), num(2*r), num(2*r))
	case "triangle":
		r := 1.25 * markerRadius // an equilateral triangle inscribed in a circle of radius r
		dx := r * math.Sqrt(3) / 2
		fmt.Fprintf(b, `<polygon%s points="%s,%s %s,%s %s,%s"/>`, cl,
			num(cx), num(cy-r), num(cx+dx), num(cy+r/2), num(cx-dx), num(cy+r/2))
	case "diamond":
		r := 1.2 * markerRadius
		fmt.Fprintf(b, `<polygon%s points="%s,%s %s,%s %s,%s %s,%s"/>`, cl,
			num(cx), num(cy-r), num(cx+r), num(cy), num(cx), num(cy+r), num(cx-r), num(cy))
	}
	b.WriteByte('\n')
}

// num formats a pixel coordinate with at most two decimals and no trailing
// zeros, so that equal inputs always give equal text.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

// esc returns s escaped for XML character data.
func esc(s string) string {
	var sb strings.Builder
	_ = xml.EscapeText(&sb, []byte(s)) // a strings.Builder never fails
	return sb.String()
}
