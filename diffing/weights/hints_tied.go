package weights

import (
	"fmt"
	"slices"
	"strings"

	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/tensor"
)

// Tied hints: a missing output head with the embedding's shape.

var headParents = map[string]bool{
	"lm_head": true, "output": true, "embed_out": true, "head": true, "output_layer": true,
	"decoder": true, "logits": true, "proj_out": true, "out_proj_head": true,
}

var embedParents = map[string]bool{
	"embed_tokens": true, "wte": true, "word_embeddings": true, "tok_embeddings": true,
	"embed_in": true, "token_embedding": true, "shared": true, "embedding": true,
	"embeddings": true, "embed": true, "tok_emb": true, "token_embd": true, "emb": true,
}

// parentComp returns the component before a final "weight", or "".
func parentComp(name string) string {
	rest, ok := strings.CutSuffix(name, ".weight")
	if !ok {
		return ""
	}
	return rest[strings.LastIndexByte(rest, '.')+1:]
}

func (h *hintState) tiedHints() {
	var embeds []tensor.Info // expected embeddings that are loaded
	for _, w := range h.exp {
		if !embedParents[parentComp(w.Name)] {
			continue
		}
		if h.cur.count[w.Name] > 0 {
			embeds = append(embeds, w)
		}
	}
	if len(embeds) == 0 {
		return
	}
	for _, i := range h.openMissing() {
		m := h.missW(i)
		if !headParents[parentComp(m.Name)] {
			continue
		}
		for _, e := range embeds {
			l := h.lds[h.cur.first[e.Name]].w
			known := m.Shape != nil && e.Shape != nil
			if known && (len(m.Shape) != 2 || !slices.Equal(m.Shape, e.Shape)) {
				continue
			}
			if m.Shape != nil && l.Shape != nil && !slices.Equal(m.Shape, l.Shape) {
				continue
			}
			var msg string
			if known {
				msg = fmt.Sprintf("%s is missing and has the embedding's shape %s: the port likely ties it to %s",
					m.Name, tensor.FormatShape(m.Shape), e.Name)
			} else {
				msg = fmt.Sprintf("%s is missing and %s is loaded (shapes unknown): the port may tie them", m.Name, e.Name)
			}
			pair := names.TiedPair{Name: m.Name, Other: e.Name}.String()
			fix := "--tied " + names.Quote(pair)
			h.hints = append(h.hints, Hint{Kind: HintTied, Message: msg, Names: []string{m.Name, e.Name},
				Fix: fix, FixArgs: []string{"--tied", pair}})
			h.rep.Missing[i].Hint = "likely tied to " + e.Name + "; " + fix
			h.missDone[i] = true
			break
		}
	}
}
