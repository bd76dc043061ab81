package bert

import "github.com/petl-go/petl/nn"

// View returns a model that shares m's weights without sharing its
// parameters: every nn.Param is a new one over the same values (and every
// packed operand is shared), the layers are copies without adapters, and
// there is no head. Making a parameter of the view trainable copies its
// values to the heap first (whatever memory m's are in), so training the
// view, or loading a task's trained parameters into it (adapter.File.Apply),
// never changes m or another view. This is how one base serves many tasks:
// one view per task, each with its own adapters, layer norms and head, all
// reading the same frozen products.
//
// m must not change while views of it are in use. Closing or unpacking m
// (Unpack) is for its owner: views hold no files of their own.
func (m *Model) View() *Model {
	v := &Model{
		Config:     m.Config,
		Embeddings: m.Embeddings,
		Layers:     make([]Layer, len(m.Layers)),
		Pooler:     m.Pooler,
		HeadDrop:   m.HeadDrop,
		readOnly:   true,
	}
	share := func(p *nn.Param) *nn.Param {
		if p == nil {
			return nil
		}
		q := *p
		q.Frozen, q.G = true, nil
		return &q
	}
	lin := func(l *nn.Linear) { l.W, l.B = share(l.W), share(l.B) }
	ln := func(l *nn.LayerNorm) { l.Gamma, l.Beta = share(l.Gamma), share(l.Beta) }
	e := &v.Embeddings
	e.Word.W, e.Position.W, e.Type.W = share(e.Word.W), share(e.Position.W), share(e.Type.W)
	ln(&e.LN)
	for i := range v.Layers {
		l := m.Layers[i]
		l.AttnAdapter, l.FFAdapter = nil, nil
		for _, x := range []*nn.Linear{&l.Query, &l.Key, &l.Value, &l.AttnOut, &l.FFIn, &l.FFOut} {
			lin(x)
		}
		ln(&l.AttnLN)
		ln(&l.FFLN)
		v.Layers[i] = l
	}
	lin(&v.Pooler)
	return v
}

// SharesWeights reports whether a and b compute with the same values (the
// same memory, not merely equal numbers): true for a parameter of a model
// and the same parameter of a View of it that has not been made trainable.
func SharesWeights(a, b *nn.Param) bool {
	if a == nil || b == nil {
		return a == b
	}
	return len(a.W) == len(b.W) && (len(a.W) == 0 || &a.W[0] == &b.W[0])
}
