"""labtools: hands-on Istio labs on a local kind cluster, graded automatically."""

__version__ = "0.1.0"
