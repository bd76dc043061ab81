package adapter

import (
	"fmt"
	"strings"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/nn"
)

// Placement says where adapters attach in each encoder layer.
type Placement string

// The placements petl implements.
const (
	// Houlsby places two adapters per layer, as in the paper: one on the
	// attention output projection and one on the feed-forward output
	// projection, each before its sublayer's residual add and layer norm.
	Houlsby Placement = "houlsby"
	// Pfeiffer places one adapter per layer, on the feed-forward output
	// projection (Pfeiffer et al., 2020).
	Pfeiffer Placement = "pfeiffer"
)

// ParsePlacement reads a placement name ("houlsby", "pfeiffer"; case
// ignored). The empty string gives Houlsby.
func ParsePlacement(s string) (Placement, error) {
	switch p := Placement(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return Houlsby, nil
	case Houlsby, Pfeiffer:
		return p, nil
	}
	return "", fmt.Errorf("adapter: unknown placement %q (want houlsby or pfeiffer)", s)
}

// Config describes the adapters of a model.
type Config struct {
	Size       int        // M, the bottleneck width (the paper uses 8, 64, 256)
	Placement  Placement  // default Houlsby
	Activation Activation // default GELU
	InitStd    float64    // std of the initial weights; 0 means DefaultInitStd
}

// withDefaults fills in the defaults and validates c.
func (c Config) withDefaults() (Config, error) {
	var err error
	if c.Placement, err = ParsePlacement(string(c.Placement)); err != nil {
		return c, err
	}
	if c.Activation, err = ParseActivation(string(c.Activation)); err != nil {
		return c, err
	}
	if c.InitStd == 0 {
		c.InitStd = DefaultInitStd
	}
	if c.Size <= 0 {
		return c, fmt.Errorf("adapter: size %d must be positive", c.Size)
	}
	if !(c.InitStd > 0) {
		return c, fmt.Errorf("adapter: initial standard deviation %v must be positive", c.InitStd)
	}
	return c, nil
}

// Set is the adapters attached to one model.
type Set struct {
	Config  Config
	Modules []*Module // in layer order; per layer the attention one (Houlsby only), then the feed-forward one
}

// Parameter name prefixes of the adapters of layer l.
func attnPrefix(l int) string { return fmt.Sprintf("encoder.layer.%d.attention.output.adapter", l) }
func ffPrefix(l int) string   { return fmt.Sprintf("encoder.layer.%d.output.adapter", l) }

// Attach creates adapters as cfg says, initialised near the identity from
// seed, and hooks them into m's encoder layers (replacing any adapters
// there).
func Attach(m *bert.Model, cfg Config, seed uint64) (*Set, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	C := m.Config.HiddenSize
	rng := nn.NewRNG(seed)
	s := &Set{Config: cfg}
	for l := range m.Layers {
		layer := &m.Layers[l]
		layer.AttnAdapter, layer.FFAdapter = nil, nil
		if cfg.Placement == Houlsby {
			md, err := NewModule(attnPrefix(l), C, cfg.Size, cfg.Activation, cfg.InitStd, rng)
			if err != nil {
				return nil, err
			}
			layer.AttnAdapter = md
			s.Modules = append(s.Modules, md)
		}
		md, err := NewModule(ffPrefix(l), C, cfg.Size, cfg.Activation, cfg.InitStd, rng)
		if err != nil {
			return nil, err
		}
		layer.FFAdapter = md
		s.Modules = append(s.Modules, md)
	}
	return s, nil
}

// Params returns every adapter parameter, module by module.
func (s *Set) Params() []*nn.Param {
	if s == nil {
		return nil
	}
	var ps []*nn.Param
	for _, md := range s.Modules {
		ps = append(ps, md.Params()...)
	}
	return ps
}

// Detach removes every adapter from m's layers.
func Detach(m *bert.Model) {
	for l := range m.Layers {
		m.Layers[l].AttnAdapter, m.Layers[l].FFAdapter = nil, nil
	}
}
