"""The laboratory's own documents: test reports for confirmatory results (issue 19)."""
