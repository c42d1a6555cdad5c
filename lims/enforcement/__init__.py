"""Enforcement after a positive: ``cases`` (the case file and its art. 88 objection clock),
``confirmation`` (lab results that confirm or overturn a case), ``alerts`` (to the market's grid
group, with the response target), ``grades`` (vendor credit grades A–D and sampling plans;
``grade_metrics`` reads what they are decided on),
``followup`` (what a stored result sets in motion; called by the intake pipeline) and ``rules``
(the enforcement and grading reference data, read from TOML with their sources)."""
