"""`lims bench`: province-scale benchmark (issue 8). See docs/performance.md."""
