package svgplot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// node is a generic XML element, enough to walk an SVG document.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []node     `xml:",any"`
}

func (n *node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *node) num(t *testing.T, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attr(name), 64)
	require.NoError(t, err, "<%s %s=%q>", n.XMLName.Local, name, n.attr(name))
	return v
}

func (n *node) hasClass(c string) bool {
	return strings.Contains(" "+n.attr("class")+" ", " "+c+" ")
}

// find returns every element below n (n included) with the given class.
func (n *node) find(class string) []*node {
	var out []*node
	if n.hasClass(class) {
		out = append(out, n)
	}
	for i := range n.Nodes {
		out = append(out, n.Nodes[i].find(class)...)
	}
	return out
}

// fullText returns the character data of n and its children.
func (n *node) fullText() string {
	s := n.Text
	for i := range n.Nodes {
		s += n.Nodes[i].fullText()
	}
	return s
}

// render writes c and parses the result, checking that it is well-formed XML
// with an <svg> root.
func render(t *testing.T, c *Chart) (*node, []byte) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, c.WriteSVG(&buf))
	// A token-by-token pass catches anything Unmarshal might skip.
	d := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	for {
		_, err := d.Token()
		if err != nil {
			require.ErrorIs(t, err, io.EOF, "SVG is not well-formed XML:\n%s", buf.String())
			break
		}
	}
	var root node
	require.NoError(t, xml.Unmarshal(buf.Bytes(), &root))
	require.Equal(t, "svg", root.XMLName.Local)
	require.Equal(t, "http://www.w3.org/2000/svg", root.XMLName.Space)
	return &root, buf.Bytes()
}

// markerCentre returns the centre of a marker element: the centre of a circle
// or rect, the mean of a polygon's vertices.
func markerCentre(t *testing.T, n *node) (x, y float64) {
	t.Helper()
	switch n.XMLName.Local {
	case "circle":
		return n.num(t, "cx"), n.num(t, "cy")
	case "rect":
		return n.num(t, "x") + n.num(t, "width")/2, n.num(t, "y") + n.num(t, "height")/2
	case "polygon":
		pts := parsePoints(t, n.attr("points"))
		for _, p := range pts {
			x += p[0] / float64(len(pts))
			y += p[1] / float64(len(pts))
		}
		return x, y
	}
	t.Fatalf("unexpected marker element <%s>", n.XMLName.Local)
	return 0, 0
}

func parsePoints(t *testing.T, s string) [][2]float64 {
	t.Helper()
	var out [][2]float64
	for _, f := range strings.Fields(s) {
		xs, ys, ok := strings.Cut(f, ",")
		require.True(t, ok, "point %q", f)
		x, err := strconv.ParseFloat(xs, 64)
		require.NoError(t, err)
		y, err := strconv.ParseFloat(ys, 64)
		require.NoError(t, err)
		out = append(out, [2]float64{x, y})
	}
	return out
}

// markers returns the marker elements of series i in document order.
func markers(t *testing.T, root *node, i int) []*node {
	t.Helper()
	groups := root.find("s" + strconv.Itoa(i))
	var series *node
	for _, g := range groups {
		if g.hasClass("series") {
			series = g
		}
	}
	require.NotNil(t, series, "series %d group", i)
	var out []*node
	for _, m := range series.find("markers") {
		for j := range m.Nodes {
			out = append(out, &m.Nodes[j])
		}
	}
	return out
}

