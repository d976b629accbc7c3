package schema

import (
	"fmt"
)

// Tool resource limits from the spec.
const (
	MaxCodeInterpreterFiles = 20
	MaxVectorStoreIDs       = 1
)

// ToolResources are the files and vector stores an assistant's or thread's
// tools use. It is always encoded as an object ({} when empty).
type ToolResources struct {
	CodeInterpreter *CodeInterpreterResources `json:"code_interpreter,omitempty"`
	FileSearch      *FileSearchResources      `json:"file_search,omitempty"`
}

// CodeInterpreterResources lists the files given to code_interpreter.
type CodeInterpreterResources struct {
	FileIDs []string `json:"file_ids"`
}

// FileSearchResources names the vector store file_search reads. On create
// requests VectorStores may instead ask for a store to be made from files;
// it never appears on stored objects.
type FileSearchResources struct {
	VectorStoreIDs []string            `json:"vector_store_ids"`
	VectorStores   []VectorStoreHelper `json:"vector_stores,omitempty"`
}

// VectorStoreHelper asks for a vector store to be created from file_ids.
type VectorStoreHelper struct {
	FileIDs          []string          `json:"file_ids,omitempty"`
	ChunkingStrategy *ChunkingStrategy `json:"chunking_strategy,omitempty"`
	Metadata         Metadata          `json:"metadata,omitempty"`
}

// UnmarshalJSON decodes strictly.
func (r *ToolResources) UnmarshalJSON(data []byte) error {
	type plain ToolResources
	var v plain
	if err := DecodeStrict(data, &v); err != nil {
		return err
	}
	*r = ToolResources(v)
	return nil
}

// IsEmpty reports whether no resource is set.
func (r ToolResources) IsEmpty() bool {
	return r.CodeInterpreter == nil && r.FileSearch == nil
}

// Validate checks list sizes; allowHelper says whether the vector_stores
// helper is accepted (create requests only).
func (r ToolResources) Validate(param string, allowHelper bool) error {
	if ci := r.CodeInterpreter; ci != nil {
		if len(ci.FileIDs) > MaxCodeInterpreterFiles {
			return Invalid(param+".code_interpreter.file_ids", "Invalid '%s.code_interpreter.file_ids': array too long. Expected an array with maximum length %d, but got an array with length %d instead.", param, MaxCodeInterpreterFiles, len(ci.FileIDs))
		}
		for i, id := range ci.FileIDs {
			if id == "" {
				return Invalid(fmt.Sprintf("%s.code_interpreter.file_ids[%d]", param, i), "Invalid file id: empty string.")
			}
		}
	}
	if fs := r.FileSearch; fs != nil {
		if len(fs.VectorStoreIDs) > MaxVectorStoreIDs {
			return Invalid(param+".file_search.vector_store_ids", "Invalid '%s.file_search.vector_store_ids': array too long. Expected an array with maximum length %d, but got an array with length %d instead.", param, MaxVectorStoreIDs, len(fs.VectorStoreIDs))
		}
		if len(fs.VectorStores) > 0 {
			if !allowHelper {
				return Invalid(param+".file_search.vector_stores", "Unknown parameter: '%s.file_search.vector_stores'.", param)
			}
			if len(fs.VectorStoreIDs) > 0 {
				return Invalid(param+".file_search", "Invalid '%s.file_search': only one of 'vector_store_ids' or 'vector_stores' may be given.", param)
			}
			if len(fs.VectorStores) > 1 {
				return Invalid(param+".file_search.vector_stores", "Invalid '%s.file_search.vector_stores': array too long. Expected an array with maximum length 1.", param)
			}
			h := fs.VectorStores[0]
			if err := validateFileIDs(param+".file_search.vector_stores[0].file_ids", h.FileIDs, 0, MaxVectorStoreCreateFiles); err != nil {
				return err
			}
			if h.ChunkingStrategy != nil {
				if err := h.ChunkingStrategy.Validate(param + ".file_search.vector_stores[0].chunking_strategy"); err != nil {
					return err
				}
			}
			if err := h.Metadata.Validate(param + ".file_search.vector_stores[0].metadata"); err != nil {
				return err
			}
		}
	}
	return nil
}

// FileIDs returns every file id the resources reference directly.
func (r ToolResources) FileIDs() []string {
	var ids []string
	if r.CodeInterpreter != nil {
		ids = append(ids, r.CodeInterpreter.FileIDs...)
	}
	if r.FileSearch != nil {
		for _, h := range r.FileSearch.VectorStores {
			ids = append(ids, h.FileIDs...)
		}
	}
	return ids
}

// Normalized returns the stored form: nil lists become empty lists so the
// object echoes [] rather than null.
func (r ToolResources) Normalized() ToolResources {
	out := ToolResources{}
	if r.CodeInterpreter != nil {
		ids := r.CodeInterpreter.FileIDs
		if ids == nil {
			ids = []string{}
		}
		out.CodeInterpreter = &CodeInterpreterResources{FileIDs: ids}
	}
	if r.FileSearch != nil {
		ids := r.FileSearch.VectorStoreIDs
		if ids == nil {
			ids = []string{}
		}
		out.FileSearch = &FileSearchResources{VectorStoreIDs: ids}
	}
	return out
}

// VectorStoreIDs returns the vector stores file_search reads.
func (r ToolResources) VectorStoreIDs() []string {
	if r.FileSearch == nil {
		return nil
	}
	return r.FileSearch.VectorStoreIDs
}
