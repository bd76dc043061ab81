package bert

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/petl-go/petl/kernels"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/wordpiece"
)

// mixedConfig is small, but large enough that every product of one row
// has more than the 256 multiply-adds below which the kernels compute a
// product without their micro-kernel (C*C = 1024, adapters of bottleneck
// 12: 12*C = 384), so that a row's result does not depend on how many
// rows are computed with it.
func mixedConfig() Config {
	return Config{VocabSize: 60, HiddenSize: 32, NumLayers: 3, NumHeads: 4, IntermediateSize: 48,
		MaxPositions: 24, TypeVocabSize: 2, HiddenAct: "gelu", LayerNormEps: 1e-12,
		HiddenDropout: 0.1, AttentionDropout: 0.1, InitializerRange: 0.02}
}

// mixedTasks builds a base (with a head of its own) and views of it for
// several tasks, each trained differently: Houlsby adapters with layer
// norms, Pfeiffer adapters with a trained pooler, layer norms alone, the
// top layer's products (a frozen product of the base trained), layer 0's
// feed-forward expansion with adapters, and the word embeddings. Trained
// parameters are changed at random and frozen again, as a loaded task's.
// With packed, the base's weights are packed before the views are made,
// as a server does.
func mixedTasks(t testing.TB, packed bool) (*Model, []*Model) {
	cfg := mixedConfig()
	base, err := NewRandom(cfg, 0, 1)
	require.NoError(t, err)
	if packed {
		_, err := base.PackWeights("", "")
		require.NoError(t, err)
	}
	rng := nn.NewRNG(5)
	C, M := cfg.HiddenSize, 12
	change := func(v *Model, ps ...*nn.Param) {
		for _, p := range ps {
			v.SetTrainable(p, true)
			for i := range p.W {
				p.W[i] += float32(0.2 * rng.Normal())
			}
			p.SetTrainable(false, false)
		}
	}
	adapters := func(v *Model, attn bool) {
		for l := range v.Layers {
			mk := func() Adapter {
				return &houlsby{down: trainLinear(rng, fmt.Sprint(l, "down"), C, M), up: trainLinear(rng, fmt.Sprint(l, "up"), M, C)}
			}
			if attn {
				v.Layers[l].AttnAdapter = mk()
			}
			v.Layers[l].FFAdapter = mk()
		}
	}
	norms := func(v *Model) {
		change(v, v.Embeddings.LN.Gamma, v.Embeddings.LN.Beta)
		for l := range v.Layers {
			L := &v.Layers[l]
			change(v, L.AttnLN.Gamma, L.AttnLN.Beta, L.FFLN.Gamma, L.FFLN.Beta)
		}
	}
	var tasks []*Model
	for i := 0; i < 6; i++ {
		v := base.View()
		switch i {
		case 0: // Houlsby adapters, layer norms
			adapters(v, true)
			norms(v)
		case 1: // Pfeiffer adapters, trained pooler
			adapters(v, false)
			norms(v)
			change(v, v.Pooler.W, v.Pooler.B)
		case 2: // layer norms and head
			norms(v)
		case 3: // top layer: its products and the pooler
			top := &v.Layers[len(v.Layers)-1]
			change(v, top.Query.W, top.Query.B, top.Key.W, top.FFOut.W, top.FFOut.B, v.Pooler.W)
		case 4: // a frozen product of layer 0 trained, beside adapters
			adapters(v, true)
			change(v, v.Layers[0].FFIn.W, v.Layers[0].FFIn.B, v.Layers[1].AttnOut.W)
		case 5: // word embeddings
			change(v, v.Embeddings.Word.W, v.Embeddings.Type.W)
		}
		v.InitClassifier(2+i%3, uint64(10+i))
		tasks = append(tasks, v)
	}
	base.InitClassifier(3, 99)
	return base, tasks
}