// houlsbyChart is a chart shaped like Figure 1 of Houlsby et al. 2019.
func houlsbyChart() *Chart {
	return &Chart{
		Title:  "GLUE: accuracy vs trained parameters",
		XLabel: "trained parameters per task (fraction of base)",
		YLabel: "difference from full fine-tuning (%)",
		LogX:   true,
		HLines: []float64{0},
		Series: []Series{
			{Name: "adapters (8, 64, 256)", Line: true, Points: []Point{
				{X: 0.036, Y: -0.4, YLow: -0.9, YHigh: 0.1, Label: "256"},
				{X: 2e-3, Y: -1.1, YLow: -1.6, YHigh: -0.7, Label: "8"},
				{X: 1.2e-2, Y: -0.6, Label: "64"},
			}},
			{Name: "top-k layers", Line: true, Points: []Point{
				{X: 1e-3, Y: -3.2}, {X: 0.08, Y: -1.5}, {X: 0.5, Y: -0.3},
			}},
			{Name: "layer norm + head", Marker: "triangle", Points: []Point{{X: 1e-4, Y: -2.9}}},
			{Name: "full fine-tuning", Marker: "diamond", Points: []Point{{X: 1, Y: 0}}},
		},
	}
}

func TestLinearTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		want   []float64
		labels []string
	}{
		{0, 1, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}, []string{"0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{-3.2, 0.4, []float64{-3, -2, -1, 0}, []string{"−3", "−2", "−1", "0"}},
		{-0.05, 1.05, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}, nil},
		{0, 100, []float64{0, 20, 40, 60, 80, 100}, []string{"0", "20", "40", "60", "80", "100"}},
		{0.001, 0.0042, []float64{0.001, 0.0015, 0.002, 0.0025, 0.003, 0.0035, 0.004}, []string{"0.0010", "0.0015", "0.0020", "0.0025", "0.0030", "0.0035", "0.0040"}},
		{-12, -7, []float64{-12, -11, -10, -9, -8, -7}, nil},
		{97.3, 98.9, []float64{97.5, 98, 98.5}, []string{"97.5", "98.0", "98.5"}},
	}
	for _, tc := range cases {
		ticks := linearTicks(tc.lo, tc.hi)
		var got []float64
		var labels []string
		for _, tk := range ticks {
			got = append(got, tk.v)
			labels = append(labels, tk.label)
			assert.True(t, tk.major(), "[%g, %g]: every linear tick is labelled", tc.lo, tc.hi)
		}
		assert.Equal(t, tc.want, got, "ticks of [%g, %g]", tc.lo, tc.hi)
		if tc.labels != nil {
			assert.Equal(t, tc.labels, labels, "labels of [%g, %g]", tc.lo, tc.hi)
		}
	}
}

func TestNiceStepIs125(t *testing.T) {
	for raw := 1e-6; raw < 1e6; raw *= 1.37 {
		m, k := niceStep(raw)
		assert.Contains(t, []int{1, 2, 5}, m)
		step := scale10(float64(m), k)
		// The nice step is within a factor 2.5 of the raw one either way.
		assert.True(t, step/raw < 2.5 && raw/step < 2.5, "raw %g -> step %g", raw, step)
	}
}

func TestLogTicks(t *testing.T) {
	type want struct {
		major  []float64
		sups   []string // exponents of the labels, when they are powers of ten
		labels []string // plain labels otherwise
		minor  int
	}
	cases := []struct {
		lo, hi float64
		want   want
	}{
		{1e-4, 1, want{major: []float64{1e-4, 1e-3, 1e-2, 1e-1, 1}, sups: []string{"−4", "−3", "−2", "−1", "0"}, minor: 4 * 8}},
		// The sweep's range, padded: minor ticks below 1e-4 and at 2e0 are in.
		{6e-5, 2.5, want{major: []float64{1e-4, 1e-3, 1e-2, 1e-1, 1}, sups: []string{"−4", "−3", "−2", "−1", "0"}, minor: 4 + 4*8 + 1}},
		{1e-6, 1e6, want{major: []float64{1e-6, 1e-4, 1e-2, 1, 1e2, 1e4, 1e6}, sups: []string{"−6", "−4", "−2", "0", "2", "4", "6"}}},
		{0.3, 3, want{major: []float64{0.5, 1, 2}, labels: []string{"0.5", "1", "2"}}},
		{0.02, 0.08, want{major: []float64{0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08}, labels: []string{"0.02", "0.03", "0.04", "0.05", "0.06", "0.07", "0.08"}}},
	}
	for _, tc := range cases {
		var got want
		for _, tk := range logTicks(tc.lo, tc.hi) {
			assert.True(t, tk.v >= tc.lo && tk.v <= tc.hi, "[%g, %g]: tick %g outside", tc.lo, tc.hi, tk.v)
			if !tk.major() {
				got.minor++
				continue
			}
			got.major = append(got.major, tk.v)
			if tk.sup != "" {
				assert.Equal(t, "10", tk.label)
				got.sups = append(got.sups, tk.sup)
			} else {
				got.labels = append(got.labels, tk.label)
			}
		}
		assert.Equal(t, tc.want, got, "log ticks of [%g, %g]", tc.lo, tc.hi)
	}
}

