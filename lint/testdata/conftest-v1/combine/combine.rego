# For conftest test --combine: input is [{path, contents}].
package main

deny contains msg if {
	some item in input
	item.contents.kind == "Deployment"
	deployment := item.contents
	not service_selects(deployment.spec.selector.matchLabels.app)

	msg := sprintf("Deployment %s has no Service selecting it", [deployment.metadata.name])
}

service_selects(app) if {
	some item in input
	item.contents.kind == "Service"
	item.contents.spec.selector.app == app
}