// mixedBatch packs sequences of the given lengths for the groups' models,
// with random ids and segments.
func mixedBatch(lens []int, groups []Group, seed uint64) *MixedBatch {
	rng := nn.NewRNG(seed)
	b := &MixedBatch{Lens: lens, Groups: groups}
	for _, n := range lens {
		for t := 0; t < n; t++ {
			b.IDs = append(b.IDs, int32(1+rng.Uint64()%59))
			tt := int32(0)
			if t > n/2 {
				tt = 1
			}
			b.TypeIDs = append(b.TypeIDs, tt)
		}
	}
	return b
}

// soloLogits runs each sequence of b alone through Forward with its
// group's model (a batch of one, State.CLSOnly).
func soloLogits(t testing.TB, b *MixedBatch) [][]float32 {
	var out [][]float32
	s, o := 0, 0
	for _, g := range b.Groups {
		for range g.Seqs {
			n := b.Lens[s]
			enc := wordpiece.Encoding{IDs: b.IDs[o : o+n], TypeIDs: make([]int32, n)}
			if b.TypeIDs != nil {
				enc.TypeIDs = b.TypeIDs[o : o+n]
			}
			st := &State{CLSOnly: true}
			require.NoError(t, g.Model.Forward(st, NewBatch([]wordpiece.Encoding{enc}, 0, 0)))
			out = append(out, append([]float32(nil), st.Logits...))
			s, o = s+1, o+n
		}
	}
	return out
}

// TestForwardMixed checks that every sequence of a mixed-task batch gets
// bit for bit the logits of Forward on that sequence alone with its
// group's model, at 1 to 3 threads, with the base's weights packed and
// not: seven tasks (the base among them), lengths from 1 to the model's
// maximum, groups of one and of many sequences, the same model in two
// groups, and tasks that trained products the others share.
func TestForwardMixed(t *testing.T) {
	defer kernels.SetThreads(kernels.Threads())
	maxT := mixedConfig().MaxPositions
	for _, packed := range []bool{false, true} {
		t.Run(fmt.Sprintf("packed=%v", packed), func(t *testing.T) {
			base, v := mixedTasks(t, packed)
			if packed && kernels.Active() != kernels.Generic {
				require.NotEmpty(t, base.PackedWeights())
			}
			for _, tc := range []struct {
				name   string
				lens   []int
				groups []Group
			}{
				{"one", []int{5}, []Group{{v[0], 1}}},
				{"one-token", []int{1, 2}, []Group{{v[1], 1}, {v[4], 1}}},
				{"many", []int{maxT, 1, 7, 2, 13, maxT, 3, 9, 2, 1, 17, 5, 6, maxT, 4, 11, 8},
					[]Group{{v[0], 3}, {v[1], 1}, {v[0], 2}, {v[4], 2}, {v[2], 1}, {base, 2}, {v[3], 3}, {v[5], 1}, {v[1], 2}}},
				{"shared-only", []int{3, maxT, 1, 10}, []Group{{v[2], 2}, {base, 1}, {v[2], 1}}},
				{"trained-frozen", []int{6, 2, maxT, 9}, []Group{{v[3], 1}, {v[4], 2}, {v[5], 1}}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					b := mixedBatch(tc.lens, tc.groups, uint64(len(tc.lens)))
					kernels.SetThreads(1)
					want := soloLogits(t, b)
					st := &MixedState{}
					for threads := 1; threads <= 3; threads++ {
						kernels.SetThreads(threads)
						require.NoError(t, base.ForwardMixed(st, b))
						for s, w := range want {
							got := st.Logits(s)
							require.Len(t, got, len(w), "sequence %d", s)
							for j := range w {
								require.Equal(t, math.Float32bits(w[j]), math.Float32bits(got[j]),
									"threads %d, sequence %d (length %d), logit %d: %v, alone %v", threads, s, tc.lens[s], j, got, w)
							}
						}
					}
				})
			}
		})
	}
}

