"""The files labtools reads and writes: manifests (size-limited, refused before parsing), Istio's CRD schemas
(found and cached), and writes that a reader never sees half of (atomic)."""
