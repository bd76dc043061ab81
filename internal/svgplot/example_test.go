package svgplot_test

import (
	"bytes"
	"fmt"
	"log"
	"strings"

	"github.com/petl-go/petl/internal/svgplot"
)

// A chart in the style of Figure 1 of Houlsby et al. 2019: trained parameters
// per task on a log axis, the score difference from full fine-tuning on the
// y axis, and a dashed line at zero.
func ExampleChart_WriteSVG() {
	c := &svgplot.Chart{
		Title:  "Accuracy versus trained parameters",
		XLabel: "trained parameters per task / base model",
		YLabel: "accuracy − full fine-tuning (% points)",
		LogX:   true,
		HLines: []float64{0},
		Series: []svgplot.Series{
			{Name: "adapters (8, 64, 256)", Line: true, Points: []svgplot.Point{
				{X: 0.002, Y: -1.1, Label: "8"},
				{X: 0.012, Y: -0.6, Label: "64"},
				{X: 0.036, Y: -0.4, YLow: -0.9, YHigh: 0.1, Label: "256"},
			}},
			{Name: "top-k layers", Line: true, Points: []svgplot.Point{
				{X: 0.001, Y: -3.2}, {X: 0.08, Y: -1.5}, {X: 0.5, Y: -0.3},
			}},
			{Name: "full fine-tuning", Points: []svgplot.Point{{X: 1, Y: 0}}},
		},
	}
	var buf bytes.Buffer
	if err := c.WriteSVG(&buf); err != nil {
		log.Fatal(err)
	}
	svg := buf.String()
	fmt.Println(strings.SplitN(svg, "\n", 2)[0])
	fmt.Println("circles:", strings.Count(svg, `<circle class="marker"`))
	fmt.Println("squares:", strings.Count(svg, `<rect class="marker"`))
	fmt.Println("triangles:", strings.Count(svg, `<polygon class="marker"`))
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// circles: 3
	// squares: 3
	// triangles: 1
}