func TestPointsDrawnAtTheirPixels(t *testing.T) {
	c := houlsbyChart()
	root, _ := render(t, c)
	l, err := c.layout()
	require.NoError(t, err)

	// The plot area in the document is the one the layout computed.
	areas := root.find("plot-area")
	require.Len(t, areas, 1)
	area := areas[0]
	left, top := area.num(t, "x"), area.num(t, "y")
	right, bottom := left+area.num(t, "width"), top+area.num(t, "height")
	assert.InDelta(t, l.left, left, 0.01)
	assert.InDelta(t, l.right, right, 0.01)
	assert.InDelta(t, l.top, top, 0.01)
	assert.InDelta(t, l.bottom, bottom, 0.01)

	// The domain holds every point, error bar and reference line.
	xlo, xhi := math.Log10(1e-4), math.Log10(1.0)
	ylo, yhi := -3.2, 0.1
	assert.InDelta(t, xlo-0.05*(xhi-xlo), math.Log10(l.x.lo), 1e-12)
	assert.InDelta(t, xhi+0.05*(xhi-xlo), math.Log10(l.x.hi), 1e-12)
	assert.InDelta(t, ylo-0.05*(yhi-ylo), l.y.lo, 1e-12)
	assert.InDelta(t, yhi+0.05*(yhi-ylo), l.y.hi, 1e-12)

	// Expected pixels, from the plot rectangle and the domain alone.
	wantX := func(x float64) float64 {
		lx, llo, lhi := math.Log10(x), math.Log10(l.x.lo), math.Log10(l.x.hi)
		return left + (lx-llo)/(lhi-llo)*(right-left)
	}
	wantY := func(y float64) float64 {
		return bottom - (y-l.y.lo)/(l.y.hi-l.y.lo)*(bottom-top)
	}
	// The extreme data values sit 5/110 of the plot inside its edges.
	const inset = 0.05 / 1.1
	assert.InDelta(t, left+inset*(right-left), wantX(1e-4), 1e-9)
	assert.InDelta(t, right-inset*(right-left), wantX(1), 1e-9)
	assert.InDelta(t, bottom-inset*(bottom-top), wantY(-3.2), 1e-9)

	wantElem := []string{"circle", "rect", "polygon", "polygon"}
	for i, s := range c.Series {
		ms := markers(t, root, i)
		require.Len(t, ms, len(s.Points), "series %d", i)
		for j, p := range s.Points {
			assert.Equal(t, wantElem[i], ms[j].XMLName.Local, "series %d marker", i)
			x, y := markerCentre(t, ms[j])
			assert.InDelta(t, wantX(p.X), x, 0.02, "series %d point %d x", i, j)
			assert.InDelta(t, wantY(p.Y), y, 0.02, "series %d point %d y", i, j)
			assert.True(t, x > left && x < right && y > top && y < bottom, "series %d point %d inside the plot", i, j)
		}
	}

	// Lines join the points in increasing x order.
	for i, s := range c.Series {
		var lines []*node
		for _, g := range root.find("s" + strconv.Itoa(i)) {
			if g.hasClass("series") {
				lines = g.find("line")
			}
		}
		if !s.Line {
			assert.Empty(t, lines, "series %d has no line", i)
			continue
		}
		require.Len(t, lines, 1, "series %d", i)
		pts := parsePoints(t, lines[0].attr("points"))
		require.Len(t, pts, len(s.Points))
		for j := 1; j < len(pts); j++ {
			assert.Less(t, pts[j-1][0], pts[j][0], "series %d line goes left to right", i)
		}
	}

	// Error bars: a vertical line from YLow to YHigh (plus two caps) per point
	// that has one.
	bars := root.find("error-bars")
	require.Len(t, bars, 1)
	var vertical [][4]float64
	for _, ln := range bars[0].Nodes {
		x1, y1, x2, y2 := ln.num(t, "x1"), ln.num(t, "y1"), ln.num(t, "x2"), ln.num(t, "y2")
		if x1 == x2 {
			vertical = append(vertical, [4]float64{x1, y1, x2, y2})
		}
	}
	require.Len(t, vertical, 2)
	for k, p := range c.Series[0].Points[:2] {
		assert.InDelta(t, wantX(p.X), vertical[k][0], 0.01)
		assert.InDelta(t, wantY(p.YLow), vertical[k][1], 0.01)
		assert.InDelta(t, wantY(p.YHigh), vertical[k][3], 0.01)
	}

	// The reference line at y = 0 spans the plot.
	hl := root.find("hlines")
	require.Len(t, hl, 1)
	require.Len(t, hl[0].Nodes, 1)
	ln := hl[0].Nodes[0]
	assert.InDelta(t, wantY(0), ln.num(t, "y1"), 0.01)
	assert.InDelta(t, left, ln.num(t, "x1"), 0.01)
	assert.InDelta(t, right, ln.num(t, "x2"), 0.01)

	// Tick labels sit under their ticks: 10^-2 at x = wantX(0.01).
	xaxis := root.find("x-axis")
	require.Len(t, xaxis, 1)
	found := false
	for _, lab := range xaxis[0].find("tick-labels")[0].Nodes {
		if lab.fullText() == "10−2" {
			assert.InDelta(t, wantX(0.01), lab.num(t, "x"), 0.01)
			found = true
		}
	}
	assert.True(t, found, "x tick label 10^-2")
	yaxis := root.find("y-axis")
	require.Len(t, yaxis, 1)
	var ylabels []string
	for _, lab := range yaxis[0].find("tick-labels")[0].Nodes {
		ylabels = append(ylabels, lab.fullText())
	}
	assert.Equal(t, []string{"−3", "−2", "−1", "0"}, ylabels)
}

