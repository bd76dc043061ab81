package adapter

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/petl-go/petl/bert"
	"github.com/stretchr/testify/require"
)

// tinyConfig is a small BERT for tests: V 40, C 16, L 3, NH 2, I 24.
func tinyConfig() bert.Config {
	return bert.Config{
		VocabSize: 40, HiddenSize: 16, NumLayers: 3, NumHeads: 2, IntermediateSize: 24,
		MaxPositions: 32, TypeVocabSize: 2, HiddenAct: "gelu", LayerNormEps: 1e-12,
		InitializerRange: 0.02,
	}
}

func tinyModel(t *testing.T, labels int) *bert.Model {
	t.Helper()
	m, err := bert.NewRandom(tinyConfig(), labels, 11)
	require.NoError(t, err)
	return m
}

func trainableNames(s *Setup) map[string]bool {
	names := map[string]bool{}
	for _, p := range s.Trainable {
		names[p.Name] = true
	}
	return names
}

// TestPrepareMethods checks, for each method, which parameters train and
// the counts of the summary line, against counts worked out by hand from
// the shapes.
func TestPrepareMethods(t *testing.T) {
	const C, I, L, V, P, NL = 16, 24, 3, 40, 32, 2
	ln := 2 * C * (1 + 2*L) // every layer norm
	head := NL*C + NL       // classifier
	pooler := C*C + C       // pooler dense
	layer := 4*(C*C+C) + 2*(C*I) + I + C + 2*2*C
	base := V*C + P*C + 2*C + 2*C + L*layer + pooler
	adapterParams := func(M, perLayer int) int { return L * perLayer * (2*C*M + M + C) }

	cases := []struct {
		plan    Plan
		trained int
		has     []string
		hasNot  []string
	}{
		{Plan{Method: MethodAdapter, Adapter: Config{Size: 4}}, adapterParams(4, 2) + ln + head,
			[]string{"encoder.layer.2.attention.output.adapter.up.weight", "embeddings.LayerNorm.weight", "encoder.layer.0.output.LayerNorm.bias", "classifier.weight"},
			[]string{"pooler.dense.weight", "encoder.layer.0.output.dense.weight", "embeddings.word_embeddings.weight"}},
		{Plan{Method: MethodAdapter, Adapter: Config{Size: 5, Placement: Pfeiffer}, TrainPooler: true}, adapterParams(5, 1) + ln + head + pooler,
			[]string{"encoder.layer.1.output.adapter.down.bias", "pooler.dense.weight"},
			[]string{"encoder.layer.1.attention.output.adapter.down.bias"}},
		{Plan{Method: MethodFull}, base + head,
			[]string{"embeddings.word_embeddings.weight", "encoder.layer.1.attention.self.query.weight", "pooler.dense.bias"}, nil},
		{Plan{Method: MethodTopK, TopK: 1}, layer + pooler + head,
			[]string{"encoder.layer.2.intermediate.dense.weight", "pooler.dense.weight", "classifier.bias"},
			[]string{"encoder.layer.1.intermediate.dense.weight", "embeddings.LayerNorm.weight"}},
		{Plan{Method: MethodTopK, TopK: 0}, pooler + head, []string{"pooler.dense.weight"}, []string{"encoder.layer.2.output.LayerNorm.weight"}},
		{Plan{Method: MethodLNHead}, ln + head,
			[]string{"embeddings.LayerNorm.bias", "encoder.layer.2.attention.output.LayerNorm.weight", "classifier.weight"},
			[]string{"pooler.dense.weight", "encoder.layer.2.output.dense.bias"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s_%+v", c.plan.Method, c.plan.Adapter), func(t *testing.T) {
			m := tinyModel(t, NL)
			// A previous setup must not leak into the next one.
			_, err := Prepare(m, Plan{Method: MethodFull}, 1)
			require.NoError(t, err)
			s, err := Prepare(m, c.plan, 1)
			require.NoError(t, err)
			require.Equal(t, base, s.Base)
			require.Equal(t, c.trained, s.Trained)
			names := trainableNames(s)
			for _, n := range c.has {
				require.True(t, names[n], "%s should train", n)
			}
			for _, n := range c.hasNot {
				require.False(t, names[n], "%s should be frozen", n)
			}
			// Everything not listed is frozen, and has no gradient.
			for _, p := range m.Params() {
				require.Equal(t, names[p.Name], p.Trainable(), p.Name)
				require.Equal(t, p.Trainable(), p.G != nil, p.Name)
			}
			want := fmt.Sprintf("trained parameters per task: %d (%.2f%% of the base)", c.trained, 100*float64(c.trained)/float64(base))
			require.Equal(t, want, s.Summary())
			attached := 0
			for l := range m.Layers {
				if m.Layers[l].AttnAdapter != nil {
					attached++
				}
				if m.Layers[l].FFAdapter != nil {
					attached++
				}
			}
			modules := 0
			if s.Adapters != nil {
				modules = len(s.Adapters.Modules)
			}
			require.Equal(t, modules, attached)
			if c.plan.Method == MethodAdapter {
				per := 2
				if c.plan.Adapter.Placement == Pfeiffer {
					per = 1
				}
				require.Equal(t, per*L, attached)
			}
		})
	}
}

