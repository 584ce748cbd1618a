package ir

import "k8s.io/apimachinery/pkg/runtime"

// Object is one platform object a backend emits for one cluster. The
// backends fill Body with a typed object (its TypeMeta and name/namespace
// set); compiler/manifest adds the common labels and annotations, orders the
// objects and serialises them.
type Object struct {
	// Cluster is the output folder (clusters/<Cluster>/).
	Cluster string
	Body    runtime.Object
	// Sources are the intent objects the object came from.
	Sources []Source
	// Patch, when set, makes the object a kustomize patch listed under the
	// kustomization's patches: (for objects another installer owns, such as
	// the east-west gateway Service).
	Patch bool
}

// Artifact is an output file that is not a Kubernetes object, rendered by its
// backend (for example Neutron security groups as API JSON and as a Heat
// template). Path is slash-separated, relative to the output root, and must
// not be under clusters/.
type Artifact struct {
	Path    string
	Data    []byte
	Sources []Source
}