func TestLinearAxesAndDefaults(t *testing.T) {
	c := &Chart{Series: []Series{
		{Name: "a", Points: []Point{{X: 0, Y: 0}, {X: 1, Y: 1}}},
		{Name: "b", Points: []Point{{X: 0.5, Y: 0.25}}},
	}}
	root, _ := render(t, c)
	assert.Equal(t, strconv.Itoa(DefaultWidth), root.attr("width"))
	assert.Equal(t, strconv.Itoa(DefaultHeight), root.attr("height"))
	area := root.find("plot-area")[0]
	left, top := area.num(t, "x"), area.num(t, "y")
	w, h := area.num(t, "width"), area.num(t, "height")
	// Domain [-0.05, 1.05] on both axes.
	for i, s := range c.Series {
		for j, p := range s.Points {
			x, y := markerCentre(t, markers(t, root, i)[j])
			assert.InDelta(t, left+(p.X+0.05)/1.1*w, x, 0.02, "series %d point %d", i, j)
			assert.InDelta(t, top+h-(p.Y+0.05)/1.1*h, y, 0.02, "series %d point %d", i, j)
		}
	}
	// Default markers and colours differ between series.
	assert.Equal(t, "circle", markers(t, root, 0)[0].XMLName.Local)
	assert.Equal(t, "rect", markers(t, root, 1)[0].XMLName.Local)
	assert.NotEqual(t, root.find("s0")[0].find("markers")[0].attr("fill"), root.find("s1")[0].find("markers")[0].attr("fill"))
}