func TestPrepareErrors(t *testing.T) {
	m := tinyModel(t, 2)
	for _, plan := range []Plan{
		{Method: MethodTopK, TopK: 4},
		{Method: MethodTopK, TopK: -1},
		{Method: MethodAdapter},
		{Method: MethodAdapter, Adapter: Config{Size: 8, Placement: "middle"}},
		{Method: "lora"},
	} {
		_, err := Prepare(m, plan, 1)
		require.Error(t, err, "%+v", plan)
	}
	noHead := tinyModel(t, 0)
	_, err := Prepare(noHead, Plan{Method: MethodFull}, 1)
	require.ErrorContains(t, err, "head")

	for in, want := range map[string]Method{"Adapter": MethodAdapter, "topk": MethodTopK, "ln-head": MethodLNHead, "full": MethodFull} {
		got, err := ParseMethod(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err = ParseMethod("prefix")
	require.Error(t, err)
}

// TestAdaptersNearIdentity checks that a model with freshly initialised
// adapters computes almost what the base computes, and exactly that once
// the adapters' up-projections are zero.
func TestAdaptersNearIdentity(t *testing.T) {
	m := tinyModel(t, 2)
	ids := []int32{2, 5, 7, 9, 3, 0, 2, 11, 13, 3, 0, 0}
	b := &bert.Batch{B: 2, T: 6, IDs: ids, TypeIDs: make([]int32, 12), Mask: []float32{1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0}}
	var st bert.State
	require.NoError(t, m.Forward(&st, b))
	base := append([]float32(nil), st.Hidden[len(m.Layers)]...)

	for _, pl := range []Placement{Houlsby, Pfeiffer} {
		s, err := Prepare(m, Plan{Method: MethodAdapter, Adapter: Config{Size: 8, Placement: pl}}, 5)
		require.NoError(t, err)
		require.NoError(t, m.Forward(&st, b))
		var d float64
		for i, v := range st.Hidden[len(m.Layers)] {
			d = max(d, math.Abs(float64(v-base[i])))
		}
		require.Greater(t, d, 0.0, "adapters must change the output a little")
		require.Less(t, d, 0.05, "near-identity adapters changed the output by %g", d)

		for _, md := range s.Adapters.Modules {
			clear(md.Up.W.W)
		}
		require.NoError(t, m.Forward(&st, b))
		require.Equal(t, base, st.Hidden[len(m.Layers)])
	}
	require.True(t, strings.HasPrefix((&Setup{Trained: 1, Base: 3}).Summary(), "trained parameters per task: 1 (33.33% of the base)"))
}
