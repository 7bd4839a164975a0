"""Indicators against the county's targets (docs/indicators.md): compute, store, read.

Import the submodules (``citydata.kpi.read.read_kpis``, ``citydata.kpi.periods``); the package
itself re-exports nothing, so importing one submodule never drags in the others.
"""
