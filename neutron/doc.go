// Package neutron reconciles intentc's OpenStack security groups (layer 1,
// docs/security.md) into a real Neutron through gophercloud, the way
// operators trust terraform plan/apply: it shows exactly what will change,
// writes only what intentc owns, and converges after any interruption.
//
// Input: security-groups documents (compiler/openstack's
// openstack/<cloud>/<project>/security-groups.json, or .audit.json for
// audit mode), read with ParseDocument from a compile's Result.Files or from
// an out/ tree; a Client for the document's project (clouds.yaml / OS_CLOUD /
// OS_*, or a keystone-less endpoint, ClientFromEnvironment); a NodeSelector.
//
// Output: Observe lists the project (groups with their rules, ports, quota);
// ComputePlan diffs the document against it into a Plan (groups to create or
// adopt, rules to add and remove, foreign rules in owned groups as drift,
// per node port the groups attached and their effective union, with
// warnings); Plan.Render prints it; Apply carries it out and returns a
// Summary.
//
// Ownership: a group is intentc's when it carries the managed-by:intentc tag,
// or, untagged, has the document's name and a description starting with
// "intentc:" (a run stopped between creating and tagging it: adopted and
// tagged, never created twice). Every rule of an owned group is intentc's:
// rules the document does not hold are removed. Groups intentc does not own
// are never written.
//
// Rules are compared by Key, Neutron's own notion of a duplicate: CIDR
// masked, protocol names and numbers equal, no port range = 1-65535, no
// remote = 0.0.0.0/0 or ::/0.
//
// Diagnostic codes: IC3401–IC3410.
package neutron