func TestDefaultStylesDistinct(t *testing.T) {
	seen := map[string]bool{}
	for i := range palette {
		assert.False(t, seen[colour(i)], "colour %d repeats", i)
		seen[colour(i)] = true
	}
	// Default styles: no two of the first 32 series share colour and marker.
	c := &Chart{Series: make([]Series, 32)}
	styles := map[[2]string]int{}
	for i := range c.Series {
		mk, err := c.marker(i)
		require.NoError(t, err)
		if i < len(Markers) {
			assert.Equal(t, Markers[i], mk)
		}
		key := [2]string{colour(i), mk}
		if j, dup := styles[key]; dup {
			t.Errorf("series %d and %d both %v", j, i, key)
		}
		styles[key] = i
	}
}

func TestSinglePointAndFlatRange(t *testing.T) {
	for _, c := range []*Chart{
		{Series: []Series{{Points: []Point{{X: 3, Y: 7}}}}},
		{Series: []Series{{Points: []Point{{X: 0, Y: 0}}}}},
		{LogX: true, Series: []Series{{Points: []Point{{X: 0.01, Y: -2}, {X: 0.01, Y: -2}}}}},
	} {
		root, _ := render(t, c)
		l, err := c.layout()
		require.NoError(t, err)
		p := c.Series[0].Points[0]
		x, y := markerCentre(t, markers(t, root, 0)[0])
		// A single value sits in the middle of the plot.
		assert.InDelta(t, (l.left+l.right)/2, x, 0.02)
		assert.InDelta(t, (l.top+l.bottom)/2, y, 0.02)
		assert.True(t, l.x.lo < p.X && p.X < l.x.hi && l.y.lo < p.Y && p.Y < l.y.hi)
		assert.GreaterOrEqual(t, len(l.y.ticks), 2, "y ticks of a flat range")
	}
}

func TestLegendOutsidePlot(t *testing.T) {
	short := houlsbyChart()
	long := houlsbyChart()
	long.Series[0].Name = strings.Repeat("adapters with a very long description ", 3)
	many := houlsbyChart()
	for i := range 30 {
		many.Series = append(many.Series, Series{Name: "s" + strconv.Itoa(i), Points: []Point{{X: 0.1, Y: float64(i)}}})
	}
	for name, c := range map[string]*Chart{"short": short, "long": long, "many": many} {
		root, _ := render(t, c)
		area := root.find("plot-area")[0]
		right := area.num(t, "x") + area.num(t, "width")
		bottom := area.num(t, "y") + area.num(t, "height")
		legend := root.find("legend")
		require.Len(t, legend, 1, name)
		entries := legend[0].find("legend-entry")
		require.Len(t, entries, len(c.Series), name)
		below := false
		for _, e := range entries {
			var text *node
			for k := range e.Nodes {
				if e.Nodes[k].XMLName.Local == "text" {
					text = &e.Nodes[k]
				}
			}
			require.NotNil(t, text, name)
			x, y := text.num(t, "x"), text.num(t, "y")
			assert.True(t, x > right || y > bottom+fontSize, "%s: legend text at (%g, %g) inside the plot", name, x, y)
			below = below || x < right
		}
		assert.Equal(t, name != "short", below, "%s: legend below the plot", name)
	}
}

func TestEscaping(t *testing.T) {
	nasty := `<b>"AT&T" 'x' ]]> </svg>`
	c := &Chart{
		Title: nasty, XLabel: nasty, YLabel: nasty,
		Series: []Series{{Name: nasty + "\x01", Points: []Point{{X: 1, Y: 2, Label: nasty}}}},
	}
	root, raw := render(t, c)
	assert.NotContains(t, string(raw), "<b>")
	assert.Equal(t, nasty, root.find("title")[0].fullText())
	for _, lab := range root.find("axis-label") {
		assert.Equal(t, nasty, lab.fullText())
	}
	assert.Equal(t, nasty, root.find("point-labels")[0].Nodes[0].fullText())
	// The control character, which XML 1.0 cannot carry, became U+FFFD.
	assert.Contains(t, root.find("legend-entry")[0].fullText(), nasty+"\uFFFD")
}

