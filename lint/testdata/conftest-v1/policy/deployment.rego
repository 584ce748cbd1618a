# Rego v1, the way conftest's documentation writes policies today.
package main

deny contains msg if {
	input.kind == "Deployment"
	not input.spec.selector.matchLabels.app

	msg := "Containers must provide app label for pod selectors"
}

warn contains msg if {
	input.kind == "Service"
	input.spec.type == "NodePort"

	msg := sprintf("Service %s is a NodePort", [input.metadata.name])
}

violation contains {"msg": msg, "details": {"image": image}} if {
	input.kind == "Deployment"
	some container in input.spec.template.spec.containers
	image := container.image
	endswith(image, ":latest")

	msg := sprintf("Image %s uses the latest tag", [image])
}
