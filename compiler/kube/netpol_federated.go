package kube

import "github.com/intentc/intentc/compiler/ir"

// crossMeshEgress is where callers send a share of a service placed in d, a
// cluster of another mesh (model federated): d's east-west gateway, whose
// address and port are the endpoint of the imported .global host, whatever
// network d is on. Caller sidecars dial it on the gateway's port, not the
// service's.
func (e *emitter) crossMeshEgress(d *ir.Cluster) []flow {
	ew := d.EastWest
	if ew == nil {
		return nil // resolve reported IC2023
	}
	return e.addressFlows(ew.Address, ew.Port, d.Src.Pos, "eastwest/"+d.Name,
		"the east-west gateway of %s is a host name (%s); NetworkPolicy selects addresses, so callers' egress to it is opened to any address on port %d",
		d.Name, ew.Address, ew.Port)
}
