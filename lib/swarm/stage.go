package swarm

import (
	"fmt"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/memory"
)

// A stage is a repository layered over another: reads fall through to the
// base, every write (objects and references) stays in memory. A pull
// fetches, validates and merges on a stage and only touches the real
// repository once everything succeeded, so a rejected pull leaves it as it
// was — not even the fetched objects remain (jamid keeps them; nothing
// reads them).
type stage struct {
	storage.Storer // base: config, index, shallow and module storage (read only here)
	base           storage.Storer
	objs           *memory.ObjectStorage
	refs           memory.ReferenceStorage
}

// newStage layers a stage over r; its references start as copies of r's.
func (r *Repo) newStage() (*Repo, *stage, error) {
	mem := memory.NewStorage()
	s := &stage{Storer: r.git.Storer, base: r.git.Storer, objs: &mem.ObjectStorage, refs: mem.ReferenceStorage}
	iter, err := r.git.Storer.IterReferences()
	if err != nil {
		return nil, nil, err
	}
	if err := iter.ForEach(func(ref *plumbing.Reference) error { return s.refs.SetReference(ref) }); err != nil {
		return nil, nil, err
	}
	if head, err := r.git.Storer.Reference(plumbing.HEAD); err == nil {
		if err := s.refs.SetReference(head); err != nil {
			return nil, nil, err
		}
	}
	g, err := git.Open(s, nil)
	if err != nil {
		return nil, nil, err
	}
	return Wrap(g), s, nil
}

func (s *stage) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }

func (s *stage) SetEncodedObject(o plumbing.EncodedObject) (plumbing.Hash, error) {
	return s.objs.SetEncodedObject(o)
}

func (s *stage) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if o, err := s.objs.EncodedObject(t, h); err == nil {
		return o, nil
	}
	return s.base.EncodedObject(t, h)
}

func (s *stage) IterEncodedObjects(t plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	a, err := s.objs.IterEncodedObjects(t)
	if err != nil {
		return nil, err
	}
	b, err := s.base.IterEncodedObjects(t)
	if err != nil {
		return nil, err
	}
	return storer.NewMultiEncodedObjectIter([]storer.EncodedObjectIter{a, b}), nil
}

func (s *stage) HasEncodedObject(h plumbing.Hash) error {
	if s.objs.HasEncodedObject(h) == nil {
		return nil
	}
	return s.base.HasEncodedObject(h)
}

func (s *stage) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	if n, err := s.objs.EncodedObjectSize(h); err == nil {
		return n, nil
	}
	return s.base.EncodedObjectSize(h)
}

func (s *stage) AddAlternate(string) error {
	return fmt.Errorf("alternates are not supported on a staging repository")
}

func (s *stage) SetReference(ref *plumbing.Reference) error { return s.refs.SetReference(ref) }

func (s *stage) CheckAndSetReference(new, old *plumbing.Reference) error {
	return s.refs.CheckAndSetReference(new, old)
}

func (s *stage) Reference(n plumbing.ReferenceName) (*plumbing.Reference, error) {
	return s.refs.Reference(n)
}

func (s *stage) IterReferences() (storer.ReferenceIter, error) { return s.refs.IterReferences() }

func (s *stage) RemoveReference(n plumbing.ReferenceName) error { return s.refs.RemoveReference(n) }

func (s *stage) CountLooseRefs() (int, error) { return s.refs.CountLooseRefs() }

func (s *stage) PackRefs() error { return nil }

// copyObjects stores every object of src in dst: as one pack when dst
// takes packs (a repository on disk), else one by one.
func copyObjects(dst storer.EncodedObjectStorer, src *memory.ObjectStorage) (err error) {
	if len(src.Objects) == 0 {
		return nil
	}
	hashes := make([]plumbing.Hash, 0, len(src.Objects))
	for h := range src.Objects {
		hashes = append(hashes, h)
	}
	if pw, ok := dst.(storer.PackfileWriter); ok {
		w, err := pw.PackfileWriter()
		if err != nil {
			return err
		}
		if _, err := packfile.NewEncoder(w, src, false).Encode(hashes, 0); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	}
	for _, h := range hashes {
		if _, err := dst.SetEncodedObject(src.Objects[h]); err != nil {
			return err
		}
	}
	return nil
}
