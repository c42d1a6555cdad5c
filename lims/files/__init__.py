"""Results in and out of files: ``results_import`` (CSV/XLSX into the intake pipeline, all or
nothing with row-level errors), ``results_export`` (CSV/XLSX out, one sample's results) and
``tabular`` (reading and writing tables: encodings, XLSX, formula escaping); ``attachments`` (photos and scans on samples, cases, patrols and calibration
records, stored by content hash)."""
