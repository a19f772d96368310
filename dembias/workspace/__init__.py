"""The workspace: corpus database, immutable run files with their manifests, annotations.

Every SQL statement on the corpus and the runs lives here; the other packages call these functions."""
