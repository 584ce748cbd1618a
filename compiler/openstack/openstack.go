package openstack

import (
	"github.com/intentc/intentc/compiler/diag"
	"github.com/intentc/intentc/compiler/ir"
)

// Emit returns the security-group files of every OpenStack project.
func Emit(m *ir.Model) ([]ir.Artifact, diag.List) {
	return nil, nil
}
