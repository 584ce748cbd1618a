# For conftest test --combine: input is [{path, contents}].
package main

deny[msg] {
  input[i].contents.kind == "Deployment"
  deployment := input[i].contents
  not service_selects(deployment.spec.selector.matchLabels.app)

  msg := sprintf("Deployment %s has no Service selecting it", [deployment.metadata.name])
}

service_selects(app) {
  input[j].contents.kind == "Service"
  input[j].contents.spec.selector.app == app
}