// TestForwardMixedAllocatesNothing: after a pass of the largest batch, a
// pass of it and of a smaller one allocate nothing, at 1 and 2 threads.
func TestForwardMixedAllocatesNothing(t *testing.T) {
	defer kernels.SetThreads(kernels.Threads())
	base, v := mixedTasks(t, true)
	maxT := mixedConfig().MaxPositions
	big := mixedBatch([]int{maxT, 1, 7, 2, 13, maxT, 3, 9}, []Group{{v[0], 3}, {v[1], 1}, {v[4], 2}, {base, 1}, {v[3], 1}}, 1)
	small := mixedBatch([]int{4, 2}, []Group{{v[2], 1}, {v[5], 1}}, 2)
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprint("threads=", threads), func(t *testing.T) {
			kernels.SetThreads(threads)
			st := &MixedState{}
			require.NoError(t, base.ForwardMixed(st, big))
			allocs := testing.AllocsPerRun(5, func() {
				if err := base.ForwardMixed(st, big); err != nil {
					panic(err)
				}
				if err := base.ForwardMixed(st, small); err != nil {
					panic(err)
				}
			})
			t.Logf("allocations per steady-state pair of passes: %v (arena %d floats)", allocs, st.Arena.Cap())
			if !raceEnabled {
				require.Zero(t, allocs)
			}
		})
	}
}

// TestForwardMixedErrors: a batch that does not fit is refused before
// anything is computed, with an error naming the sequence or group.
func TestForwardMixedErrors(t *testing.T) {
	base, v := mixedTasks(t, false)
	noHead := base.View()
	other, err := NewRandom(tinyConfig(), 2, 1)
	require.NoError(t, err)
	ok := func() *MixedBatch { return mixedBatch([]int{3, 4, 2}, []Group{{v[0], 2}, {v[1], 1}}, 1) }
	for _, tc := range []struct {
		name string
		edit func(b *MixedBatch)
		want string
	}{
		{"empty", func(b *MixedBatch) { *b = MixedBatch{} }, "empty batch"},
		{"zero length", func(b *MixedBatch) { b.Lens[1] = 0 }, "sequence 1 has length 0"},
		{"too long", func(b *MixedBatch) {
			b.Lens = []int{25, 4, 2}
			b.IDs = append(b.IDs, make([]int32, 22)...)
			b.TypeIDs = nil
		}, "sequence 0 has length 25, want 1..24"},
		{"lengths", func(b *MixedBatch) { b.IDs = b.IDs[:8]; b.TypeIDs = nil }, "sum to 9, but there are 8 token ids"},
		{"types", func(b *MixedBatch) { b.TypeIDs = b.TypeIDs[:3] }, "3 type ids for 9 token ids"},
		{"id", func(b *MixedBatch) { b.IDs[5] = 60 }, "sequence 1, token 2: id 60 is outside the vocabulary [0, 60)"},
		{"negative id", func(b *MixedBatch) { b.IDs[0] = -1 }, "sequence 0, token 0: id -1"},
		{"type id", func(b *MixedBatch) { b.TypeIDs[8] = 2 }, "sequence 2, token 1: type id 2 is outside [0, 2)"},
		{"uncovered", func(b *MixedBatch) { b.Groups = b.Groups[:1] }, "the 1 groups cover 2 sequences, the batch has 3"},
		{"overcovered", func(b *MixedBatch) { b.Groups[1].Seqs = 2 }, "cover 4 sequences"},
		{"empty group", func(b *MixedBatch) { b.Groups = append(b.Groups, Group{v[2], 0}) }, "group 2 has 0 sequences"},
		{"no model", func(b *MixedBatch) { b.Groups[1].Model = nil }, "group 1 (sequences 2..2) has no model"},
		{"no head", func(b *MixedBatch) { b.Groups[0].Model = noHead }, "group 0 (sequences 0..1): the model has no classification head"},
		{"other base", func(b *MixedBatch) { b.Groups[1].Model = other }, "group 1 (sequences 2..2): the model's architecture differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := ok()
			tc.edit(b)
			st := &MixedState{}
			require.ErrorContains(t, base.ForwardMixed(st, b), tc.want)
			require.Zero(t, st.Arena.Cap(), "nothing computed")
		})
	}
	require.NoError(t, base.ForwardMixed(&MixedState{}, ok()))
}
