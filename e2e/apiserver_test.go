package e2e

import (
	"context"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// fieldManager owns what the tests apply; forced ownership lets every case
// re-apply the same Namespace or CRD without conflicts with earlier cases.
const fieldManager = "intentc-e2e"

// applyTimeout bounds one API request, so a hung server fails the case with
// a message instead of running into the test binary's timeout.
const applyTimeout = 30 * time.Second

// serverApply server-side applies the object's own bytes (not a
// re-serialization) with strict field validation and forced ownership, as a
// dry run unless persist is set.
func serverApply(ctx context.Context, o object, persist bool) error {
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	u := o.U.DeepCopy()
	defaultNamespace(u)
	body := o.JSON
	if u.GetNamespace() != o.U.GetNamespace() {
		var err error
		if body, err = u.MarshalJSON(); err != nil {
			return err
		}
	}
	opts := []client.PatchOption{
		client.FieldOwner(fieldManager),
		client.ForceOwnership,
		client.FieldValidation("Strict"),
	}
	if !persist {
		opts = append(opts, client.DryRunAll)
	}
	return suite.client.Patch(ctx, u, client.RawPatch(types.ApplyPatchType, body), opts...)
}

// defaultNamespace puts a namespaced object without a namespace into
// "default", as `kubectl apply` would; for unknown kinds it leaves the
// object alone and lets the apply report the missing kind.
func defaultNamespace(u *unstructured.Unstructured) {
	if u.GetNamespace() != "" {
		return
	}
	if namespaced, err := suite.client.IsObjectNamespaced(u); err == nil && namespaced {
		u.SetNamespace("default")
	}
}

// applyOutput sends every generated object to the API server in dependency
// order and reports each rejection with the object's file and source. CRDs
// and Namespaces are applied for real, since a dry-run create persists
// nothing and later objects need them to exist; everything else is a dry run.
func applyOutput(ctx context.Context, objs []object) []string {
	var failures []string
	for _, o := range applyOrder(objs) {
		var err error
		switch o.U.GroupVersionKind().GroupKind().String() {
		case "CustomResourceDefinition.apiextensions.k8s.io":
			if err = serverApply(ctx, o, true); err == nil {
				err = waitEstablished(ctx, o.U.GetName())
			}
		case "Namespace":
			err = serverApply(ctx, o, true)
		default:
			err = serverApply(ctx, o, false)
		}
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s\n\trejected by kube-apiserver: %v", o, err))
		}
	}
	return failures
}

// applyIntents dry-runs intent documents as custom resources against the
// intent CRDs; their namespaces are created for real first, as a user's
// would already exist.
func applyIntents(ctx context.Context, objs []object) []string {
	var failures []string
	for _, o := range objs {
		if ns := o.U.GetNamespace(); ns != "" {
			if err := ensureNamespace(ctx, ns); err != nil {
				failures = append(failures, fmt.Sprintf("%s\n\tcannot create namespace %s: %v", o, ns, err))
				continue
			}
		}
		if err := serverApply(ctx, o, false); err != nil {
			failures = append(failures, fmt.Sprintf("%s\n\tintent rejected by kube-apiserver: %v", o, err))
		}
	}
	return failures
}

func waitEstablished(ctx context.Context, name string) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
		if err := suite.client.Get(ctx, client.ObjectKey{Name: name}, u); err != nil {
			return false, err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &crd); err != nil {
			return false, err
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}
