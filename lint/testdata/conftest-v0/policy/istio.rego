# Another namespace: runs with --namespace istio or --all-namespaces only.
package istio

deny[msg] {
  input.kind == "Service"
  not input.metadata.labels.team

  msg := sprintf("Service %s has no team label", [input.metadata.name])
}