func TestDeterministic(t *testing.T) {
	_, a := render(t, houlsbyChart())
	_, b := render(t, houlsbyChart())
	assert.True(t, bytes.Equal(a, b), "same chart, different bytes")
	// Drawing does not reorder the caller's points.
	c := houlsbyChart()
	render(t, c)
	assert.Equal(t, houlsbyChart().Series, c.Series)
}

func TestErrors(t *testing.T) {
	pts := func(ps ...Point) []Point { return ps }
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name  string
		chart *Chart
		is    error
		msg   string
	}{
		{"nil chart", nil, ErrNoPoints, ""},
		{"no series", &Chart{}, ErrNoPoints, "0 series"},
		{"empty series", &Chart{Series: []Series{{Name: "a"}, {Name: "b"}}}, ErrNoPoints, "2 series"},
		{"NaN x", &Chart{Series: []Series{{Name: "a", Points: pts(Point{X: 1}, Point{X: nan})}}}, ErrInvalid, `series 0 ("a") point 1: x is NaN`},
		{"Inf y", &Chart{Series: []Series{{Name: "a", Points: pts(Point{Y: -inf})}}}, ErrInvalid, `series 0 ("a") point 0: y is -Inf`},
		{"zero x on log axis", &Chart{LogX: true, Series: []Series{
			{Name: "a", Points: pts(Point{X: 1})},
			{Name: "b", Points: pts(Point{X: 1}, Point{X: 2}, Point{X: 0})},
		}}, ErrInvalid, `series 1 ("b") point 2: x is 0, but a log x axis needs x > 0`},
		{"negative x on log axis", &Chart{LogX: true, Series: []Series{{Name: "a", Points: pts(Point{X: -0.5})}}}, ErrInvalid, `point 0: x is -0.5`},
		{"infinite error bar", &Chart{Series: []Series{{Name: "a", Points: pts(Point{YLow: -1, YHigh: inf})}}}, ErrInvalid, "error bar"},
		{"inverted error bar", &Chart{Series: []Series{{Name: "a", Points: pts(Point{YLow: 1, YHigh: -1})}}}, ErrInvalid, "low 1 is above high -1"},
		{"NaN reference line", &Chart{HLines: []float64{0, nan}, Series: []Series{{Points: pts(Point{})}}}, ErrInvalid, "HLines[1] is NaN"},
		{"unknown marker", &Chart{Series: []Series{{Name: "a", Marker: "star", Points: pts(Point{})}}}, ErrInvalid, `unknown marker "star"`},
		{"negative size", &Chart{Width: -1, Series: []Series{{Points: pts(Point{})}}}, ErrInvalid, "negative"},
		{"too small", &Chart{Width: 60, Height: 60, Series: []Series{{Points: pts(Point{})}}}, ErrInvalid, "no room"},
		{"range overflows", &Chart{Series: []Series{{Points: pts(Point{X: -math.MaxFloat64}, Point{X: math.MaxFloat64})}}}, ErrInvalid, "x values"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := tc.chart.WriteSVG(&buf)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.is)
			assert.Contains(t, err.Error(), tc.msg)
			assert.Zero(t, buf.Len(), "nothing written on error")
		})
	}
}

func TestNaNErrorBarIgnored(t *testing.T) {
	c := &Chart{Series: []Series{{Points: []Point{{X: 1, Y: 1, YLow: math.NaN(), YHigh: 5}, {X: 2, Y: 2}}}}}
	root, _ := render(t, c)
	assert.Empty(t, root.find("error-bars"))
	l, err := c.layout()
	require.NoError(t, err)
	assert.Less(t, l.y.hi, 5.0, "an ignored error bar does not widen the range")
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	err := houlsbyChart().WriteSVG(failingWriter{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk full")
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", -0.001: "0", 1.5: "1.5", 100: "100", -2.346: "-2.35", 0.1: "0.1", 12.999: "13"} {
		assert.Equal(t, want, num(v), "num(%v)", v)
	}
}
