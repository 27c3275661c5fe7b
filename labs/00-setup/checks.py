"""Lab 00: the mesh itself. Everything here is live: it looks at the cluster `labtools up` made."""

from labtools.grading import Lab

lab = Lab("00-setup", "Install the mesh", uses=("istio", "bookinfo"), validate=False)

# The live checks (cluster answers; istiod and both gateways ready; injection label on the namespace; the six
# Bookinfo Deployments ready with an istio-proxy sidecar; /productpage answers 200 through the ingress gateway)
# are defined with the live probes.
