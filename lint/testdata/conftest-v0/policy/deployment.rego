# Rego v0, the way conftest's documentation writes policies.
package main

deny[msg] {
  input.kind == "Deployment"
  not input.spec.selector.matchLabels.app

  msg := "Containers must provide app label for pod selectors"
}

warn[msg] {
  input.kind == "Service"
  input.spec.type == "NodePort"

  msg := sprintf("Service %s is a NodePort", [input.metadata.name])
}

violation[{"msg": msg, "details": {"image": image}}] {
  input.kind == "Deployment"
  image := input.spec.template.spec.containers[_].image
  endswith(image, ":latest")

  msg := sprintf("Image %s uses the latest tag", [image])
}
