// Package openstack emits layer 1: for each platform: openstack cluster, the
// Neutron security group intentc owns for its nodes (or, in audit mode, the
// rule set it expects), as Neutron API JSON and as a Heat template.
//
// Input: an *ir.Model without errors. Output: []ir.Artifact under
// openstack/<cloud>/<project>/.
//
// Diagnostic codes: IC3300–IC3399.
package openstack
