"""Teaching output: checked step-by-step derivations, the lesson's tables, plots.

* :func:`symderiv.teach.steps.steps` — g'(z) by named rules, every step checked.
* :func:`symderiv.teach.table.table` — the summary table, computed (see that module).
* :func:`symderiv.teach.plot.plot` — g and g' per activation, kinks marked (needs matplotlib).
"""
